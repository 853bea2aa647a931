/**
 * Auto-assignment for one IP family, Calico's autoAssign (libcalico-go/lib/ipam/ipam.go autoAssign,
 * findOrClaimBlock, assignFromExistingBlock; ipam_block_reader_writer.go findUsableBlock): take addresses
 * from blocks affine to the node; when they are full and the node may claim more (below its block cap,
 * autoAllocateBlocks on), claim a free block of a qualifying pool, walking the pool from the node's own
 * start index, or reclaim another node's block that has been empty for a minute; if still short and
 * strictAffinity is off, borrow from any block of those pools. Every block write is a CAS retried from a
 * fresh read (at most `retries` times, then IPAM_BLOCK_CONFLICT naming the block). tabby's addition: the
 * affine block that last had room is tried first without listing anything, so a steady stream of
 * allocations on a node costs one transaction each. Reports what it got; client.ts makes it all or nothing.
 */
import { assignFromBlock, blockCidr, freeCount } from "./block.js";
import {
  type BlockInfo,
  blockFromAffinity,
  indexBlocks,
  pendingAffinity,
  releaseBlockAffinity,
} from "./claim.js";
import { parseTime } from "./clock.js";
import {
  backoff,
  cachedBlock,
  type IpamContext,
  isRace,
  readAffinity,
  refreshBlock,
  writeBlock,
} from "./context.js";
import { IpamError } from "./errors.js";
import { type Family, formatAddr, formatCidr, nthAddr, parseCidr } from "./ip.js";
import {
  type AffinitySpec,
  type AllowedUse,
  affinityHost,
  type BlockSpec,
  DEFAULT_MAX_BLOCKS_PER_HOST,
  type HostReservedAttr,
  hostAffinity,
  type IpamConfig,
} from "./model.js";
import { affinityName, blockName } from "./names.js";
import {
  blockWalk,
  numBlocks,
  poolOf,
  poolSelectsNode,
  type ResolvedPool,
  walkPosition,
  walkStart,
} from "./pools.js";
import type { AddressFilter } from "./reservations.js";
import type { Versioned } from "./store.js";

export interface FamilyRequest {
  readonly family: Family;
  readonly num: number;
  readonly handleId: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly node: string;
  readonly use: AllowedUse;
  readonly maxBlocksPerHost?: number;
  readonly hostReserved?: HostReservedAttr;
}

/** What the family's allocation runs against, read once per request. */
export interface AssignEnv {
  readonly config: IpamConfig;
  readonly reservations: AddressFilter;
  /** Every pool (for releasing affinities of pools that no longer select the node). */
  readonly allPools: readonly ResolvedPool[];
  /** The pools this request may use (pools.ts selectPools). */
  readonly pools: readonly ResolvedPool[];
  readonly nodeLabels: Readonly<Record<string, string>>;
}

export interface AssignedAddress {
  readonly address: string;
  /** With the block's prefix length (`10.244.1.5/26`), as Calico's AutoAssign returns it (load-bearing for CNI). */
  readonly cidr: string;
  readonly block: string;
  readonly pool: string;
  /** The allocation's sequence number: pass it back on release for the ABA check. */
  readonly sequenceNumber: number;
  /** From a block that is not affine to this node. */
  readonly borrowed: boolean;
}

export interface FamilyOutcome {
  readonly assigned: AssignedAddress[];
  /** Why fewer than asked were assigned (Calico's IPAMAssignments.Msgs). */
  readonly reasons: string[];
}

export function blockCap(req: FamilyRequest, config: IpamConfig): number {
  let max = req.maxBlocksPerHost ?? 0;
  if (config.maxBlocksPerHost > 0 && max > 0 && max > config.maxBlocksPerHost) max = config.maxBlocksPerHost;
  else if (max === 0) max = config.maxBlocksPerHost;
  return max === 0 ? DEFAULT_MAX_BLOCKS_PER_HOST : max;
}

const hintKey = (node: string, family: Family) => `${node}|${family}`;

