/**
 * The lab's hands on the host: network namespaces, veths and bridges through iproute2, and daemons
 * started inside namespaces with `ip netns exec`. The lab shells out to `ip` rather than using felix's
 * netlink layer because it also needs `ip netns` (a bind mount under /run/netns that other tools, and
 * the user, see), and because every step it takes is then a command the user can read and repeat.
 *
 * Every daemon the lab starts carries TABBY_LAB=<lab dir> in its environment, so `down` finds them in
 * /proc even when the process that started them died without writing down their pids.
 */
import { execFile, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";

export interface ShResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ShOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Return a failed command's result instead of throwing. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

export class HostCommandError extends Error {
  override readonly name = "HostCommandError";
}

export function sh(cmd: string, args: readonly string[], opts: ShOptions = {}): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 60_000,
        ...(opts.env !== undefined ? { env: opts.env } : {}),
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
        if (err !== null && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new HostCommandError(`${cmd}: not found on PATH`));
          return;
        }
        if (code !== 0 && opts.allowFailure !== true) {
          reject(new HostCommandError(`${cmd} ${args.join(" ")}: ${stderr.trim() || `exit ${code}`}`));
          return;
        }
        resolve({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** `ip -n NS ...`, or plain `ip ...` in the host's namespace. */
export function ip(ns: string | undefined, ...args: string[]): Promise<ShResult> {
  return sh("ip", ns === undefined ? args : ["-n", ns, ...args]);
}

export async function listNetns(): Promise<string[]> {
  const r = await sh("ip", ["-j", "netns", "list"], { allowFailure: true });
  const text = r.stdout.trim();
  if (text === "") return [];
  return (JSON.parse(text) as { name: string }[]).map((n) => n.name);
}

export async function addNetns(name: string, forwarding: boolean): Promise<void> {
  await sh("ip", ["netns", "add", name]);
  await ip(name, "link", "set", "lo", "up");
  const v = forwarding ? "1" : "0";
  await sh("ip", ["netns", "exec", name, "sysctl", "-q", "-w", `net.ipv4.ip_forward=${v}`]);
}

export interface VethEnd {
  /** Undefined: the host's namespace. */
  readonly ns: string | undefined;
  readonly name: string;
  readonly addresses?: readonly string[];
  /** Enslave this end to a bridge in its namespace. */
  readonly bridge?: string;
}

/** A veth pair between two namespaces, addressed and up. */
export async function addVeth(a: VethEnd, b: VethEnd): Promise<void> {
  const peerNs = b.ns === undefined ? [] : ["netns", b.ns];
  await ip(a.ns, "link", "add", a.name, "type", "veth", "peer", "name", b.name, ...peerNs);
  for (const end of [a, b]) {
    for (const addr of end.addresses ?? []) await ip(end.ns, "addr", "add", addr, "dev", end.name);
    if (end.bridge !== undefined) await ip(end.ns, "link", "set", end.name, "master", end.bridge);
    await ip(end.ns, "link", "set", end.name, "up");
  }
}

export async function addBridge(ns: string, name: string): Promise<void> {
  await ip(ns, "link", "add", name, "type", "bridge");
  await ip(ns, "link", "set", name, "up");
}

/** Whether the kernel makes an ipip device (tried in `ns`, then removed). */
export async function kernelHasIpip(ns: string): Promise<boolean> {
  const r = await sh("ip", ["-n", ns, "link", "add", "ipipprobe0", "type", "ipip"], { allowFailure: true });
  if (r.code !== 0) return false;
  await ip(ns, "link", "del", "ipipprobe0");
  return true;
}

export interface DaemonOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly labDir: string;
}

/**
 * Starts `cmd` inside `ns` in its own process group (Ctrl-C at the terminal reaches only `tabby lab up`,
 * which then stops the daemons in order), its output appended to `logFile`. Returns the pid: `ip netns
 * exec` execs the command, so the pid is the daemon's own.
 */
export function spawnDaemon(
  ns: string | undefined,
  cmd: string,
  args: readonly string[],
  o: DaemonOptions,
): number {
  const fd = openSync(o.logFile, "a");
  const argv = ns === undefined ? [cmd, ...args] : ["ip", "netns", "exec", ns, cmd, ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ["ignore", fd, fd],
    env: { ...o.env, TABBY_LAB: o.labDir },
    detached: true,
  });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new HostCommandError(`cannot start ${cmd}`);
  return child.pid;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Pids of every process whose environment says it belongs to the lab in `labDir`. */
export function labProcesses(labDir: string): number[] {
  const mark = `TABBY_LAB=${labDir}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(mark)) out.push(Number(entry));
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return out;
}

/** Pids of the processes inside namespace `ns`. */
export async function netnsPids(ns: string): Promise<number[]> {
  const r = await sh("ip", ["netns", "pids", ns], { allowFailure: true });
  return r.stdout
    .split(/\s+/)
    .filter((s) => s !== "")
    .map(Number);
}

/** SIGTERM, then SIGKILL for whatever still runs after `graceMs`. */
export async function stopAll(
  pids: readonly number[],
  graceMs: number,
  wait: (ms: number) => Promise<void>,
): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  };
  for (const p of pids) signal(p, "SIGTERM");
  const step = 50;
  for (let waited = 0; waited < graceMs && pids.some(isAlive); waited += step) await wait(step);
  for (const p of pids) if (isAlive(p)) signal(p, "SIGKILL");
  for (let waited = 0; waited < 2000 && pids.some(isAlive); waited += step) await wait(step);
}
