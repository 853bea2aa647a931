import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isAlive } from "./exec.js";
import { makeTempDir } from "./naming.js";
import { describeWith } from "./requirements.js";
import { Scope, testScope } from "./scope.js";

describe("Scope", () => {
  it("runs undo steps last-in first-out, all of them even when some fail, and reports the failures", async () => {
    const scope = new Scope();
    const order: string[] = [];
    scope.defer("first", () => {
      order.push("first");
    });
    scope.defer("broken", () => {
      throw new Error("boom");
    });
    scope.defer("last", () => {
      order.push("last");
    });
    await expect(scope.close()).rejects.toThrow("broken: boom");
    expect(order).toEqual(["last", "first"]);
    await scope.close(); // closing twice is harmless
    expect(() => scope.defer("late", () => {})).toThrow("already closed");
  });

  it("runNow runs one step early and only once", async () => {
    const scope = new Scope();
    let n = 0;
    const step = scope.defer("count", () => {
      n++;
    });
    await scope.runNow(step);
    await scope.runNow(step);
    await scope.close();
    expect(n).toBe(1);
  });
});

describeWith(["root", "iproute2"], "Scope with a test that times out", () => {
  it("still deletes the namespace and kills the process the test created", async () => {
    const dir = await makeTempDir(testScope());
    const report = join(dir, "report.json");
    const root = new URL("../..", import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [
        join(root, "node_modules/vitest/vitest.mjs"),
        "run",
        "--config",
        "test/harness/fixtures/vitest.fixture.config.ts",
      ],
      { cwd: root, env: { ...process.env, HANG_REPORT: report }, encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Test timed out in 1500ms/);
    const { ns, pid } = JSON.parse(readFileSync(report, "utf8")) as { ns: string; pid: number };
    expect(existsSync(`/run/netns/${ns}`)).toBe(false);
    expect(isAlive(pid)).toBe(false);
  });
});
