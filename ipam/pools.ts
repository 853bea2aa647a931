/**
 * Which pools an allocation may use, and in which order a node walks a pool's blocks, as libcalico-go
 * decides (ipam.go determinePools/prepareAffinityBlocksForHost/filterPoolsByUse, pools.go SelectsNode/
 * SelectsNamespace, ipam_block_reader_writer.go randomBlockGenerator). Rules, in Calico's order: only
 * enabled pools of the family whose blockSize leaves room for the host-reserved addresses; explicitly
 * requested pools (by name or CIDR) must exist and be enabled and are then used as given, selectors and
 * assignment mode aside; otherwise only Automatic pools whose nodeSelector matches the node and whose
 * namespaceSelector matches the pod's namespace; finally the pool must allow the intended use. Pure;
 * selectors are evaluated by an injected matcher (src/api/selector in tabby) since ipam/ imports no src/.
 */
import { IpamError } from "./errors.js";
import {
  type Addr,
  bitsOf,
  type Cidr,
  cidrContains,
  cidrSize,
  enclosingCidr,
  type Family,
  formatCidr,
  parseCidr,
} from "./ip.js";
import type { AllowedUse, Pool } from "./model.js";

/** Evaluates a Calico selector against labels; throws on a malformed selector. */
export type SelectorMatcher = (selector: string, labels: Readonly<Record<string, string>>) => boolean;

/** A pool with clientv3's defaults applied (libcalico-go/lib/clientv3/ippool.go). */
export interface ResolvedPool {
  readonly name: string;
  readonly cidr: Cidr;
  readonly cidrText: string;
  readonly blockSize: number;
  readonly disabled: boolean;
  readonly nodeSelector: string;
  readonly namespaceSelector: string;
  readonly allowedUses: readonly AllowedUse[];
  readonly assignmentMode: "Automatic" | "Manual";
  readonly ipipMode: "Never" | "Always" | "CrossSubnet";
  readonly vxlanMode: "Never" | "Always" | "CrossSubnet";
}

/** Undefined for a pool whose CIDR does not parse (Calico logs and skips it). */
export function resolvePool(p: Pool): ResolvedPool | undefined {
  const cidr = parseCidr(p.spec.cidr);
  if (cidr === undefined) return undefined;
  return {
    name: p.name,
    cidr,
    cidrText: formatCidr(cidr),
    blockSize: p.spec.blockSize || (cidr.family === 4 ? 26 : 122),
    disabled: p.spec.disabled === true,
    nodeSelector: p.spec.nodeSelector ?? "all()",
    namespaceSelector: p.spec.namespaceSelector ?? "",
    allowedUses:
      p.spec.allowedUses !== undefined && p.spec.allowedUses.length > 0
        ? p.spec.allowedUses
        : ["Workload", "Tunnel"],
    assignmentMode: p.spec.assignmentMode ?? "Automatic",
    ipipMode: p.spec.ipipMode || "Never",
    vxlanMode: p.spec.vxlanMode || "Never",
  };
}

const resolvedCache = new WeakMap<readonly Pool[], ResolvedPool[]>();

/**
 * All pools resolved and sorted by name, as Calico's pool accessor returns them. Remembered per input
 * array, so a cached pool list (src/ipam/inputs.ts) is resolved once.
 */
export function resolvePools(pools: readonly Pool[]): ResolvedPool[] {
  let out = resolvedCache.get(pools);
  if (out === undefined) {
    out = resolveAll(pools);
    resolvedCache.set(pools, out);
  }
  return out;
}

