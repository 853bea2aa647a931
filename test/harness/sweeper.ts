/**
 * Finds and removes what test runs left behind: namespaces, temp dirs and processes whose names carry the
 * harness prefix (naming.ts). `sweep()` only touches artifacts whose creator pid is dead (so a
 * concurrent run is safe); `leftovers(run)` lists everything of one run, which is how the final check
 * proves that the suite cleaned up after itself.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "./exec.js";
import { PREFIX, parseName } from "./naming.js";

export interface Leftovers {
  readonly namespaces: string[];
  readonly tempDirs: string[];
  /** `pid: command line` of processes that run in a harness namespace or use a harness path. */
  readonly processes: string[];
}

function listNamespaces(): string[] {
  try {
    return readdirSync("/run/netns").filter((n) => n.startsWith(PREFIX));
  } catch {
    return [];
  }
}

function listTempDirs(): string[] {
  try {
    return readdirSync(tmpdir())
      .filter((n) => n.startsWith(PREFIX))
      .map((n) => join(tmpdir(), n));
  } catch {
    return [];
  }
}

/** Processes whose command line names a harness artifact, or that live in a harness namespace. */
function listProcesses(): { pid: number; cmdline: string; owner: string }[] {
  const out: { pid: number; cmdline: string; owner: string }[] = [];
  const byNs = new Map<number, string>();
  for (const ns of listNamespaces()) {
    try {
      for (const p of execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split(/\s+/)) {
        if (p !== "") byNs.set(Number(p), ns);
      }
    } catch {
      // Deleted meanwhile.
    }
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      continue;
    }
    const ns = byNs.get(pid);
    const named = cmdline.includes(PREFIX) ? cmdline : undefined;
    if (ns === undefined && named === undefined) continue;
    // Our own runner and vitest workers carry the run id only in the environment, never in argv.
    out.push({ pid, cmdline, owner: ns ?? named! });
  }
  return out;
}

export function leftovers(run?: string): Leftovers {
  const mine = (s: string) => run === undefined || parseName(s)?.run === run;
  return {
    namespaces: listNamespaces().filter(mine),
    tempDirs: listTempDirs().filter(mine),
    processes: listProcesses()
      .filter((p) => mine(p.owner))
      .map((p) => `${p.pid}: ${p.cmdline}`),
  };
}

/** Removes artifacts whose creating process is gone. Returns what it removed. */
export function sweep(): Leftovers {
  const dead = (s: string) => {
    const parsed = parseName(s);
    return parsed !== undefined && !isAlive(parsed.pid);
  };
  const removed: Leftovers = { namespaces: [], tempDirs: [], processes: [] };
  for (const p of listProcesses()) {
    if (!dead(p.owner)) continue;
    try {
      process.kill(p.pid, "SIGKILL");
      removed.processes.push(`${p.pid}: ${p.cmdline}`);
    } catch {
      // Gone.
    }
  }
  for (const ns of listNamespaces()) {
    if (!dead(ns)) continue;
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
      removed.namespaces.push(ns);
    } catch {
      // Someone else removed it.
    }
  }
  for (const dir of listTempDirs()) {
    if (!dead(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.tempDirs.push(dir);
  }
  return removed;
}
