/**
 * Runs the race (race.ts) with its allocators in worker processes (race-worker.ts), one per node: start
 * them against a backend, collect their reports, check, tell them to release, check that nothing is left.
 * Every worker carries a harness name on its command line and is killed with the scope.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { Datastore } from "../../src/datastore/types.js";
import { isAlive, killAndWait } from "../harness/exec.js";
import { uniqueName } from "../harness/naming.js";
import type { Scope } from "../harness/scope.js";
import {
  ALLOCATORS_PER_NODE,
  type AllocatorReport,
  type Lister,
  NODES,
  PER_ALLOCATOR,
  releaseSeed,
  seedRace,
  verifyAssigned,
  verifyEmpty,
} from "./race.js";

const WORKER = fileURLToPath(new URL("./race-worker.ts", import.meta.url));

export interface Worker {
  readonly child: ChildProcess;
  next(): Promise<string>;
}

/** A worker process running `script` with `args`, its stdout read line by line; killed with the scope. */
export function startWorker(scope: Scope, script: string, args: readonly string[], node: string): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pid = child.pid!;
  scope.defer(
    `stop race worker ${pid}`,
    () => killAndWait(pid, child),
    () => {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`race worker for ${node} exited ${code}`))),
  );
  exited.catch(() => undefined);
  return {
    child,
    next: async () => {
      const r = await Promise.race([lines.next(), exited]);
      if (r.done) throw new Error(`race worker for ${node} closed its output`);
      return r.value;
    },
  };
}

/** The whole race against `ds` (empty), with workers reaching the same store through `target`. */
export async function raceInProcesses(
  scope: Scope,
  ds: Datastore,
  list: Lister,
  backend: "etcdv3" | "kubernetes",
  target: string,
): Promise<AllocatorReport[]> {
  await seedRace(ds);
  const workers = NODES.map((node) =>
    startWorker(
      scope,
      WORKER,
      [backend, target, node, String(ALLOCATORS_PER_NODE), String(PER_ALLOCATOR), uniqueName()],
      node,
    ),
  );
  const reports = (await Promise.all(workers.map((w) => w.next()))).flatMap(
    (line) => JSON.parse(line) as AllocatorReport[],
  );
  await verifyAssigned(list, reports);
  for (const w of workers) w.child.stdin!.write("release\n");
  expect(await Promise.all(workers.map((w) => w.next()))).toEqual(NODES.map(() => "released"));
  await releaseSeed(ds);
  await verifyEmpty(list);
  return reports;
}
