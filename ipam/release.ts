/**
 * Releasing addresses, Calico's ReleaseIPs and ReleaseByHandle (libcalico-go/lib/ipam/ipam.go
 * releaseIPsFromBlock, releaseByHandle, decrementHandle): addresses are grouped by block (found through
 * their pool, or by scanning the blocks when no pool holds them any more), each block is released with one
 * CAS (retried from fresh reads), a stale sequence number or handle refuses the release (ABA protection),
 * and the handles' counts go down with the block (in one transaction where the store has them). An
 * unaffine block left empty is deleted (Calico). tabby also gives an affine block's affinity up as soon
 * as it is empty, where Calico leaves that to kube-controllers' GC: a node keeps no block it does not use.
 */
import {
  allocationsOf,
  isEmpty,
  type ReleaseRequest,
  releaseFromBlock,
  releaseHandleFromBlock,
} from "./block.js";
import { releaseBlockAffinity } from "./claim.js";
import {
  adjustHandle,
  backoff,
  cachedBlock,
  deleteIfUnchanged,
  type IpamContext,
  isRace,
  readBlock,
  readHandle,
  refreshBlock,
  writeBlock,
} from "./context.js";
import { IpamError } from "./errors.js";
import { cidrContains, formatAddr, formatCidr, parseAddr, parseCidr } from "./ip.js";
import { affinityHost, type BlockSpec, sanitizeHandle } from "./model.js";
import { handleName } from "./names.js";
import { blockOf, poolOf, type ResolvedPool, resolvePools } from "./pools.js";
import type { Versioned } from "./store.js";

export interface ReleaseOutcome {
  readonly released: string[];
  /** Addresses that were not allocated (already released, or in no block). */
  readonly notAllocated: string[];
}

/** After a block write: an affine block that is now empty gives its affinity up (best effort). */
async function releaseIfEmpty(ctx: IpamContext, written: BlockSpec | "deleted"): Promise<void> {
  if (written === "deleted" || !isEmpty(written)) return;
  const node = affinityHost(written.affinity);
  if (node === undefined) return;
  try {
    await releaseBlockAffinity(ctx, node, written.cidr, { requireEmpty: true });
  } catch (e) {
    // Someone is using the block again, or released it first: both fine.
    if (!isRace(e) && !(e instanceof IpamError)) throw e;
  }
}

/** The new state of a block after a release: deleted when empty and unaffine (releaseIPsFromBlock). */
function afterRelease(b: BlockSpec): BlockSpec | "delete" {
  return isEmpty(b) && b.affinity === undefined ? "delete" : b;
}

/** Releases addresses of one block; one CAS for the block plus the handles' counts. */
async function releaseInBlock(
  ctx: IpamContext,
  cidr: string,
  requests: readonly ReleaseRequest[],
): Promise<ReleaseOutcome> {
  let vb: Versioned<BlockSpec> | undefined = await cachedBlock(ctx, cidr);
  let fresh = false;
  for (let i = 0; i < ctx.retries; i++) {
    const r = vb === undefined ? undefined : releaseFromBlock(vb.spec, requests);
    if (vb === undefined || r === undefined || r.released.length === 0) {
      // A cached copy may be older than another client's allocation, or than a write of ours whose
      // reply was lost: only a fresh read may say there is nothing to release.
      if (!fresh) {
        vb = await readBlock(ctx, cidr);
        fresh = true;
        continue;
      }
      return {
        released: [],
        notAllocated: r === undefined ? requests.map((q) => q.address) : [...r.notAllocated],
      };
    }
    const to = afterRelease(r.block);
    const handles = [...r.countByHandle];
    try {
      // One handle rides with the block's write; further ones (rare: one request, several pods) follow.
      await writeBlock(ctx, {
        from: vb,
        to,
        ...(handles[0] !== undefined ? { handle: { id: handles[0][0], delta: -handles[0][1] } } : {}),
      });
    } catch (e) {
      if (!isRace(e)) throw e;
      await backoff(ctx, i + 1);
      vb = await refreshBlock(ctx, cidr, e);
      fresh = true;
      continue;
    }
    for (const [id, n] of handles.slice(1)) await adjustHandle(ctx, id, cidr, -n);
    await releaseIfEmpty(ctx, to === "delete" ? "deleted" : to);
    return { released: [...r.released], notAllocated: [...r.notAllocated] };
  }
  throw new IpamError(
    "IPAM_BLOCK_CONFLICT",
    `Max retries hit - excessive concurrent IPAM requests: block ${cidr} kept changing during release`,
    {
      block: cidr,
    },
  );
}

/** The block holding `address`: through the pools, else by scanning the blocks (pool deleted). */
async function blockFor(
  pools: readonly ResolvedPool[],
  address: string,
  scan: () => Promise<readonly Versioned<BlockSpec>[]>,
): Promise<string | undefined> {
  const a = parseAddr(address)!;
  const pool = poolOf(pools, a);
  if (pool !== undefined) return formatCidr(blockOf(pool, a));
  for (const b of await scan()) {
    const c = parseCidr(b.spec.cidr);
    if (c !== undefined && !b.spec.deleted && cidrContains(c, a)) return b.spec.cidr;
  }
  return undefined;
}