/** Takes up to `num` addresses from one block, retrying its CAS from fresh reads. */
async function assignFrom(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
  start: Versioned<BlockSpec> | undefined,
  num: number,
  affineOnly: boolean,
): Promise<AssignedAddress[]> {
  let vb = start;
  const mine = hostAffinity(req.node);
  for (let i = 0; i < ctx.retries; i++) {
    if (vb === undefined) return [];
    if (affineOnly && vb.spec.affinity !== mine) return [];
    const r = assignFromBlock(vb.spec, num, req.handleId, req.attrs, env.reservations);
    if (r.ordinals.length === 0) return [];
    try {
      await writeBlock(ctx, {
        from: vb,
        to: r.block,
        handle: { id: req.handleId, delta: r.ordinals.length },
      });
    } catch (e) {
      if (!isRace(e)) throw e;
      await backoff(ctx, i + 1);
      vb = await refreshBlock(ctx, vb.spec.cidr, e);
      continue;
    }
    const cidr = blockCidr(vb.spec);
    const pool = poolOf(env.pools, cidr)?.name ?? "";
    return r.ordinals.map((o) => {
      const address = formatAddr(nthAddr(cidr, o));
      return {
        address,
        cidr: `${address}/${cidr.prefixLen}`,
        block: vb!.spec.cidr,
        pool,
        sequenceNumber: vb!.spec.sequenceNumber,
        borrowed: vb!.spec.affinity !== mine,
      };
    });
  }
  throw conflictError(req, vb?.spec.cidr ?? "");
}

function conflictError(req: FamilyRequest, block: string): IpamError {
  return new IpamError(
    "IPAM_BLOCK_CONFLICT",
    `Max retries hit - excessive concurrent IPAM requests: block ${block} kept changing while node ${req.node} assigned for handle ${req.handleId}`,
    { block, node: req.node, handle: req.handleId },
  );
}

/** The block to try first: the affine block that last had room, if it is still usable for this request. */
async function hinted(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
): Promise<Versioned<BlockSpec> | undefined> {
  const cidrText = ctx.hints.get(hintKey(req.node, req.family));
  if (cidrText === undefined) return undefined;
  const cidr = parseCidr(cidrText);
  if (cidr === undefined || poolOf(env.pools, cidr) === undefined || env.reservations.coversCidr(cidr)) {
    ctx.hints.delete(hintKey(req.node, req.family));
    return undefined;
  }
  return cachedBlock(ctx, cidrText);
}

interface ClaimState {
  remainingAffine: Versioned<AffinitySpec>[];
  /** The blocks as listed once, to pass over affine blocks that are full without reading each. */
  listed?: Map<string, BlockInfo>;
  owned: number;
  readonly cap: number;
}

/**
 * The node's affine blocks in the usable pools, after releasing (if empty) those in pools that no longer
 * select the node (prepareAffinityBlocksForHost).
 */
async function affineBlocks(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
): Promise<Versioned<AffinitySpec>[]> {
  const all = (await ctx.store.list("BlockAffinity", { node: req.node })).filter(
    (a) =>
      !a.spec.deleted &&
      a.spec.node === req.node &&
      (a.spec.type ?? "host") === "host" &&
      parseCidr(a.spec.cidr)?.family === req.family,
  );
  const usable: Versioned<AffinitySpec>[] = [];
  for (const a of all) {
    const cidr = parseCidr(a.spec.cidr)!;
    if (poolOf(env.pools, cidr) !== undefined) {
      usable.push(a);
      continue;
    }
    const pool = poolOf(
      env.allPools.filter((p) => !p.disabled),
      cidr,
    );
    if (pool === undefined || poolSelectsNode(pool, env.nodeLabels, ctx.match)) continue;
    await releaseBlockAffinity(ctx, req.node, a.spec.cidr, { requireEmpty: true }).catch((e) => {
      if (!isRace(e)) throw e;
    });
  }
  return usable;
}

/**
 * A free block of the pools, walked from this node's start index (findUsableBlock): the first CIDR with no
 * block, or a block already affine to this node with room; failing that, an empty block of another node
 * claimed at least `emptyBlockMinReclaimAgeMs` ago, whose affinity is then released.
 */
