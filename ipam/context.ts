/**
 * What every IPAM operation shares: the store, the inputs, the clock, the retry budget, a cache of the
 * blocks this client last read or wrote (so a write can go out without reading first; the CAS catches a
 * stale copy), and the one place a block is written together with its handle's count. Block writes bump
 * the block's sequence number (ipam_block_reader_writer.go updateBlock). With an atomic `commit` the
 * block and the handle change in one transaction; without one (Kubernetes), Calico's order: on assign
 * the handle first and the block second, undoing the handle if the block's CAS fails (ipam.go
 * assignFromExistingBlock); on release the block first and the handle second (releaseIPsFromBlock).
 */

import { nextSequenceNumber } from "./block.js";
import type { Clock } from "./clock.js";
import { isBranded } from "./errors.js";
import type { AffinitySpec, BlockSpec, HandleSpec } from "./model.js";
import { blockName, handleName } from "./names.js";
import type { SelectorMatcher } from "./pools.js";
import type { IpamInputs, IpamKind, IpamStore, KindSpecs, StoreWrite, Versioned } from "./store.js";

export interface IpamContext {
  readonly store: IpamStore;
  readonly inputs: IpamInputs;
  readonly match: SelectorMatcher;
  readonly clock: Clock;
  /** Attempts per compare-and-swap loop (Calico's datastoreRetries = 100). */
  readonly retries: number;
  /**
   * Base of the randomised exponential backoff after a lost CAS (0: retry at once). Without it a writer
   * that never needs to read first (the fast path) can starve the others on one block.
   */
  readonly backoffMs: number;
  /** An empty block claimed longer ago than this may be reclaimed by another node (EmptyBlockMinReclaimAge). */
  readonly emptyBlockMinReclaimAgeMs: number;
  /** Blocks as last read or written by this client, by name. */
  readonly blocks: Map<string, Versioned<BlockSpec>>;
  /** Per node and family, the affine block that last had room (the allocation fast path). */
  readonly hints: Map<string, string>;
  /**
   * Per node and family, the block last borrowed from and when (wall ms): while the node has no room of
   * its own and the pools no free block, it borrows from there again for up to `borrowHintMs` before
   * looking for affine and free blocks once more.
   */
  readonly borrowHints: Map<string, { readonly cidr: string; readonly at: number }>;
  readonly borrowHintMs: number;
  /** Handles this client last wrote, by name, so a second write needs no read. */
  readonly handles: Map<string, Versioned<HandleSpec>>;
  /**
   * Per block name, when (monotonic ms) this client last lost a race on it. For `contendedMs` after that
   * the block is read before each write instead of written from the cache: a client that never reads
   * answers faster than one that must, and on a block several writers share it would win every round
   * and starve the others until their retries ran out.
   */
  readonly contended: Map<string, number>;
  readonly contendedMs: number;
}

/**
 * Waits before retry `attempt` (1, 2, ...) of a lost compare-and-swap: a random time up to
 * backoffMs * 2^(attempt-1), capped at 64 times the base, on the injected clock.
 */
export async function backoff(ctx: IpamContext, attempt: number): Promise<void> {
  if (attempt <= 0 || ctx.backoffMs <= 0) return;
  const ms = Math.random() * ctx.backoffMs * 2 ** Math.min(attempt - 1, 6);
  await new Promise<void>((resolve) => ctx.clock.setTimer(ms, resolve));
}

export const isConflict = (e: unknown): boolean => isBranded(e, "DATASTORE_CONFLICT");
export const isNotFound = (e: unknown): boolean => isBranded(e, "DATASTORE_NOT_FOUND");
export const isExists = (e: unknown): boolean => isBranded(e, "DATASTORE_ALREADY_EXISTS");
/** A write lost a race: retry from a fresh read. */
export const isRace = (e: unknown): boolean => isConflict(e) || isNotFound(e) || isExists(e);

/** Objects marked `deleted` (the Kubernetes backend's soft delete) are treated as absent, as Calico does. */
function live<T extends { deleted?: boolean }>(v: Versioned<T> | undefined): Versioned<T> | undefined {
  return v === undefined || v.spec.deleted === true ? undefined : v;
}

export async function readBlock(ctx: IpamContext, cidr: string): Promise<Versioned<BlockSpec> | undefined> {
  const name = blockName(cidr);
  const b = live(await ctx.store.get("IPAMBlock", name));
  if (b === undefined) ctx.blocks.delete(name);
  else ctx.blocks.set(name, b);
  return b;
}

