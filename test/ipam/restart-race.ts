/**
 * An IPAM race with the datastore killed (SIGKILL) and restarted in the middle of it: 16 allocators in 4
 * worker processes (restart-worker.ts) on 4 nodes each try 60 assignments while the test kills the
 * datastore as the first allocator is half done and starts it again after `downMs`. The checks: no
 * address handed out twice; every failed call a typed error that names the operation (`IPAM autoAssign
 * for handle ...`); every success held in the store by its handle and nothing held by a failed call's
 * handle unless the failure said its outcome was unknown; and after everything is released (failed
 * calls by handle, as a DEL would), no allocation, handle or affinity left and `ipam check` clean.
 */
import { expect } from "vitest";
import { allocationsOf } from "../../ipam/block.js";
import { checkIpam } from "../../ipam/check.js";
import type { BlockSpec } from "../../ipam/model.js";
import type { Datastore } from "../../src/datastore/types.js";
import { readCheckInput } from "../../src/ipam/cluster-view.js";
import { uniqueName } from "../harness/naming.js";
import type { Scope } from "../harness/scope.js";
import { nodeResource, poolResource } from "../unit/ipam/resources.js";
import { startWorker } from "./race-processes.js";

export interface Failure {
  readonly handle: string;
  readonly code: string;
  readonly message: string;
  readonly ms: number;
}

export interface RestartReport {
  readonly node: string;
  readonly taken: { handle: string; address: string }[];
  readonly failures: Failure[];
}

const NODES = ["n1", "n2", "n3", "n4"];
const ALLOCATORS = 4;
const COUNT = 60;
const WORKER = new URL("./restart-worker.ts", import.meta.url).pathname;

export interface RestartTarget {
  readonly backend: "etcdv3" | "kubernetes";
  /** The etcd endpoint or the kubeconfig file the workers use. */
  readonly target: string;
  /** A client of the test's own, used while the datastore is up. */
  readonly ds: Datastore;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

export interface RestartOutcome {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failures: readonly Failure[];
  readonly downMs: number;
}

export async function raceThroughRestart(
  scope: Scope,
  t: RestartTarget,
  downMs: number,
): Promise<RestartOutcome> {
  await t.ds.create(poolResource("restart", "10.80.0.0/20", { blockSize: 26 }));
  for (const n of NODES) await t.ds.create(nodeResource(n));
  const name = uniqueName();
  const workers = NODES.map((node) =>
    startWorker(scope, WORKER, [t.backend, t.target, node, String(ALLOCATORS), String(COUNT), name], node),
  );
  // Kill the datastore as soon as any allocator 0 is half done, keep it down, bring it back.
  const firsts = workers.map((w) => w.next());
  expect(await Promise.race(firsts)).toBe("halfway");
  const killedAt = performance.now();
  await t.kill();
  await new Promise((resolve) => setTimeout(resolve, downMs)); // the outage itself, not a wait for behaviour
  await t.restart();
  const down = performance.now() - killedAt;
  for (const f of firsts) expect(await f).toBe("halfway");
  const reports = (await Promise.all(workers.map((w) => w.next()))).flatMap(
    (line) => JSON.parse(line) as RestartReport[],
  );
  const taken = reports.flatMap((r) => r.taken);
  const failures = reports.flatMap((r) => r.failures);
  expect(taken.length + failures.length).toBe(NODES.length * ALLOCATORS * COUNT);
  for (const f of failures) {
    expect(f.code, f.message).toMatch(/^(DATASTORE_IO|IPAM_[A-Z_]+)$/);
    expect(f.message).toMatch(new RegExp(`^IPAM autoAssign for handle ${f.handle} on node n\\d: `));
  }
  const owner = new Map<string, string>();
  for (const x of taken) {
    expect(owner.get(x.address), `${x.address} handed out twice`).toBeUndefined();
    owner.set(x.address, x.handle);
  }
  const stored = new Map<string, string>();
  for (const r of (await t.ds.list("IPAMBlock")).items)
    for (const a of allocationsOf(r.spec as BlockSpec)) stored.set(a.address, a.handle ?? "");
  for (const x of taken) expect(stored.get(x.address), x.address).toBe(x.handle);
  const unknown = new Set(failures.filter((f) => /outcome unknown/.test(f.message)).map((f) => f.handle));
  const failed = new Set(failures.map((f) => f.handle));
  for (const [address, handle] of stored) {
    if (owner.get(address) === handle) continue;
    expect(
      failed.has(handle) && unknown.has(handle),
      `${address} held by ${handle}, which the caller was told failed`,
    ).toBe(true);
  }
  for (const w of workers) w.child.stdin!.write("release\n");
  expect(await Promise.all(workers.map((w) => w.next()))).toEqual(NODES.map(() => "released"));
  for (const kind of ["IPAMBlock", "BlockAffinity", "IPAMHandle"]) {
    const left = (await t.ds.list(kind)).items.filter((r) =>
      kind === "IPAMBlock" ? allocationsOf(r.spec as BlockSpec).length > 0 : true,
    );
    expect(
      left.map((r) => r.metadata.name),
      kind,
    ).toEqual([]);
  }
  const report = checkIpam(await readCheckInput(t.ds, { nowMs: Date.now(), graceMs: 0 }));
  expect(report.problems).toBe(0);
  return { attempted: taken.length + failures.length, succeeded: taken.length, failures, downMs: down };
}
