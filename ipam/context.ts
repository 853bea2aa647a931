/**
 * What every IPAM operation shares: the store, the inputs, the clock, the retry budget, a cache of the
 * blocks this client last read or wrote (so a write can go out without reading first; the CAS catches a
 * stale copy), and the one place a block is written together with its handle's count. Block writes bump
 * the block's sequence number (ipam_block_reader_writer.go updateBlock). With an atomic `commit` the
 * block and the handle change in one transaction; without one (Kubernetes), Calico's order: on assign
 * the handle first and the block second, undoing the handle if the block's CAS fails (ipam.go
 * assignFromExistingBlock); on release the block first and the handle second (releaseIPsFromBlock).
 *
 * A write can fail without saying whether it was applied (the connection dropped after the datastore
 * committed it). Such a write is never guessed at: the client forgets what it cached for the keys it
 * wrote, reads them back (reads wait out an outage of up to `outcomeWaitMs`) and decides from
 * what is stored. A block write landed when every ordinal it changed now holds what it wrote (an
 * allocation is recognised by handle and sequence number, so a later writer cannot fake it); a handle
 * write landed when the handle's counts are what it wrote. Writes that are safe to redo from a fresh
 * read (claims, affinity changes) are handed back as lost races instead (`redoable`): the caller's
 * retry loop re-reads and decides again. When the read-back also fails, the operation fails with
 * DATASTORE_IO saying the outcome is unknown; whatever landed is held by the caller's handle, so a
 * release by handle (a CNI DEL) recovers it.
 */

import { nextSequenceNumber } from "./block.js";
import type { Clock } from "./clock.js";
import { isBranded, isUnknownOutcome, StoreError } from "./errors.js";
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
  /**
   * How long a read that fails with DATASTORE_IO is retried (`patiently`): an operation rides out an
   * outage this long, and a write whose outcome was lost is settled within it.
   */
  readonly outcomeWaitMs: number;
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

/**
 * Adds `delta` to a handle's count for `cidr` on its own, with CAS retries (incrementHandle/decrementHandle).
 * A write of unknown outcome is read back: counts as written mean it landed; anything else is retried
 * from what is stored (a concurrent writer of the same handle, which only the same pod's own requests
 * would be, could then be counted twice: Calico has the same window).
 */
export async function adjustHandle(
  ctx: IpamContext,
  handleId: string,
  cidr: string,
  delta: number,
): Promise<void> {
  let current = ctx.handles.get(handleName(handleId));
  // Without a cached copy a decrement must read first: written blind it would be "nothing to decrement".
  if (current === undefined && delta < 0) current = await readHandle(ctx, handleId);
  for (let i = 0; i < ctx.retries; i++) {
    const w = handleWrite(current, adjusted(current?.spec, handleId, cidr, delta), handleId);
    if (w === undefined) return;
    try {
      const v = await applyOne(ctx, w);
      if (v === undefined) ctx.handles.delete(w.name);
      else ctx.handles.set(w.name, v as Versioned<HandleSpec>);
      return;
    } catch (e) {
      ctx.handles.delete(w.name);
      if (isRace(e)) {
        await backoff(ctx, i + 1);
        current = await readHandle(ctx, handleId);
      } else if (isUnknownOutcome(e)) {
        current = await readBack(`write of handle ${handleId}`, e, () => readHandle(ctx, handleId));
        if (handleWriteLanded(w, current)) return;
      } else throw e;
      if (current === undefined && delta < 0) return; // nothing left to decrement
    }
  }
  throw new Error(`handle ${handleId}: compare-and-swap retries exhausted`);
}

/** Whether a handle write is what is stored now (`now` read after the write's outcome was lost). Pure. */
export function handleWriteLanded(w: StoreWrite, now: Versioned<HandleSpec> | undefined): boolean {
  if (w.op === "delete") return now === undefined;
  if (now === undefined) return false;
  if (w.op === "update" && now.revision === w.revision) return false;
  return sameContent(now.spec.block, (w.spec as HandleSpec).block);
}

/** Equal as stored: backends may drop undefined fields and reorder keys. Pure. */
export function sameContent(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : 1)))
      : x,
  );
}

/**
 * Deletes an object if it is still at `revision`, settling a lost reply by reading back: true when it is
 * gone, false when someone else changed or deleted it first. For deletes whose caller would otherwise
 * take "lost race" for "done" (a quiet cleanup), where a delete that never landed must be retried.
 */