/** The cached copy when there is one and the block is not contended, else a read. */
export async function cachedBlock(ctx: IpamContext, cidr: string): Promise<Versioned<BlockSpec> | undefined> {
  const name = blockName(cidr);
  const lost = ctx.contended.get(name);
  if (lost !== undefined) {
    if (ctx.clock.now() - lost < ctx.contendedMs) return readBlock(ctx, cidr);
    ctx.contended.delete(name);
  }
  return ctx.blocks.get(name) ?? readBlock(ctx, cidr);
}

/** After a lost race: the object the conflict carried, else a fresh read. */
export async function refreshBlock(
  ctx: IpamContext,
  cidr: string,
  error: unknown,
): Promise<Versioned<BlockSpec> | undefined> {
  ctx.contended.set(blockName(cidr), ctx.clock.now());
  const current = (error as { current?: Versioned<BlockSpec> }).current;
  if (isConflict(error) && current !== undefined && current.spec?.cidr !== undefined) {
    const v = live(current);
    if (v !== undefined) {
      ctx.blocks.set(blockName(cidr), v);
      return v;
    }
  }
  ctx.blocks.delete(blockName(cidr));
  return readBlock(ctx, cidr);
}

export async function readAffinity(
  ctx: IpamContext,
  name: string,
): Promise<Versioned<AffinitySpec> | undefined> {
  return live(await ctx.store.get("BlockAffinity", name));
}

export async function readHandle(
  ctx: IpamContext,
  handleId: string,
): Promise<Versioned<HandleSpec> | undefined> {
  const name = handleName(handleId);
  const h = live(await ctx.store.get("IPAMHandle", name));
  if (h === undefined) ctx.handles.delete(name);
  else ctx.handles.set(name, h);
  return h;
}

/** A handle's block map with `delta` applied to `cidr` (zero counts removed). */
function adjusted(spec: HandleSpec | undefined, handleId: string, cidr: string, delta: number): HandleSpec {
  const block = { ...(spec?.block ?? {}) };
  const n = (block[cidr] ?? 0) + delta;
  if (n > 0) block[cidr] = n;
  else delete block[cidr];
  return { handleID: spec?.handleID ?? handleId, block, deleted: false };
}

function handleWrite(
  current: Versioned<HandleSpec> | undefined,
  next: HandleSpec,
  handleId: string,
): StoreWrite | undefined {
  const name = handleName(handleId);
  if (current === undefined) {
    return Object.keys(next.block).length === 0
      ? undefined
      : { op: "create", kind: "IPAMHandle", name, spec: next };
  }
  if (Object.keys(next.block).length === 0) {
    return { op: "delete", kind: "IPAMHandle", name, revision: current.revision };
  }
  return { op: "update", kind: "IPAMHandle", name, spec: next, revision: current.revision };
}

async function applyOne(
  ctx: IpamContext,
  w: StoreWrite,
): Promise<Versioned<KindSpecs[IpamKind]> | undefined> {
  switch (w.op) {
    case "create":
      return ctx.store.create(w.kind, w.name, w.spec, w.labels);
    case "update":
      return ctx.store.update(w.kind, w.name, w.spec, w.revision, w.labels);
    case "delete":
      await ctx.store.delete(w.kind, w.name, w.revision);
      return undefined;
  }
}

/** Adds `delta` to a handle's count for `cidr` on its own, with CAS retries (incrementHandle/decrementHandle). */
export async function adjustHandle(
  ctx: IpamContext,
  handleId: string,
  cidr: string,
  delta: number,
): Promise<void> {
  let current = ctx.handles.get(handleName(handleId));
  for (let i = 0; i < ctx.retries; i++) {
    const w = handleWrite(current, adjusted(current?.spec, handleId, cidr, delta), handleId);
    if (w === undefined) return;
    try {
      const v = await applyOne(ctx, w);
      if (v === undefined) ctx.handles.delete(w.name);
      else ctx.handles.set(w.name, v as Versioned<HandleSpec>);
      return;
    } catch (e) {
      if (!isRace(e)) throw e;
      await backoff(ctx, i + 1);
      current = await readHandle(ctx, handleId);
      if (current === undefined && delta < 0) return; // nothing left to decrement
    }
  }
  throw new Error(`handle ${handleId}: compare-and-swap retries exhausted`);
}

