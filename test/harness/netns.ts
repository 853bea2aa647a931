/**
 * Network namespaces for tests: each `Netns` is a throwaway host with its own interfaces, routes, sysctls
 * and sockets. Built with iproute2 (tests may shell out; the dataplane may not).
 *
 * How code under test runs inside one: a Node process cannot move itself (or one of its threads from
 * JavaScript) into another namespace, so code that must live in a namespace runs as a child process
 * started with `ip netns exec <ns> ...`; `spawnNode` does that for a TypeScript entry point through tsx.
 * `ip netns exec` execs in place, so the child's pid is the program's pid. (Native code that calls
 * setns(2) on a helper thread to open a socket inside a namespace is the other way; felix's netlink
 * addon may use it. The harness does not need it.)
 *
 * Defaults that make tests fast and deterministic: loopback up, IPv6 duplicate address detection off
 * (addresses, including link-local ones, are usable at once; FRR otherwise waits for its link-local
 * address), forwarding off unless asked.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isAlive, killAndWait, type RunOptions, type RunResult, run } from "./exec.js";
import { uniqueName } from "./naming.js";
import type { Scope } from "./scope.js";

/** A process started inside a namespace. */
export interface NsProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** stdout and stderr appended here; default: discarded. */
  readonly logFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export class Netns {
  private constructor(
    readonly name: string,
    private readonly scope: Scope,
  ) {}

  /** Creates a namespace that is deleted (with every process still in it) when `scope` closes. */
  static async create(scope: Scope, opts: { forwarding?: boolean } = {}): Promise<Netns> {
    const name = uniqueName();
    await run("ip", ["netns", "add", name]);
    const ns = new Netns(name, scope);
    scope.defer(
      `delete netns ${name}`,
      () => ns.destroy(),
      () => destroySync(name),
    );
    await ns.sysctl({
      "net.ipv6.conf.all.accept_dad": "0",
      "net.ipv6.conf.default.accept_dad": "0",
      "net.ipv4.ip_forward": opts.forwarding ? "1" : "0",
      "net.ipv6.conf.all.forwarding": opts.forwarding ? "1" : "0",
    });
    await ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** `ip -n <ns> ...` */
  ip(...args: string[]): Promise<RunResult> {
    return run("ip", ["-n", this.name, ...args]);
  }

  /** Runs a command to completion inside the namespace. */
  exec(cmd: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
    return run("ip", ["netns", "exec", this.name, cmd, ...args], opts);
  }

  async sysctl(values: Readonly<Record<string, string>>): Promise<void> {
    const args = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    await this.exec("sysctl", ["-q", "-w", ...args]);
  }

  /**
   * Starts a long-running process inside the namespace. It is stopped when the scope closes (and, as the
   * namespace's process, killed when the namespace is destroyed).
   */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): NsProcess {
    const fd = opts.logFile !== undefined ? openSync(opts.logFile, "a") : undefined;
    const child = spawn("ip", ["netns", "exec", this.name, cmd, ...args], {
      stdio: ["ignore", fd ?? "ignore", fd ?? "ignore"],
      env: opts.env ?? process.env,
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    if (fd !== undefined) closeSync(fd);
    if (child.pid === undefined) throw new Error(`cannot spawn ${cmd} in ${this.name}`);
    const pid = child.pid;
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown")),
    );
    const step = this.scope.defer(
      `stop ${cmd} (pid ${pid}) in ${this.name}`,
      () => killAndWait(pid, child),
      () => {
        if (isAlive(pid)) process.kill(pid, "SIGKILL");
      },
    );
    return { pid, child, exited, stop: () => this.scope.runNow(step) };
  }

  /**
   * Runs a TypeScript (or JavaScript) module of this repository inside the namespace, in its own Node
   * process (see the module header for why). `entry` is a path or a file URL.
   */
  spawnNode(entry: string | URL, args: readonly string[] = [], opts: SpawnOptions = {}): NsProcess {
    const path = entry instanceof URL || entry.startsWith("file:") ? fileURLToPath(entry) : entry;
    return this.spawn(process.execPath, ["--import", "tsx", path, ...args], opts);
  }

  /** Pids of every process whose network namespace is this one. */
  async pids(): Promise<number[]> {
    const r = await run("ip", ["netns", "pids", this.name], { allowFailure: true });
    return r.stdout
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number);
  }

  /** Kills what still runs inside and deletes the namespace (veths with an end here go with it). */
  async destroy(): Promise<void> {
    for (const pid of await this.pids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone in between.
      }
    }
    await run("ip", ["netns", "del", this.name], { allowFailure: true });
  }

  // ---- topology helpers -------------------------------------------------------------------------------

  /** Adds addresses (`10.0.0.1/24`, `fd00::1/64`) to an interface; IPv6 ones without DAD. */
  async addAddress(dev: string, ...cidrs: string[]): Promise<void> {
    for (const cidr of cidrs) {
      const v6 = cidr.includes(":");
      await this.ip(...(v6 ? ["-6"] : []), "addr", "add", cidr, "dev", dev, ...(v6 ? ["nodad"] : []));
    }
  }

  /** `ip route add <spec...>`, e.g. `addRoute("10.1.0.0/16", "via", "10.0.0.2")`. */
  async addRoute(...spec: string[]): Promise<void> {
    await this.ip(...(spec.some((s) => s.includes(":")) ? ["-6"] : []), "route", "add", ...spec);
  }

  async createBridge(name: string): Promise<void> {
    await this.ip("link", "add", name, "type", "bridge");
    await this.ip("link", "set", name, "up");
  }

  /** Addresses of `dev` as data (`ip -j addr show`). */
  async addresses(dev: string): Promise<string[]> {
    const r = await this.ip("-j", "addr", "show", "dev", dev);
    const parsed = JSON.parse(r.stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
    return parsed.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
  }

  /** Routes as data (`ip -j route show`), optionally for IPv6 or a given table/protocol filter. */
  async routes(opts: { v6?: boolean; filter?: string[] } = {}): Promise<Record<string, unknown>[]> {
    const r = await this.ip("-j", ...(opts.v6 ? ["-6"] : []), "route", "show", ...(opts.filter ?? []));
    return JSON.parse(r.stdout || "[]") as Record<string, unknown>[];
  }
}

