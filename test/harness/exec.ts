/**
 * Running external commands from tests: `run` for commands that finish (with a timeout and an error that
 * carries stderr), `isAlive`/`killAndWait` for processes identified by pid. The dataplane itself never
 * shells out (design.md); tests use `ip` and the daemons' CLIs to set up and to observe.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { readFileSync } from "node:fs";

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(
      `\`${argv.join(" ")}\` exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 2000)}`,
    );
  }
}

export interface RunOptions {
  /** Default 30 s; a hung command is killed and reported. */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero code instead of throwing. */
  readonly allowFailure?: boolean;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = [cmd, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        if (e !== null && typeof e.code === "string") {
          reject(new Error(`cannot run ${cmd}: ${e.message}`));
          return;
        }
        const result: RunResult = {
          stdout,
          stderr: e?.killed ? `${stderr}\n(killed after ${opts.timeoutMs ?? 30_000} ms)` : stderr,
          code: e === null ? 0 : typeof e.code === "number" ? e.code : 1,
        };
        if (result.code !== 0 && !opts.allowFailure) reject(new CommandError(argv, result));
        else resolve(result);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

// One definition of "this pid still runs", shared with the lab.
export { isAlive } from "../../src/lab/host.js";

import { isAlive } from "../../src/lab/host.js";

/**
 * Sends SIGTERM, waits up to `graceMs` for the process to go, then SIGKILLs it. Works for our own
 * children (waits for their exit event, so no zombie is left) and for any other pid (polls).
 */
export async function killAndWait(pid: number, child?: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) return;
  if (child === undefined && !isAlive(pid)) return;
  const exited =
    child !== undefined
      ? new Promise<void>((resolve) => child.once("exit", () => resolve()))
      : pollUntilDead(pid);
  signal(pid, "SIGTERM");
  const timer = setTimeout(() => signal(pid, "SIGKILL"), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function pollUntilDead(pid: number): Promise<void> {
  while (isAlive(pid) && !isZombie(pid)) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isZombie(pid: number): boolean {
  try {
    // /proc/<pid>/stat field 3 is the state; Z = exited but not reaped (not our child, nothing to wait for).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