/** ReleaseIPs: blocks released in parallel; the first error is thrown after all have finished. */
export async function releaseAddresses(
  ctx: IpamContext,
  requests: readonly ReleaseRequest[],
): Promise<ReleaseOutcome> {
  const pools = resolvePools(await ctx.inputs.pools());
  let scanned: readonly Versioned<BlockSpec>[] | undefined;
  const scan = async () => {
    scanned ??= await ctx.store.list("IPAMBlock");
    return scanned;
  };
  const byBlock = new Map<string, ReleaseRequest[]>();
  const notAllocated: string[] = [];
  for (const r of requests) {
    const a = parseAddr(r.address);
    if (a === undefined) {
      throw new IpamError("IPAM_INVALID_REQUEST", `invalid IP address ${JSON.stringify(r.address)}`, {
        address: r.address,
      });
    }
    const address = formatAddr(a);
    const norm: ReleaseRequest = {
      ...r,
      address,
      ...(r.handle !== undefined ? { handle: sanitizeHandle(r.handle) } : {}),
    };
    const cidr = await blockFor(pools, address, scan);
    if (cidr === undefined) {
      notAllocated.push(address);
      continue;
    }
    byBlock.set(cidr, [...(byBlock.get(cidr) ?? []), norm]);
  }
  const results = await Promise.allSettled(
    [...byBlock].map(([cidr, reqs]) => releaseInBlock(ctx, cidr, reqs)),
  );
  const released: string[] = [];
  let failure: unknown;
  for (const r of results) {
    if (r.status === "rejected") failure ??= r.reason;
    else {
      released.push(...r.value.released);
      notAllocated.push(...r.value.notAllocated);
    }
  }
  if (failure !== undefined) throw failure;
  return { released, notAllocated };
}

/** Releases every address of a handle (ReleaseByHandle); IPAM_HANDLE_NOT_FOUND when it does not exist. */
export async function releaseHandle(ctx: IpamContext, handleId: string): Promise<string[]> {
  const id = sanitizeHandle(handleId);
  const handle = await readHandle(ctx, id);
  if (handle === undefined) {
    throw new IpamError("IPAM_HANDLE_NOT_FOUND", `resource does not exist: IPAMHandle(${handleName(id)})`, {
      handle: id,
    });
  }
  const released: string[] = [];
  for (const cidr of Object.keys(handle.spec.block)) {
    released.push(...(await releaseHandleInBlock(ctx, id, cidr)));
  }
  // What is left of the handle names blocks that no longer hold its addresses: drop it. (The blocks were
  // all read fresh above before their counts were dropped.)
  const rest = await readHandle(ctx, id);
  if (rest !== undefined && allGone(rest.spec.block)) {
    await deleteIfUnchanged(ctx, "IPAMHandle", rest.name, rest.revision);
    ctx.handles.delete(rest.name);
  }
  return released;
}

function allGone(counts: Record<string, number>): boolean {
  return Object.values(counts).every((n) => n <= 0);
}

async function releaseHandleInBlock(ctx: IpamContext, id: string, cidr: string): Promise<string[]> {
  let vb = await cachedBlock(ctx, cidr);
  let fresh = false;
  for (let i = 0; i < ctx.retries; i++) {
    const r = vb === undefined ? undefined : releaseHandleFromBlock(vb.spec, id);
    if (vb === undefined || r === undefined || r.released.length === 0) {
      // The handle's count for this block is dropped only when a fresh read shows the block holds none
      // of its addresses: a stale copy would leave an allocation that no handle can release.
      if (!fresh) {
        vb = await readBlock(ctx, cidr);
        fresh = true;
        continue;
      }
      await dropBlockFromHandle(ctx, id, cidr);
      return [];
    }
    const to = afterRelease(r.block);
    try {
      await writeBlock(ctx, { from: vb, to, handle: { id, delta: -r.released.length } });
    } catch (e) {
      if (!isRace(e)) throw e;
      await backoff(ctx, i + 1);
      vb = await refreshBlock(ctx, cidr, e);
      fresh = true;
      continue;
    }
    await releaseIfEmpty(ctx, to === "delete" ? "deleted" : to);
    return [...r.released];
  }
  throw new IpamError(
    "IPAM_BLOCK_CONFLICT",
    `Max retries hit - excessive concurrent IPAM requests: block ${cidr} kept changing while releasing handle ${id}`,
    {
      block: cidr,
      handle: id,
    },
  );
}

/** The handle counted addresses in a block that holds none of them: set its count there to zero. */
async function dropBlockFromHandle(ctx: IpamContext, id: string, cidr: string): Promise<void> {
  const h = await readHandle(ctx, id);
  const n = h?.spec.block[cidr];
  if (n !== undefined && n > 0) await adjustHandle(ctx, id, cidr, -n);
}

/** Every address a handle holds (IPsByHandle), from the blocks its record names. */
export async function addressesOfHandle(ctx: IpamContext, handleId: string): Promise<string[]> {
  const id = sanitizeHandle(handleId);
  const handle = await readHandle(ctx, id);
  if (handle === undefined) {
    throw new IpamError("IPAM_HANDLE_NOT_FOUND", `resource does not exist: IPAMHandle(${handleName(id)})`, {
      handle: id,
    });
  }
  const out: string[] = [];
  for (const cidr of Object.keys(handle.spec.block)) {
    const b = await readBlock(ctx, cidr);
    if (b === undefined) continue;
    for (const a of allocationsOf(b.spec)) if (a.handle === id) out.push(a.address);
  }
  return out;
}
