/**
 * An etcd member that a test can stop and start again on the same ports and data dir, for "etcd
 * restarted while a watch is open" (the harness's Etcd removes its data when it stops). Flags as in
 * test/harness/etcd.ts; the data dir carries the harness's `tabbyt-` name so the sweeper finds leftovers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../harness/etcd.js";
import { isAlive, killAndWait } from "../../harness/exec.js";
import { makeTempDir } from "../../harness/naming.js";
import type { Scope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";

export class RestartableEtcd {
  private child: ChildProcess | undefined;

  private constructor(
    readonly endpoint: string,
    private readonly peerUrl: string,
    private readonly dir: string,
  ) {}

  static async start(scope: Scope): Promise<RestartableEtcd> {
    const dir = await makeTempDir(scope);
    const etcd = new RestartableEtcd(
      `http://127.0.0.1:${await freePort()}`,
      `http://127.0.0.1:${await freePort()}`,
      dir,
    );
    scope.defer(
      `stop etcd ${etcd.endpoint}`,
      () => etcd.stop(),
      () => {
        const pid = etcd.child?.pid;
        if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
      },
    );
    await etcd.restart();
    return etcd;
  }

  /** Starts the member (again) and waits until it is healthy. */
  async restart(): Promise<void> {
    const fd = openSync(join(this.dir, "etcd.log"), "a");
    this.child = spawn(
      "etcd",
      [
        ["--name", "m0"],
        ["--data-dir", join(this.dir, "data")],
        ["--listen-client-urls", this.endpoint],
        ["--advertise-client-urls", this.endpoint],
        ["--listen-peer-urls", this.peerUrl],
        ["--initial-advertise-peer-urls", this.peerUrl],
        ["--initial-cluster", `m0=${this.peerUrl}`],
        ["--initial-cluster-state", "new"],
        ["--logger", "zap"],
        ["--log-outputs", "stderr"],
      ].flat(),
      { stdio: ["ignore", fd, fd] },
    );
    closeSync(fd);
    const child = this.child;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`etcd exited ${child.exitCode}`);
        const res = await fetch(`${this.endpoint}/health`);
        return ((await res.json()) as { health?: string }).health === "true";
      },
      { what: `etcd on ${this.endpoint} to be healthy`, timeoutMs: 15_000 },
    );
  }

  /** Kills the member with SIGKILL (a crash, not a clean shutdown) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(child.pid, "SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid !== undefined) await killAndWait(child.pid, child);
  }
}