async function findUsableBlock(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
): Promise<string | undefined> {
  const blocks = indexBlocks(await ctx.store.list("IPAMBlock"), env.reservations);
  const mine = hostAffinity(req.node);
  const empties: BlockInfo[] = [];
  const wall = ctx.clock.wallTime();
  for (const pool of env.pools) {
    // A walk past every existing block plus some reserved ones finds a free CIDR if there is one.
    let budget = blocks.size + 65536;
    for (const cidr of blockWalk(pool, req.node, wall)) {
      if (budget-- <= 0) break;
      if (env.reservations.coversCidr(cidr)) continue;
      const info = blocks.get(formatCidr(cidr));
      if (info === undefined) return formatCidr(cidr);
      if (info.block.spec.affinity === mine && info.free > 0) return info.block.spec.cidr;
      if (info.empty && info.free > 0) empties.push(info);
    }
  }
  for (const info of empties) {
    const owner = affinityHost(info.block.spec.affinity);
    const claimed = parseTime(info.block.spec.affinityClaimTime) ?? 0;
    if (owner === undefined || wall - claimed < ctx.emptyBlockMinReclaimAgeMs) continue;
    const outcome = await releaseBlockAffinity(ctx, owner, info.block.spec.cidr, {
      requireEmpty: true,
      requiredSequenceNumber: info.block.spec.sequenceNumber,
    }).catch((e) => {
      if (isRace(e)) return "changed" as const;
      throw e;
    });
    if (outcome === "released") return info.block.spec.cidr;
  }
  return undefined;
}

/** An affine block with room, claiming a new one when allowed; undefined when no block is free anywhere. */
async function findOrClaimBlock(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
  state: ClaimState,
): Promise<Versioned<BlockSpec> | undefined> {
  const mine = hostAffinity(req.node);
  while (state.remainingAffine.length > 0) {
    const listedAff = state.remainingAffine.shift()!;
    const cidr = listedAff.spec.cidr;
    if (env.reservations.coversCidr(blockCidr({ cidr }))) continue;
    const confirmed = listedAff.spec.state === "confirmed" || listedAff.spec.state === "";
    // This client's own copy says the block is ours and full: no need to read it again (a copy that
    // is out of date can only hide room, never create it).
    const known = ctx.blocks.get(blockName(cidr));
    if (
      confirmed &&
      known !== undefined &&
      known.spec.affinity === mine &&
      freeCount(known.spec, env.reservations) === 0
    ) {
      continue;
    }
    if (state.remainingAffine.length > 0 && state.listed === undefined) {
      state.listed = indexBlocks(await ctx.store.list("IPAMBlock"), env.reservations);
    }
    // A confirmed affinity of a block listed as ours and full needs no repair and has no room: next.
    const seen = state.listed?.get(cidr);
    if (confirmed && seen !== undefined && seen.block.spec.affinity === mine && seen.free === 0) continue;
    for (let i = 0; i < ctx.retries; i++) {
      const aff = await readAffinity(ctx, affinityName(req.node, cidr));
      if (aff === undefined) break;
      try {
        const got = await blockFromAffinity(ctx, aff, req.hostReserved);
        if (got.kind === "ok" && usable(got.block, env)) return got.block;
        break;
      } catch (e) {
        if (!isRace(e)) throw e;
        await backoff(ctx, i + 1);
      }
    }
  }
  if (state.owned >= state.cap) {
    throw new IpamError(
      "IPAM_BLOCK_LIMIT",
      `cannot allocate new block due to per host block limit: node ${req.node} already has ${state.owned} blocks (limit ${state.cap})`,
      { node: req.node },
    );
  }
  if (!env.config.autoAllocateBlocks) {
    throw new IpamError(
      "IPAM_NO_BLOCK",
      `failed to find or claim a block: the blocks affine to node ${req.node} are full and autoAllocateBlocks is false`,
      { node: req.node },
    );
  }
  for (let i = 0; i < ctx.retries; i++) {
    const subnet = await findUsableBlock(ctx, env, req);
    if (subnet === undefined) return undefined;
    for (let j = 0; j < ctx.retries; j++) {
      try {
        const pending = await pendingAffinity(ctx, req.node, subnet);
        const got = await blockFromAffinity(ctx, pending, req.hostReserved);
        if (got.kind !== "ok") break; // taken by another node: find another block
        state.owned++;
        if (usable(got.block, env)) return got.block;
        break;
      } catch (e) {
        if (!isRace(e)) throw e;
        await backoff(ctx, j + 1);
      }
    }
  }
  throw conflictError(req, "(claiming a new block)");
}

