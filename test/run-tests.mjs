#!/usr/bin/env node
// The README's test command (`npm test`). Runs the suite with vitest, then the final check that the suite
// left nothing behind (test/final, a separate vitest run so it starts after every other test has ended),
// and prints one line: `tests: N passed, N failed[, N skipped]`, also written to .vitest-results/summary.txt
// for .ci/run. Extra arguments go to the main vitest run (e.g. `npm test -- test/unit`).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const outDir = join(root, ".vitest-results");
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const env = { ...process.env, TABBY_TEST_RUN: process.env.TABBY_TEST_RUN ?? randomBytes(3).toString("hex") };
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

function runVitest(name, args) {
  const out = join(outDir, `${name}.json`);
  const r = spawnSync(
    process.execPath,
    [vitest, "run", "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, ...args],
    { stdio: "inherit", env, cwd: root },
  );
  let json;
  try {
    json = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    json = undefined;
  }
  return { code: r.status ?? 1, json };
}

function count({ code, json }) {
  if (json === undefined) return { passed: 0, failed: 1, skipped: 0 }; // vitest could not even report
  let failed = json.numFailedTests;
  // A file that fails to load or whose hooks fail has no failed test of its own: count it once.
  for (const file of json.testResults ?? []) {
    if (file.status === "failed" && !(file.assertionResults ?? []).some((a) => a.status === "failed"))
      failed += 1;
  }
  if (code !== 0 && failed === 0) failed = 1; // e.g. an error in global setup/teardown
  return { passed: json.numPassedTests, failed, skipped: json.numPendingTests + json.numTodoTests };
}

const main = count(runVitest("main", process.argv.slice(2)));
const final = count(runVitest("final", ["--config", "vitest.final.config.ts"]));
const total = {
  passed: main.passed + final.passed,
  failed: main.failed + final.failed,
  skipped: main.skipped + final.skipped,
};
const line = `tests: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`;
writeFileSync(join(outDir, "summary.txt"), `${line}\n`);
console.log(line);
process.exit(total.failed > 0 ? 1 : 0);