export async function deleteIfUnchanged(
  ctx: IpamContext,
  kind: IpamKind,
  name: string,
  revision: string,
): Promise<boolean> {
  for (let i = 0; i < ctx.retries; i++) {
    try {
      await ctx.store.delete(kind, name, revision);
      return true;
    } catch (e) {
      if (isRace(e)) return false;
      if (!isUnknownOutcome(e)) throw e;
      if (kind === "IPAMBlock") ctx.blocks.delete(name);
      if (kind === "IPAMHandle") ctx.handles.delete(name);
      const now = await readBack(`delete of ${kind}(${name})`, e, () => ctx.store.get(kind, name));
      if (now === undefined) return true;
      if (now.revision !== revision) return false;
    }
  }
  throw new Error(`${kind}(${name}): delete retries exhausted`);
}

/**
 * Runs a write that is safe to redo from a fresh read (a claim step, an affinity change, a repair): a
 * failure of unknown outcome forgets the cached copies of `keys` and is reported as a lost race, so that
 * the caller's retry loop reads again and decides from what is stored.
 */
export async function redoable<T>(
  ctx: IpamContext,
  keys: readonly { readonly kind: IpamKind; readonly name: string }[],
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (!isUnknownOutcome(e)) throw e;
    for (const k of keys) {
      if (k.kind === "IPAMBlock") ctx.blocks.delete(k.name);
      else if (k.kind === "IPAMHandle") ctx.handles.delete(k.name);
    }
    const what = keys.map((k) => `${k.kind}(${k.name})`).join(", ");
    throw new StoreError(
      "DATASTORE_CONFLICT",
      `${what}: outcome of the write unknown (${(e as Error).message}); reading it again`,
      undefined,
      { cause: e },
    );
  }
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
 * friends) when the block changed since `from` was read, or when a write whose outcome was unknown turns
 * out not to have been applied; the caller re-reads and retries. The block cache is updated either way.
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
  const blockAlone = () => applyOne(ctx, blockOp) as Promise<Versioned<BlockSpec> | undefined>;
  if (h === undefined || h.delta === 0) return settleBlock(ctx, change, blockOp, blockAlone);
  if (ctx.store.commit !== undefined) {
    return settleBlock(ctx, change, blockOp, () =>
      commitWithHandle(ctx, name, change.from.spec.cidr, blockOp, h),
    );
  }
  const cidr = change.from.spec.cidr;
  if (h.delta > 0) {
    await adjustHandle(ctx, h.id, cidr, h.delta);
    try {
      return await settleBlock(ctx, change, blockOp, blockAlone);
    } catch (e) {
      // Only a block write known not to have landed may take the handle's count back; when its outcome
      // is unknown the count stays, so that an allocation that did land is still held by its handle.
      if (isRace(e)) await adjustHandle(ctx, h.id, cidr, -h.delta);
      throw e;
    }
  }
  const v = await settleBlock(ctx, change, blockOp, blockAlone);
  await adjustHandle(ctx, h.id, cidr, h.delta);
  return v;
}

/**
 * Runs a block write (with its handle, in one transaction, where the store can). A lost race drops the
 * cached copy and is rethrown; a failure of unknown outcome is settled by reading the block back.
 */
async function settleBlock(
  ctx: IpamContext,
  change: BlockChange,
  blockOp: StoreWrite,
  write: () => Promise<Versioned<BlockSpec> | undefined>,
): Promise<Versioned<BlockSpec> | undefined> {
  const name = blockOp.name;
  try {
    return remember(ctx, name, await write());
  } catch (e) {
    ctx.blocks.delete(name);
    if (!isUnknownOutcome(e)) throw e;
    if (change.handle !== undefined) ctx.handles.delete(handleName(change.handle.id));
    const cidr = change.from.spec.cidr;
    const now = await readBack(`write of block ${cidr}`, e, () => readBlock(ctx, cidr));
    const intended = blockOp.op === "delete" ? "delete" : (blockOp.spec as BlockSpec);
    if (blockWriteLanded(change.from.spec, intended, now?.spec)) return now;
    throw new StoreError(
      "DATASTORE_CONFLICT",
      `block ${cidr}: the write was not applied (${(e as Error).message})`,
      now,
    );
  }
}