function usable(b: Versioned<BlockSpec>, env: AssignEnv): boolean {
  const r = assignFromBlock(b.spec, 1, undefined, {}, env.reservations);
  return r.ordinals.length > 0;
}

/** Blocks of `pool` that exist, in the order this node walks the pool. */
function walkExisting(
  pool: ResolvedPool,
  node: string,
  wall: number,
  blocks: Map<string, BlockInfo>,
): BlockInfo[] {
  if (numBlocks(pool) === 0n) return [];
  const start = walkStart(pool, node, wall);
  const inPool: { pos: bigint; info: BlockInfo }[] = [];
  for (const info of blocks.values()) {
    const c = blockCidr(info.block.spec);
    if (c.prefixLen !== pool.blockSize || poolOf([pool], c) === undefined) continue;
    inPool.push({ pos: walkPosition(pool, start, c), info });
  }
  return inPool.sort((a, b) => (a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0)).map((x) => x.info);
}

export async function assignFamily(
  ctx: IpamContext,
  env: AssignEnv,
  req: FamilyRequest,
): Promise<FamilyOutcome> {
  const assigned: AssignedAddress[] = [];
  const reasons: string[] = [];
  const key = hintKey(req.node, req.family);
  // Fast path: the affine block that last had room.
  const hint = await hinted(ctx, env, req);
  if (hint !== undefined) {
    assigned.push(...(await assignFrom(ctx, env, req, hint, req.num, true)));
    if (assigned.length === 0) ctx.hints.delete(key);
  }
  // A node that recently found neither room of its own nor a free block borrows where it last did.
  const borrowHint = ctx.borrowHints.get(key);
  if (assigned.length < req.num && borrowHint !== undefined && !env.config.strictAffinity) {
    const cidr = parseCidr(borrowHint.cidr);
    const fresh = ctx.clock.wallTime() - borrowHint.at < ctx.borrowHintMs;
    if (fresh && cidr !== undefined && poolOf(env.pools, cidr) !== undefined) {
      const got = await assignFrom(
        ctx,
        env,
        req,
        await cachedBlock(ctx, borrowHint.cidr),
        req.num - assigned.length,
        false,
      );
      assigned.push(...got);
      if (got.length === 0) ctx.borrowHints.delete(key);
    } else ctx.borrowHints.delete(key);
  }
  if (assigned.length < req.num) {
    const state: ClaimState = {
      remainingAffine: await affineBlocks(ctx, env, req),
      owned: 0,
      cap: blockCap(req, env.config),
    };
    state.owned = state.remainingAffine.length;
    for (let rounds = 0; assigned.length < req.num; rounds++) {
      if (rounds > ctx.retries) throw conflictError(req, "(any block)");
      // IPAM_BLOCK_LIMIT and IPAM_NO_BLOCK end the request, borrowing included, as in Calico.
      const block = await findOrClaimBlock(ctx, env, req, state);
      if (block === undefined) {
        if (env.config.strictAffinity) reasons.push("No more free affine blocks and strict affinity enabled");
        break;
      }
      const got = await assignFrom(ctx, env, req, block, req.num - assigned.length, true);
      if (got.length > 0) ctx.hints.set(key, block.spec.cidr);
      assigned.push(...got);
    }
  }
  if (assigned.length < req.num && !env.config.strictAffinity) {
    // Borrowing (calico#3246): any block of the usable pools with room, in this node's walk order.
    const blocks = indexBlocks(await ctx.store.list("IPAMBlock"), env.reservations);
    const wall = ctx.clock.wallTime();
    for (const pool of env.pools) {
      for (const info of walkExisting(pool, req.node, wall, blocks)) {
        if (assigned.length >= req.num) break;
        if (info.free === 0) continue;
        const got = await assignFrom(ctx, env, req, info.block, req.num - assigned.length, false);
        if (got.length > 0)
          ctx.borrowHints.set(key, { cidr: info.block.spec.cidr, at: ctx.clock.wallTime() });
        assigned.push(...got);
      }
    }
  }
  if (assigned.length < req.num) {
    reasons.push(`No IPs available in pools: [${env.pools.map((p) => p.cidrText).join(" ")}]`);
  }
  return { assigned, reasons };
}
