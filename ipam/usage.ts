/**
 * Pool and block utilisation as `calicoctl ipam show` counts it (libcalico-go/lib/ipam/ipam.go
 * GetUtilization, v3.30): every pool in name order, then a pseudo-pool 0.0.0.0/0 for blocks in no pool
 * ("orphaned allocation blocks"); each block goes to the first of these it overlaps; a block's in-use
 * count is its size minus its free list, a pool's the sum over its blocks, a pool's capacity its whole
 * CIDR. Also the borrowed addresses `--show-borrowed` lists (show.go getBorrowedIPs). Pure.
 */
import { allocationsOf, blockCidr } from "./block.js";
import { type Cidr, cidrSize, cidrsOverlap, parseCidr } from "./ip.js";
import { ATTR, affinityHost, type BlockSpec } from "./model.js";
import type { ResolvedPool } from "./pools.js";

export interface BlockUsage {
  readonly cidr: string;
  readonly capacity: number;
  readonly inUse: number;
}

export interface PoolUsage {
  readonly name: string;
  /** Undefined for the orphaned-blocks group, which has no row of its own. */
  readonly cidr: string | undefined;
  readonly capacity: number;
  readonly inUse: number;
  readonly blocks: readonly BlockUsage[];
}

const ORPHANS: Cidr = parseCidr("0.0.0.0/0")!;

export function computeUsage(pools: readonly ResolvedPool[], blocks: readonly BlockSpec[]): PoolUsage[] {
  const groups = [
    ...pools.map((p) => ({
      name: p.name,
      cidr: p.cidr as Cidr | undefined,
      text: p.cidrText,
      blocks: [] as BlockUsage[],
    })),
    {
      name: "orphaned allocation blocks",
      cidr: undefined as Cidr | undefined,
      text: undefined as string | undefined,
      blocks: [] as BlockUsage[],
    },
  ];
  for (const b of blocks) {
    if (b.deleted) continue;
    const c = blockCidr(b);
    const g = groups.find((x) => cidrsOverlap(x.cidr ?? ORPHANS, c));
    g?.blocks.push({
      cidr: b.cidr,
      capacity: b.allocations.length,
      inUse: b.allocations.length - b.unallocated.length,
    });
  }
  return groups.map((g) => ({
    name: g.name,
    cidr: g.text,
    capacity: g.cidr === undefined ? 0 : Number(cidrSize(g.cidr)),
    inUse: g.blocks.reduce((n, b) => n + b.inUse, 0),
    blocks: g.blocks,
  }));
}

export interface BorrowedAddress {
  readonly address: string;
  readonly borrowingNode: string;
  readonly block: string;
  readonly blockOwner: string;
  readonly type: string;
  readonly allocatedTo: string;
}

/** Allocations whose `node` attribute is not the block's host; `unclassified` counts those with no node. */
export function borrowedAddresses(blocks: readonly BlockSpec[]): {
  borrowed: BorrowedAddress[];
  unclassified: number;
} {
  const borrowed: BorrowedAddress[] = [];
  let unclassified = 0;
  for (const b of blocks) {
    if (b.deleted) continue;
    const owner = affinityHost(b.affinity) ?? b.affinity?.split(":")[1] ?? "";
    for (const a of allocationsOf(b)) {
      const attrs = a.attribute?.secondary ?? {};
      const node = attrs[ATTR.node];
      if (node === undefined) {
        unclassified++;
        continue;
      }
      if (node === owner) continue;
      const ns = attrs[ATTR.namespace] ?? "";
      const vmi = attrs["vmi-name"];
      const pod = attrs[ATTR.pod];
      borrowed.push({
        address: a.address,
        borrowingNode: node,
        block: b.cidr,
        blockOwner: owner,
        type: vmi !== undefined ? "vmi" : pod !== undefined ? "pod" : (attrs[ATTR.type] ?? ""),
        allocatedTo: vmi !== undefined ? `${ns}/${vmi}` : pod !== undefined ? `${ns}/${pod}` : "",
      });
    }
  }
  return { borrowed, unclassified };
}
