/**
 * `tabby datastore serve` as a child process, the way the lab and an operator run it: started through
 * tsx from this checkout with a temp data dir, waited for until it prints its URL, stopped (or killed
 * with SIGKILL) by pid. Registered in the scope so it never outlives the test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { isAlive, killAndWait } from "../../harness/exec.js";
import type { Scope } from "../../harness/scope.js";

const ROOT = join(import.meta.dirname, "../../..");

export class ServeProcess {
  private constructor(
    readonly url: string,
    readonly kubeconfig: string,
    private readonly child: ChildProcess,
  ) {}

  /** `token` fixed lets clients keep their kubeconfig across a restart (the default is a fresh one). */
  static async start(
    scope: Scope,
    dataDir: string,
    listen = "127.0.0.1:0",
    token?: string,
  ): Promise<ServeProcess> {
    const kubeconfig = join(dataDir, "kubeconfig");
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli/tabby.ts"),
        "datastore",
        "serve",
        "--listen",
        listen,
        "--data-dir",
        dataDir,
        "--kubeconfig-out",
        kubeconfig,
        ...(token !== undefined ? ["--token", token] : []),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TABBY_LOG_LEVEL: "warn" } },
    );
    scope.defer(
      `stop tabby datastore serve (${child.pid})`,
      () => killAndWait(child.pid!, child),
      () => {
        if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, "SIGKILL");
      },
    );
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /serving on (\S+)/.exec(out);
        if (m !== null) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`tabby datastore serve exited ${code}: ${stderr}`)));
    });
    return new ServeProcess(url, kubeconfig, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  async kill9(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    process.kill(this.pid, "SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await killAndWait(this.pid, this.child);
  }
}
