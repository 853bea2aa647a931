/**
 * The race scenario of issue #9, shared by the etcd, embedded-store and Kubernetes runs and by the worker
 * processes: 16 allocators on 4 nodes take 10,000 addresses from two pools of 40 /24 blocks in all, of
 * which a fifth node already holds 8 blocks (one address each), so the 4 nodes can claim only 32 blocks
 * (8,192 addresses) and must borrow the rest: blocks are claimed, exhausted and borrowed. Then every
 * allocator releases its handles. The checks: no address twice, every handle's addresses recorded in its
 * IPAMHandle and its blocks, and nothing (no allocation, no affinity, no handle) left at the end.
 */
import { expect } from "vitest";
import { allocationsOf } from "../../ipam/block.js";
import type { Ipam } from "../../ipam/client.js";
import type { BlockSpec, HandleSpec } from "../../ipam/model.js";
import type { Resource } from "../../src/api/meta.js";
import type { Datastore } from "../../src/datastore/types.js";
import { openIpam } from "../../src/ipam/open.js";
import { nodeResource, poolResource } from "../unit/ipam/resources.js";

export const NODES = ["n1", "n2", "n3", "n4"] as const;
export const ALLOCATORS_PER_NODE = 4;
export const TOTAL = 10_000;
export const PER_ALLOCATOR = TOTAL / (NODES.length * ALLOCATORS_PER_NODE);

export interface Taken {
  readonly handle: string;
  readonly address: string;
  readonly block: string;
  readonly sequenceNumber: number;
  readonly borrowed: boolean;
}

export interface AllocatorReport {
  readonly node: string;
  readonly taken: Taken[];
  readonly elapsedMs: number;
}

/** Pools, nodes, and the fifth node's 8 blocks. */
export async function seedRace(ds: Datastore): Promise<void> {
  await ds.create(poolResource("race-a", "10.64.0.0/19", { blockSize: 24 })); // 32 blocks
  await ds.create(poolResource("race-b", "10.96.0.0/21", { blockSize: 24 })); // 8 blocks
  for (const n of [...NODES, "n0"]) await ds.create(nodeResource(n));
  const ipam = openIpam(ds);
  for (const third of [0, 4, 8, 12, 16, 20, 24, 28]) {
    await ipam.assignIP({ address: `10.64.${third}.1`, handleId: `n0-${third}`, node: "n0" });
  }
}

/** One allocator: `count` pods, one handle and one IPv4 address each, as the CNI plugin asks. */
export async function runAllocator(
  ipam: Ipam,
  node: string,
  name: string,
  count: number,
): Promise<AllocatorReport> {
  const started = performance.now();
  const taken: Taken[] = [];
  for (let i = 0; i < count; i++) {
    const handle = `k8s-pod-network.${name}-${i}`;
    const r = await ipam.autoAssign({
      handleId: handle,
      node,
      num4: 1,
      attrs: { node, namespace: "race", pod: `${name}-${i}` },
    });
    const a = r.ipv4[0]!;
    taken.push({
      handle,
      address: a.address,
      block: a.block,
      sequenceNumber: a.sequenceNumber,
      borrowed: a.borrowed,
    });
  }
  return { node, taken, elapsedMs: performance.now() - started };
}

export async function releaseAll(ipam: Ipam, taken: readonly Taken[]): Promise<void> {
  for (const t of taken) {
    const gone = await ipam.releaseByHandle(t.handle);
    if (gone.length !== 1 || gone[0] !== t.address) {
      throw new Error(`release of ${t.handle} gave back ${JSON.stringify(gone)}, expected ${t.address}`);
    }
  }
}

/** Lists every object of a kind. */
export type Lister = (kind: string) => Promise<Resource[]>;

export const listAll =
  (ds: Datastore): Lister =>
  async (kind) => [...(await ds.list(kind)).items];

/** After the assignment phase: uniqueness, the handles' records, and that borrowing happened. */
export async function verifyAssigned(list: Lister, reports: readonly AllocatorReport[]): Promise<void> {
  const all = reports.flatMap((r) => r.taken);
  expect(all).toHaveLength(TOTAL);
  const byAddress = new Map<string, string>();
  for (const t of all) {
    const other = byAddress.get(t.address);
    if (other !== undefined) throw new Error(`${t.address} handed out twice: to ${other} and ${t.handle}`);
    byAddress.set(t.address, t.handle);
  }
  const blocks = (await list("IPAMBlock")).map((r) => r.spec as BlockSpec);
  expect(blocks).toHaveLength(40); // every block of both pools claimed
  const inBlocks = new Map<string, string>();
  for (const b of blocks) for (const a of allocationsOf(b)) inBlocks.set(a.address, a.handle ?? "");
  const n0 = [...inBlocks.values()].filter((h) => h.startsWith("n0-")).length;
  expect(n0).toBe(8);
  expect(inBlocks.size).toBe(TOTAL + 8);
  for (const [address, handle] of byAddress) expect(inBlocks.get(address), address).toBe(handle);
  const handles = new Map(
    (await list("IPAMHandle")).map((r) => [(r.spec as HandleSpec).handleID, r.spec as HandleSpec]),
  );
  expect(handles.size).toBe(TOTAL + 8);
  for (const t of all) expect(handles.get(t.handle)?.block, t.handle).toEqual({ [t.block]: 1 });
  const borrowed = all.filter((t) => t.borrowed).length;
  expect(borrowed).toBeGreaterThanOrEqual(TOTAL - 32 * 256);
}

/** After the release phase: no allocation, no affinity, no handle left. */
export async function verifyEmpty(list: Lister): Promise<void> {
  const leftover = (await list("IPAMBlock")).flatMap((r) =>
    allocationsOf(r.spec as BlockSpec).map((a) => `${a.address} (${a.handle})`),
  );
  expect(leftover).toEqual([]);
  expect((await list("BlockAffinity")).map((r) => r.metadata.name)).toEqual([]);
  expect((await list("IPAMHandle")).map((r) => r.metadata.name)).toEqual([]);
  expect((await list("IPAMBlock")).map((r) => r.metadata.name)).toEqual([]);
}

/** The fifth node lets its 8 addresses go too. */
export async function releaseSeed(ds: Datastore): Promise<void> {
  const ipam = openIpam(ds);
  for (const third of [0, 4, 8, 12, 16, 20, 24, 28]) await ipam.releaseByHandle(`n0-${third}`);
}
