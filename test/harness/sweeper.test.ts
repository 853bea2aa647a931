import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { isAlive } from "./exec.js";
import { describeWith } from "./requirements.js";
import { leftovers, sweep } from "./sweeper.js";
import { eventually } from "./wait.js";

describeWith(["root", "iproute2"], "sweeper", () => {
  it("removes the namespace, temp dir and process of a crashed run, and leaves live runs alone", async () => {
    // Fake a crashed worker: a pid that is certainly dead, used in the names it "left behind".
    const deadChild = spawn("true");
    await new Promise((r) => deadChild.once("exit", r));
    const deadPid = deadChild.pid!;
    expect(isAlive(deadPid)).toBe(false);
    const run = "swp01";
    const ns = `tabbyt-${run}-${deadPid}-1`;
    const dir = join(tmpdir(), `tabbyt-${run}-${deadPid}-abcdef`);
    execFileSync("ip", ["netns", "add", ns]);
    mkdirSync(dir);
    const orphan = spawn("ip", ["netns", "exec", ns, "sleep", "600"], { stdio: "ignore" });
    // A live run's namespace (creator = this worker) must survive the sweep.
    const liveNs = `tabbyt-${run}-${process.pid}-999`;
    execFileSync("ip", ["netns", "add", liveNs]);
    try {
      await eventually(() => leftovers(run).processes.length === 1, { what: "orphan visible in its netns" });
      const removed = sweep();
      expect(removed.namespaces).toContain(ns);
      expect(removed.tempDirs).toContain(dir);
      expect(removed.processes.join("\n")).toContain(`${orphan.pid}:`);
      expect(leftovers(run)).toEqual({ namespaces: [liveNs], tempDirs: [], processes: [] });
    } finally {
      execFileSync("ip", ["netns", "del", liveNs]);
      orphan.kill("SIGKILL");
    }
    await new Promise((r) =>
      orphan.exitCode !== null || orphan.signalCode !== null ? r(null) : orphan.once("exit", r),
    );
  });
});
