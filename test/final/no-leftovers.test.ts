/**
 * Runs after every other test of the run has finished (see test/run-tests.mjs): the suite must leave no
 * network namespace, temp dir or daemon process behind. Whatever it finds is then removed, so one failed
 * run does not poison the machine.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, expect, it } from "vitest";
import { runId } from "../harness/naming.js";
import { describeWith } from "../harness/requirements.js";
import { leftovers } from "../harness/sweeper.js";

describeWith(["root", "iproute2"], "after the whole suite", () => {
  const found = leftovers(runId());

  afterAll(() => {
    for (const p of found.processes) {
      try {
        process.kill(Number(p.split(":")[0]), "SIGKILL");
      } catch {
        // Gone.
      }
    }
    for (const ns of found.namespaces) execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    for (const d of found.tempDirs) rmSync(d, { recursive: true, force: true });
  });

  it("this run has an id that tags its artifacts", () => {
    expect(runId()).not.toBe("dev");
  });

  it("left no network namespace behind", () => {
    expect(found.namespaces).toEqual([]);
  });

  it("left no daemon or other process behind", () => {
    expect(found.processes).toEqual([]);
  });

  it("left no temp dir behind", () => {
    expect(found.tempDirs).toEqual([]);
  });
});
