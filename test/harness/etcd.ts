/**
 * A throwaway single-member etcd for datastore and IPAM tests: loopback only, free ports picked at start,
 * data in a temp dir that `stop()` removes. Flags as in ../shared/reference/peer-configs/etcd-single.sh
 * (etcd 3.4: `--logger zap`, explicit `--data-dir`). `put`/`get`/`compact` use etcd's v3 JSON gateway,
 * enough for smoke tests without a client library; the datastore's own client is the `etcd3` package.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { isAlive, killAndWait } from "./exec.js";
import { makeTempDir } from "./naming.js";
import type { Scope } from "./scope.js";
import { eventually } from "./wait.js";

/** A TCP port on 127.0.0.1 that was free a moment ago (the caller must cope with losing a race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString();

export class Etcd {
  private stopped = false;
  private stopStep: (() => Promise<void>) | undefined;

  private constructor(
    readonly endpoint: string,
    readonly dataDir: string,
    readonly logFile: string,
    private child: ChildProcess,
    private readonly args: readonly string[],
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(scope: Scope): Promise<Etcd> {
    const dir = await makeTempDir(scope);
    let lastError: unknown;
    // Ports are chosen before etcd binds them; another process may take one in between. Retry then.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await Etcd.startOnce(scope, dir, attempt);
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  }

  private static async startOnce(scope: Scope, dir: string, attempt: number): Promise<Etcd> {
    const [client, peer] = [await freePort(), await freePort()];
    const name = `m${attempt}`;
    const dataDir = join(dir, `data-${attempt}`);
    const logFile = join(dir, `etcd-${attempt}.log`);
    const clientUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const args = [
      "--name",
      name,
      "--data-dir",
      dataDir,
      "--listen-client-urls",
      clientUrl,
      "--advertise-client-urls",
      clientUrl,
      "--listen-peer-urls",
      peerUrl,
      "--initial-advertise-peer-urls",
      peerUrl,
      "--initial-cluster",
      `${name}=${peerUrl}`,
      "--initial-cluster-state",
      "new",
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
    ];
    const child = spawnEtcd(args, logFile);
    const etcd = new Etcd(clientUrl, dataDir, logFile, child, args);
    const step = scope.defer(
      `stop etcd ${clientUrl}`,
      () => etcd.shutdown(),
      () => {
        const pid = etcd.child.pid;
        if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
      },
    );
    etcd.stopStep = () => scope.runNow(step);
    try {
      await etcd.healthy();
    } catch (e) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      await etcd.stop();
      throw new Error(`${(e as Error).message}\n${log.split("\n").slice(-10).join("\n")}`);
    }
    return etcd;
  }

  private async healthy(): Promise<void> {
    await eventually(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`etcd exited ${this.child.exitCode}`);
        const res = await fetch(`${this.endpoint}/health`);
        return ((await res.json()) as { health?: string }).health === "true";
      },
      { what: `etcd on ${this.endpoint} to be healthy`, timeoutMs: 15_000 },
    );
  }

  /** Kills the member with SIGKILL, as a crash or an OOM kill would, keeping its data. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    process.kill(child.pid!, "SIGKILL");
    await exited;
  }

  /** Starts the killed member again on the same ports and data, and waits until it is healthy. */
  async restart(): Promise<void> {
    this.child = spawnEtcd(this.args, this.logFile);
    await this.healthy();
  }

  /** Stops the member by pid and removes its data dir. Idempotent. */
  async stop(): Promise<void> {
    await this.stopStep?.();
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await killAndWait(this.pid, this.child);
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async call<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.endpoint}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: string; message?: string };
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${json.message ?? json.error ?? ""}`);
    return json;
  }

  /** Puts a key; returns the store revision after the write. */
  async put(key: string, value: string): Promise<number> {
    const r = await this.call<{ header: { revision: string } }>("/v3/kv/put", {
      key: b64(key),
      value: b64(value),
    });
    return Number(r.header.revision);
  }

  async get(key: string): Promise<string | undefined> {
    const r = await this.call<{ kvs?: { value?: string }[] }>("/v3/kv/range", { key: b64(key) });
    const v = r.kvs?.[0]?.value;
    return r.kvs?.length ? unb64(v ?? "") : undefined;
  }

  /** Compacts history up to `revision` (for watch-after-compaction tests). */
  async compact(revision: number): Promise<void> {
    await this.call("/v3/kv/compaction", { revision: String(revision), physical: true });
  }
}

function spawnEtcd(args: readonly string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn("etcd", [...args], { stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
}