export interface VethEnd {
  readonly ns: Netns;
  /** Interface name inside `ns` (names only need to be unique within their namespace). */
  readonly name: string;
  readonly addresses?: readonly string[];
}

/** Creates a veth pair with one end in each namespace, brings both up and addresses them. */
export async function connectVeth(a: VethEnd, b: VethEnd): Promise<void> {
  // Both ends are created directly in their namespaces, so names never collide in the root namespace.
  await run("ip", [
    "link",
    "add",
    a.name,
    "netns",
    a.ns.name,
    "type",
    "veth",
    "peer",
    "name",
    b.name,
    "netns",
    b.ns.name,
  ]);
  for (const end of [a, b]) {
    await end.ns.ip("link", "set", end.name, "up");
    if (end.addresses) await end.ns.addAddress(end.name, ...end.addresses);
  }
}

/** Plugs `end` into `bridge` (which lives in `bridgeNs`) with a veth whose bridge-side name is `portName`. */
export async function connectToBridge(
  bridgeNs: Netns,
  bridge: string,
  portName: string,
  end: VethEnd,
): Promise<void> {
  await connectVeth(end, { ns: bridgeNs, name: portName });
  await bridgeNs.ip("link", "set", portName, "master", bridge);
}

function destroySync(name: string): void {
  try {
    const pids = execFileSync("ip", ["netns", "pids", name], { encoding: "utf8" });
    for (const p of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), "SIGKILL");
      } catch {
        // Gone.
      }
    }
  } catch {
    // Namespace already gone.
  }
  execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
}