/** Who holds an ordinal, as a write can be recognised by: handle and allocation sequence number. */
function holder(b: BlockSpec, ordinal: number): string {
  const idx = b.allocations[ordinal];
  if (idx === null || idx === undefined) return "";
  const handle = b.attributes[idx]?.handle_id ?? "";
  return `${handle}#${b.sequenceNumberForAllocation?.[String(ordinal)] ?? 0}`;
}

/**
 * Whether a block write from `from` to `to` is in the stored block `now`. A deletion landed when the
 * block is gone. Otherwise, by the ordinals it changed: each it allocated holds its allocation (handle
 * and sequence number, which no other write produces), each it freed no longer holds the old one. A write
 * that changed no ordinal (an affinity change, a touch) landed when the block is exactly what it wrote.
 * Pure.
 */
export function blockWriteLanded(
  from: BlockSpec,
  to: BlockSpec | "delete",
  now: BlockSpec | undefined,
): boolean {
  if (to === "delete") return now === undefined;
  if (now === undefined) return false;
  const changed: number[] = [];
  const n = Math.max(from.allocations.length, to.allocations.length);
  for (let o = 0; o < n; o++) if (holder(from, o) !== holder(to, o)) changed.push(o);
  if (changed.length === 0) return sameContent(now, to);
  return changed.every((o) => {
    const wanted = holder(to, o);
    return wanted === "" ? holder(now, o) !== holder(from, o) : holder(now, o) === wanted;
  });
}

/**
 * Reads back what a write of unknown outcome touched (the store's reads already wait out a blip, see
 * `patientStore`); when even that fails, gives up with DATASTORE_IO naming the write.
 */
export async function readBack<T>(what: string, failure: unknown, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (!isUnknownOutcome(e)) throw e;
    throw new StoreError(
      "DATASTORE_IO",
      `${what}: outcome unknown: the write failed (${(failure as Error).message}) and reading it back failed too (${(e as Error).message})`,
      undefined,
      { cause: e },
    );
  }
}

/**
 * Runs a read, retrying while it fails with DATASTORE_IO (a dropped connection, a restarting server) for
 * up to `waitMs` and at most 200 attempts, with the lost-race backoff between attempts. IPAM's reads go
 * through this so that an operation rides out a short outage (an etcd leader election, an API server
 * restart) instead of failing half-way through a claim.
 */
export async function patiently<T>(
  clock: Clock,
  backoffMs: number,
  waitMs: number,
  read: () => Promise<T>,
): Promise<T> {
  const start = clock.now();
  for (let i = 1; ; i++) {
    try {
      return await read();
    } catch (e) {
      if (!isUnknownOutcome(e) || i >= 200 || clock.now() - start >= waitMs) throw e;
    }
    if (backoffMs > 0) {
      const ms = Math.random() * backoffMs * 2 ** Math.min(i - 1, 6);
      await new Promise<void>((resolve) => clock.setTimer(ms, resolve));
    }
  }
}

/** `store` with patient reads (`patiently`); writes pass straight through. */
export function patientStore(store: IpamStore, clock: Clock, backoffMs: number, waitMs: number): IpamStore {
  const wait = <T>(read: () => Promise<T>) => patiently(clock, backoffMs, waitMs, read);
  return {
    get: (kind, name) => wait(() => store.get(kind, name)),
    list: (kind, filter) => wait(() => store.list(kind, filter)),
    create: (kind, name, spec, labels) => store.create(kind, name, spec, labels),
    update: (kind, name, spec, revision, labels) => store.update(kind, name, spec, revision, labels),
    delete: (kind, name, revision) => store.delete(kind, name, revision),
    ...(store.commit !== undefined ? { commit: store.commit.bind(store) } : {}),
  };
}

/** `inputs` with patient reads. */
export function patientInputs(
  inputs: IpamInputs,
  clock: Clock,
  backoffMs: number,
  waitMs: number,
): IpamInputs {
  const wait = <T>(read: () => Promise<T>) => patiently(clock, backoffMs, waitMs, read);
  return {
    pools: () => wait(() => inputs.pools()),
    config: () => wait(() => inputs.config()),
    reservedCidrs: () => wait(() => inputs.reservedCidrs()),
    node: (name) => wait(() => inputs.node(name)),
  };
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