function resolveAll(pools: readonly Pool[]): ResolvedPool[] {
  return pools
    .map(resolvePool)
    .filter((p): p is ResolvedPool => p !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface PoolRequest {
  readonly family: Family;
  readonly use: AllowedUse;
  readonly node: string;
  readonly nodeLabels: Readonly<Record<string, string>>;
  /** The pod's namespace labels; absent evaluates the namespaceSelector against no labels (Calico). */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Pools asked for by annotation or CNI config, by name or CIDR; empty means "choose". */
  readonly requested?: readonly string[];
  /** Largest usable blockSize (getMaxPrefixLen: host-reserved addresses need room). */
  readonly maxPrefixLen?: number;
}

/** `getMaxPrefixLen`: with R reserved addresses per block, blocks need more than R addresses. */
export function maxPrefixLenFor(family: Family, reservedPerBlock: number): number {
  if (reservedPerBlock <= 0) return bitsOf(family);
  return bitsOf(family) - Math.floor(Math.log2(reservedPerBlock)) - 1;
}

/** A selector that is empty selects everything (SelectsNode / SelectsNamespace). */
function selects(
  match: SelectorMatcher,
  selector: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  return selector.trim() === "" || match(selector, labels);
}

export function poolSelectsNode(
  p: ResolvedPool,
  labels: Readonly<Record<string, string>>,
  match: SelectorMatcher,
): boolean {
  return selects(match, p.nodeSelector, labels);
}

/**
 * The pools this request may allocate from, in name order, or an IpamError saying why there are none:
 * IPAM_NO_POOLS (none enabled for the family, none selecting the node/namespace, none for the use) or
 * IPAM_POOL_NOT_FOUND (a requested pool is missing or disabled).
 */
export function selectPools(
  pools: readonly ResolvedPool[],
  req: PoolRequest,
  match: SelectorMatcher,
): ResolvedPool[] {
  const maxPrefixLen = req.maxPrefixLen ?? bitsOf(req.family);
  const enabled = pools.filter(
    (p) => p.cidr.family === req.family && !p.disabled && p.blockSize <= maxPrefixLen,
  );
  if (enabled.length === 0) {
    throw new IpamError(
      "IPAM_NO_POOLS",
      `cannot find a qualified ippool: no enabled IPv${req.family} pool for node ${req.node}`,
      { node: req.node },
    );
  }
  let chosen: ResolvedPool[];
  const requested = req.requested ?? [];
  if (requested.length > 0) {
    chosen = requested.map((r) => {
      const cidr = parseCidr(r);
      const text = cidr === undefined ? undefined : formatCidr(cidr);
      const p = enabled.find((e) => e.name === r || e.cidrText === text);
      if (p === undefined) {
        throw new IpamError(
          "IPAM_POOL_NOT_FOUND",
          `the given pool (${r}) does not exist, or is not enabled`,
          { pool: r, node: req.node },
        );
      }
      return p;
    });
  } else {
    chosen = enabled.filter(
      (p) =>
        p.assignmentMode === "Automatic" &&
        selects(match, p.nodeSelector, req.nodeLabels) &&
        selects(match, p.namespaceSelector, req.namespaceLabels ?? {}),
    );
  }
  if (chosen.length === 0) {
    throw new IpamError("IPAM_NO_POOLS", `no configured Calico pools for node ${req.node}`, {
      node: req.node,
    });
  }
  const byUse = chosen.filter((p) => p.allowedUses.includes(req.use));
  if (byUse.length === 0) {
    throw new IpamError(
      "IPAM_NO_POOLS",
      `cannot find a qualified ippool, no pools match the required use (${req.use}) for node ${req.node}`,
      { node: req.node },
    );
  }
  return byUse;
}

/** The first pool (in the given order) containing `a`. */
export function poolOf(pools: readonly ResolvedPool[], a: Addr | Cidr): ResolvedPool | undefined {
  const addr: Addr = "value" in a ? a : { family: a.family, value: a.base };
  return pools.find((p) => cidrContains(p.cidr, addr));
}

/** The block of `pool` that holds `a` (getBlockCIDRForAddress). */
export function blockOf(pool: ResolvedPool, a: Addr): Cidr {
  return enclosingCidr(a, pool.blockSize);
}

export function numBlocks(pool: ResolvedPool): bigint {
  if (pool.blockSize < pool.cidr.prefixLen) return 0n;
  return cidrSize(pool.cidr) >> BigInt(bitsOf(pool.cidr.family) - pool.blockSize);
}

export function nthBlock(pool: ResolvedPool, i: bigint): Cidr {
  const step = 1n << BigInt(bitsOf(pool.cidr.family) - pool.blockSize);
  return { family: pool.cidr.family, base: pool.cidr.base + i * step, prefixLen: pool.blockSize };
}

/** FNV-1 32-bit (Go's hash/fnv New32), Calico's seed for a host's walk through a pool. */
export function fnv32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(text)) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

/** A 64-bit mix of the seed (splitmix64's finaliser): a start index that spreads hosts over the pool. */
function mix64(seed: bigint): bigint {
  const M = (1n << 64n) - 1n;
  let z = (seed + 0x9e3779b97f4a7c15n) & M;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
  return z ^ (z >> 31n);
}

/** Where a host's walk through `pool` starts (see blockWalk). */
export function walkStart(pool: ResolvedPool, host: string, timeSeed = 0): bigint {
  const n = numBlocks(pool);
  if (n === 0n) return 0n;
  const single = pool.blockSize === bitsOf(pool.cidr.family);
  const seed = single ? BigInt(Math.floor(timeSeed)) : BigInt(fnv32(host));
  return mix64(seed) % n;
}

/** The step at which a walk from `start` reaches `block` (a block of `pool`). */
export function walkPosition(pool: ResolvedPool, start: bigint, block: Cidr): bigint {
  const n = numBlocks(pool);
  const index = (block.base - pool.cidr.base) >> BigInt(bitsOf(pool.cidr.family) - pool.blockSize);
  return (((index - start) % n) + n) % n;
}

/**
 * The pool's blocks in the order a host tries them (randomBlockGenerator): from a start index derived
 * from the host name, sequentially, wrapping, each block once. The same host always starts at the same
 * block, so its retries hit the same candidates, and different hosts start apart instead of fighting over
 * the first block. Calico seeds Go's math/rand with FNV-32(host) (or the time for /32 and /128 blocks);
 * tabby mixes the same seed with splitmix64, so start indexes differ from Calico's but keep the property.
 * `timeSeed` stands in for the time seed of single-address blocks.
 */
export function* blockWalk(pool: ResolvedPool, host: string, timeSeed = 0): Generator<Cidr> {
  const n = numBlocks(pool);
  const start = walkStart(pool, host, timeSeed);
  for (let k = 0n; k < n; k++) yield nthBlock(pool, (start + k) % n);
}