export interface BlockChange {
  /** The block as read (its revision is the CAS condition). */
  readonly from: Versioned<BlockSpec>;
  /** The new content, or "delete". */
  readonly to: BlockSpec | "delete";
  /** The handle whose count for this block changes, and by how much. */
  readonly handle?: { readonly id: string; readonly delta: number };
}

/**
 * Writes a block change and its handle count. Throws the store's race errors (DATASTORE_CONFLICT and
 * friends) when the block changed since `from` was read; the caller re-reads and retries. The block cache
 * is updated either way.
 */
export async function writeBlock(
  ctx: IpamContext,
  change: BlockChange,
): Promise<Versioned<BlockSpec> | undefined> {
  const name = blockName(change.from.spec.cidr);
  const blockOp: StoreWrite =
    change.to === "delete"
      ? { op: "delete", kind: "IPAMBlock", name, revision: change.from.revision }
      : {
          op: "update",
          kind: "IPAMBlock",
          name,
          spec: { ...change.to, sequenceNumber: nextSequenceNumber(change.to.sequenceNumber) },
          revision: change.from.revision,
        };
  const h = change.handle;
  try {
    if (h === undefined || h.delta === 0) {
      const v = (await applyOne(ctx, blockOp)) as Versioned<BlockSpec> | undefined;
      return remember(ctx, name, v);
    }
    if (ctx.store.commit !== undefined) {
      return await commitWithHandle(ctx, name, change.from.spec.cidr, blockOp, h);
    }
    if (h.delta > 0) {
      await adjustHandle(ctx, h.id, change.from.spec.cidr, h.delta);
      try {
        return remember(ctx, name, (await applyOne(ctx, blockOp)) as Versioned<BlockSpec> | undefined);
      } catch (e) {
        await adjustHandle(ctx, h.id, change.from.spec.cidr, -h.delta);
        throw e;
      }
    }
    const v = remember(ctx, name, (await applyOne(ctx, blockOp)) as Versioned<BlockSpec> | undefined);
    await adjustHandle(ctx, h.id, change.from.spec.cidr, h.delta);
    return v;
  } catch (e) {
    if (isRace(e)) ctx.blocks.delete(name);
    throw e;
  }
}

function remember(
  ctx: IpamContext,
  name: string,
  v: Versioned<BlockSpec> | undefined,
): Versioned<BlockSpec> | undefined {
  if (v === undefined) ctx.blocks.delete(name);
  else ctx.blocks.set(name, v);
  return v;
}

/**
 * Block and handle in one transaction. The handle is written from the cached copy when there is one and
 * created blind otherwise (a new pod's handle never exists yet); a lost guess costs one read and a retry.
 */
async function commitWithHandle(
  ctx: IpamContext,
  name: string,
  cidr: string,
  blockOp: StoreWrite,
  h: { readonly id: string; readonly delta: number },
): Promise<Versioned<BlockSpec> | undefined> {
  const hname = handleName(h.id);
  let current = ctx.handles.get(hname);
  if (current === undefined && h.delta < 0) current = await readHandle(ctx, h.id);
  for (let i = 0; i < ctx.retries; i++) {
    const hw = handleWrite(current, adjusted(current?.spec, h.id, cidr, h.delta), h.id);
    const writes = hw === undefined ? [blockOp] : [blockOp, hw];
    try {
      const results = await ctx.store.commit!(writes);
      if (hw !== undefined) {
        const hv = results[1];
        if (hv === undefined) ctx.handles.delete(hname);
        else ctx.handles.set(hname, hv as Versioned<HandleSpec>);
      }
      return remember(ctx, name, results[0] as Versioned<BlockSpec> | undefined);
    } catch (e) {
      if (!isRace(e)) throw e;
      // Was it the block or the handle? Re-read the handle; if the block is what changed, its CAS fails
      // again with the fresh handle and the caller re-reads the block.
      const fresh = await readHandle(ctx, h.id);
      if (sameRevision(fresh, current)) throw e;
      current = fresh;
    }
  }
  throw new Error(`handle ${h.id}: compare-and-swap retries exhausted`);
}

function sameRevision(a: Versioned<unknown> | undefined, b: Versioned<unknown> | undefined): boolean {
  return a?.revision === b?.revision;
}
