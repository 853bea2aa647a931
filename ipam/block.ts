/**
 * Block arithmetic, Calico's allocationBlock (libcalico-go/lib/ipam/ipam_block.go, model/block.go): a new
 * block's layout (one allocation slot per address, every ordinal in the `unallocated` FIFO, Windows'
 * reserved first/last addresses pre-allocated), taking addresses from the FIFO's head while skipping
 * IPReservations, assigning one given address, releasing to the FIFO's tail with the handle and
 * sequence-number checks, attribute de-duplication and reference-counted clean-up, and the checks
 * `calicoctl ipam check` applies. Pure: every function returns a new block and leaves its input alone.
 * The sequence number is bumped by the writer (client.ts), as Calico's updateBlock does, not here.
 */
import { IpamError } from "./errors.js";
import {
  type Addr,
  type Cidr,
  cidrSize,
  formatAddr,
  formatCidr,
  nthAddr,
  ordinalOf,
  parseAddr,
  parseCidr,
} from "./ip.js";
import {
  type AllocationAttribute,
  type BlockSpec,
  type HostReservedAttr,
  sanitizeHandle,
  WINDOWS_RESERVED_HANDLE,
} from "./model.js";
import type { AddressFilter } from "./reservations.js";

/** The largest block ipam handles (src/api refuses bigger ones too): 2^16 slots. */
export const MAX_BLOCK_ADDRESSES = 65536;

/** Parsed block CIDRs: every block operation needs its CIDR, and a node uses few blocks many times. */
const parsed = new Map<string, Cidr>();

export function blockCidr(b: Pick<BlockSpec, "cidr">): Cidr {
  let c = parsed.get(b.cidr);
  if (c !== undefined) return c;
  c = parseCidr(b.cidr);
  if (c === undefined) throw new Error(`block has an invalid cidr ${JSON.stringify(b.cidr)}`);
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(b.cidr, c);
  return c;
}

export function blockSize(b: Pick<BlockSpec, "cidr">): number {
  return Number(cidrSize(blockCidr(b)));
}

export function addressOf(b: Pick<BlockSpec, "cidr">, ordinal: number): string {
  return formatAddr(nthAddr(blockCidr(b), ordinal));
}

export function ordinalOfAddress(b: Pick<BlockSpec, "cidr">, address: string | Addr): number | undefined {
  const a = typeof address === "string" ? parseAddr(address) : address;
  return a === undefined ? undefined : ordinalOf(blockCidr(b), a);
}

export interface NewBlockOptions {
  readonly affinity?: string;
  readonly affinityClaimTime?: string;
  /**
   * The first sequence number. Calico seeds it with the creation time in nanoseconds so that a block
   * deleted and created again never repeats a (ordinal, sequence number) pair; tabby uses microseconds
   * (claim.ts), which stay exact in a JSON number (2^53) until the year 2255.
   */
  readonly sequenceNumber: number;
  readonly hostReserved?: HostReservedAttr;
}

/** A fresh block for `cidr` (ipam_block.go newBlock). */
export function newBlock(cidr: Cidr, options: NewBlockOptions): BlockSpec {
  const size = Number(cidrSize(cidr));
  if (size > MAX_BLOCK_ADDRESSES)
    throw new Error(`block ${formatCidr(cidr)} is larger than ${MAX_BLOCK_ADDRESSES}`);
  const allocations: (number | null)[] = new Array<number | null>(size).fill(null);
  let unallocated = Array.from({ length: size }, (_, i) => i);
  const attributes: AllocationAttribute[] = [];
  const r = options.hostReserved;
  if (r !== undefined && r.startOfBlock + r.endOfBlock > 0) {
    // Windows: the first StartOfBlock and last EndOfBlock ordinals belong to the reserved handle.
    unallocated = unallocated.slice(r.startOfBlock, size - r.endOfBlock);
    for (let i = 0; i < r.startOfBlock; i++) allocations[i] = 0;
    for (let i = 1; i <= r.endOfBlock; i++) allocations[size - i] = 0;
    attributes.push({ handle_id: r.handle, secondary: { note: r.note } });
  }
  return {
    cidr: formatCidr(cidr),
    ...(options.affinity !== undefined ? { affinity: options.affinity } : {}),
    ...(options.affinityClaimTime !== undefined ? { affinityClaimTime: options.affinityClaimTime } : {}),
    allocations,
    unallocated,
    attributes,
    sequenceNumber: options.sequenceNumber,
    sequenceNumberForAllocation: {},
    deleted: false,
    strictAffinity: false,
  };
}

function copy(b: BlockSpec): BlockSpec {
  return {
    ...b,
    allocations: b.allocations.slice(),
    unallocated: b.unallocated.slice(),
    attributes: b.attributes.slice(),
    sequenceNumberForAllocation: { ...(b.sequenceNumberForAllocation ?? {}) },
  };
}

/**
 * The sequence number a write of a block stores: one more, or, past 2^53, the next double up. Calico
 * seeds blocks with nanoseconds, which JSON numbers hold only rounded; `n + 1` would round back to `n`
 * and the release check could no longer tell two allocations apart. The next double is an integer that
 * prints exactly, so Calico reads back the value tabby compares against.
 */
export function nextSequenceNumber(n: number): number {
  if (n < Number.MAX_SAFE_INTEGER) return n + 1;
  const f = new Float64Array([n]);
  const bits = new BigUint64Array(f.buffer);
  bits[0] = bits[0]! + 1n;
  return f[0]!;
}

export function sequenceNumberOf(b: BlockSpec, ordinal: number): number {
  return b.sequenceNumberForAllocation?.[String(ordinal)] ?? 0;
}

function sameStrings(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  return ka.length === kb.length && ka.every((k) => a![k] === b?.[k]);
}

/** Index of an attribute equal to (handle, attrs), appending one if there is none (findOrAddAttribute). */
function findOrAddAttribute(b: BlockSpec, handle: string | undefined, attrs: Record<string, string>): number {
  const i = b.attributes.findIndex(
    (a) =>
      a.handle_id === handle &&
      sameStrings(a.secondary, attrs) &&
      a.alternateOwnerAttrs === undefined &&
      a.releasedAt === undefined,
  );
  if (i >= 0) return i;
  const attr: AllocationAttribute = {};
  if (handle !== undefined) attr.handle_id = handle;
  if (Object.keys(attrs).length > 0) attr.secondary = { ...attrs };
  b.attributes.push(attr);
  return b.attributes.length - 1;
}

/** Free addresses an allocation could take now: the FIFO minus reserved addresses (NumFreeAddresses). */
export function freeCount(b: BlockSpec, reservations: AddressFilter): number {
  const cidr = blockCidr(b);
  if (reservations.coversCidr(cidr)) return 0;
  if (!reservations.overlapsCidr(cidr)) return b.unallocated.length;
  let n = 0;
  for (const o of b.unallocated) if (!reservations.matches(nthAddr(cidr, o))) n++;
  return n;
}

/** Addresses in use: everything not in the FIFO (what calicoctl ipam show counts). */
export function inUseCount(b: BlockSpec): number {
  return b.allocations.length - b.unallocated.length;
}

/** True when no address is allocated other than Windows' reserved ones (ipam_block.go empty). */
export function isEmpty(b: BlockSpec): boolean {
  for (const idx of b.allocations) {
    if (idx === null) continue;
    const h = b.attributes[idx]?.handle_id;
    if (h === undefined || h.toLowerCase() !== WINDOWS_RESERVED_HANDLE) return false;
  }
  return true;
}

export interface AssignResult {
  readonly block: BlockSpec;
  /** Ordinals taken, in the order handed out. */
  readonly ordinals: readonly number[];
}

/**
 * Takes up to `num` addresses from the head of the FIFO, skipping reserved ones (which keep their place),
 * records (handle, attrs) and each ordinal's sequence number (ipam_block.go autoAssign).
 */
export function assignFromBlock(
  b: BlockSpec,
  num: number,
  handle: string | undefined,
  attrs: Record<string, string>,
  reservations: AddressFilter,
): AssignResult {
  const cidr = blockCidr(b);
  const filtered = reservations.overlapsCidr(cidr);
  const out = copy(b);
  const ordinals: number[] = [];
  const kept: number[] = [];
  let attrIndex: number | undefined;
  for (let i = 0; i < b.unallocated.length; i++) {
    const ord = b.unallocated[i]!;
    if (ordinals.length >= num) {
      kept.push(...b.unallocated.slice(i));
      break;
    }
    if (filtered && reservations.matches(nthAddr(cidr, ord))) {
      kept.push(ord);
      continue;
    }
    attrIndex ??= findOrAddAttribute(out, handle, attrs);
    out.allocations[ord] = attrIndex;
    out.sequenceNumberForAllocation![String(ord)] = b.sequenceNumber;
    ordinals.push(ord);
  }
  out.unallocated = kept;
  return { block: ordinals.length > 0 ? out : b, ordinals };
}

/**
 * Allocates one given ordinal (ipam_block.go assign). Already held by the same handle: returns the block
 * unchanged with `already: true` (AssignIP is idempotent for its handle); held by another:
 * IPAM_ADDRESS_IN_USE ("Address already assigned in block").
 */
export function assignOrdinal(
  b: BlockSpec,
  ordinal: number,
  handle: string | undefined,
  attrs: Record<string, string>,
): { block: BlockSpec; already: boolean } {
  const held = b.allocations[ordinal];
  if (held === undefined) throw new Error(`ordinal ${ordinal} outside block ${b.cidr}`);
  const address = addressOf(b, ordinal);
  if (held !== null) {
    const owner = b.attributes[held]?.handle_id;
    if (handle !== undefined && owner !== undefined && sanitizeHandle(owner) === handle) {
      return { block: b, already: true };
    }
    throw new IpamError(
      "IPAM_ADDRESS_IN_USE",
      `Address already assigned in block: ${address} in ${b.cidr} is held by handle ${owner ?? "<none>"}`,
      { address, block: b.cidr, ...(owner !== undefined ? { handle: owner } : {}) },
    );
  }
  const out = copy(b);
  out.allocations[ordinal] = findOrAddAttribute(out, handle, attrs);
  out.sequenceNumberForAllocation![String(ordinal)] = b.sequenceNumber;
  out.unallocated = out.unallocated.filter((o) => o !== ordinal);
  return { block: out, already: false };
}

/** Removes attributes no allocation refers to any more and renumbers the rest (deleteAttributes). */
function pruneAttributes(b: BlockSpec, drop: ReadonlySet<number>): void {
  if (drop.size === 0) return;
  const renumber = new Map<number, number>();
  const kept: AllocationAttribute[] = [];
  b.attributes.forEach((a, i) => {
    if (drop.has(i)) return;
    renumber.set(i, kept.length);
    kept.push(a);
  });
  b.attributes = kept;
  for (let o = 0; o < b.allocations.length; o++) {
    const idx = b.allocations[o];
    if (idx !== null && idx !== undefined) b.allocations[o] = renumber.get(idx) ?? null;
  }
}

/** Frees ordinals: slot cleared, ordinal to the FIFO's tail, sequence number forgotten, attributes pruned. */
function freeOrdinals(b: BlockSpec, ordinals: readonly number[]): void {
  const refs = new Map<number, number>();
  for (const idx of b.allocations) if (idx !== null) refs.set(idx, (refs.get(idx) ?? 0) + 1);
  const dropped = new Map<number, number>();
  for (const o of ordinals) {
    const idx = b.allocations[o]!;
    dropped.set(idx, (dropped.get(idx) ?? 0) + 1);
  }
  const drop = new Set<number>();
  for (const [idx, n] of dropped) if (refs.get(idx) === n) drop.add(idx);
  for (const o of ordinals) {
    b.allocations[o] = null;
    b.unallocated.push(o);
    delete b.sequenceNumberForAllocation![String(o)];
  }
  pruneAttributes(b, drop);
}

export interface ReleaseRequest {
  readonly address: string;
  /** When set, the address must still belong to this handle (else IPAM_HANDLE_MISMATCH). */
  readonly handle?: string;
  /** When set, must equal the allocation's sequence number (else IPAM_BAD_SEQUENCE_NUMBER). */
  readonly sequenceNumber?: number;
}

export interface ReleaseResult {
  readonly block: BlockSpec;
  readonly released: readonly string[];
  /** Addresses that were not allocated (not an error: release is idempotent). */
  readonly notAllocated: readonly string[];
  readonly countByHandle: ReadonlyMap<string, number>;
}

/**
 * Releases addresses of this block (ipam_block.go release). A stale sequence number or handle fails the
 * whole request and frees nothing: whoever asked is working from out-of-date information.
 */
export function releaseFromBlock(b: BlockSpec, requests: readonly ReleaseRequest[]): ReleaseResult {
  const unique = new Map<string, ReleaseRequest>();
  for (const r of requests) {
    const a = parseAddr(r.address);
    if (a === undefined) throw new IpamError("IPAM_INVALID_REQUEST", `invalid IP address ${r.address}`);
    unique.set(formatAddr(a), r);
  }
  const ordinals: number[] = [];
  const released: string[] = [];
  const notAllocated: string[] = [];
  const countByHandle = new Map<string, number>();
  for (const [address, r] of unique) {
    const ord = ordinalOfAddress(b, address);
    if (ord === undefined) throw new Error(`${address} is not in block ${b.cidr}`);
    const idx = b.allocations[ord];
    if (idx === null || idx === undefined) {
      // Calico compares the sequence number first and so refuses a stale release of a free address;
      // tabby calls it already released, which frees nothing and so cannot hurt a new owner.
      notAllocated.push(address);
      continue;
    }
    if (r.sequenceNumber !== undefined && r.sequenceNumber !== sequenceNumberOf(b, ord)) {
      throw new IpamError(
        "IPAM_BAD_SEQUENCE_NUMBER",
        `release of ${address} refused: sequence number ${r.sequenceNumber} does not match the allocation's ${sequenceNumberOf(b, ord)} in block ${b.cidr} (the address was reallocated since it was read)`,
        { address, block: b.cidr },
      );
    }
    const owner = b.attributes[idx]?.handle_id;
    const handle = owner === undefined ? "" : sanitizeHandle(owner);
    if (r.handle !== undefined && r.handle !== "" && r.handle !== handle) {
      throw new IpamError(
        "IPAM_HANDLE_MISMATCH",
        `release of ${address} refused: it is held by handle ${handle || "<none>"}, not ${r.handle}`,
        { address, block: b.cidr, handle: r.handle },
      );
    }
    ordinals.push(ord);
    released.push(address);
    if (handle !== "") countByHandle.set(handle, (countByHandle.get(handle) ?? 0) + 1);
  }
  if (ordinals.length === 0) return { block: b, released, notAllocated, countByHandle };
  const out = copy(b);
  freeOrdinals(out, ordinals);
  return { block: out, released, notAllocated, countByHandle };
}

/** Releases every address of `handle` in this block (ipam_block.go releaseByHandle). */
export function releaseHandleFromBlock(
  b: BlockSpec,
  handle: string,
): { block: BlockSpec; released: readonly string[] } {
  const ords = ordinalsOfHandle(b, handle);
  if (ords.length === 0) return { block: b, released: [] };
  const out = copy(b);
  freeOrdinals(out, ords);
  return { block: out, released: ords.map((o) => addressOf(b, o)) };
}

export function ordinalsOfHandle(b: BlockSpec, handle: string): number[] {
  const idxs = new Set<number>();
  b.attributes.forEach((a, i) => {
    if (a.handle_id !== undefined && sanitizeHandle(a.handle_id) === handle) idxs.add(i);
  });
  const out: number[] = [];
  if (idxs.size === 0) return out;
  b.allocations.forEach((idx, o) => {
    if (idx !== null && idxs.has(idx)) out.push(o);
  });
  return out;
}

export interface Allocation {
  readonly ordinal: number;
  readonly address: string;
  readonly attribute: AllocationAttribute | undefined;
  readonly handle: string | undefined;
  readonly sequenceNumber: number;
}

/** Every allocated address of the block with its attribute, in ordinal order. */
export function allocationsOf(b: BlockSpec): Allocation[] {
  const cidr = blockCidr(b);
  const out: Allocation[] = [];
  b.allocations.forEach((idx, o) => {
    if (idx === null) return;
    const attribute = b.attributes[idx];
    out.push({
      ordinal: o,
      address: formatAddr(nthAddr(cidr, o)),
      attribute,
      handle: attribute?.handle_id === undefined ? undefined : sanitizeHandle(attribute.handle_id),
      sequenceNumber: sequenceNumberOf(b, o),
    });
  });
  return out;
}

/** What is wrong with a block's structure, in calicoctl ipam check's words (check.go validateBlock). */
export function validateBlock(b: BlockSpec): string | undefined {
  const cidr = parseCidr(b.cidr);
  if (cidr === undefined) return `cidr ${JSON.stringify(b.cidr)} is not a CIDR`;
  const size = Number(cidrSize(cidr));
  if (b.allocations.length !== size) {
    return `expected ${size} allocation slots for ${b.cidr}, found ${b.allocations.length}`;
  }
  const seenAttrs = new Set<number>();
  const allocated = new Set<number>();
  for (let o = 0; o < size; o++) {
    const idx = b.allocations[o];
    if (idx === null || idx === undefined) continue;
    if (idx < 0 || idx >= b.attributes.length) {
      return `allocation ${o} indexes a nonexistent attribute ${idx}`;
    }
    seenAttrs.add(idx);
    allocated.add(o);
  }
  for (let i = 0; i < b.attributes.length; i++) {
    if (!seenAttrs.has(i)) return `attribute index ${i} exists but is not indexed by an allocation`;
  }
  const seen = new Set<number>();
  for (const o of b.unallocated) {
    if (o < 0 || o >= size) return `ordinal ${o} appears in the Unallocated array but is out of the block`;
    if (seen.has(o)) return `ordinal ${o} appears more than once in Unallocated array`;
    if (allocated.has(o)) return `ordinal ${o} is allocated but appears in Unallocated`;
    seen.add(o);
  }
  if (seen.size + allocated.size !== size) {
    return `expected ${size} addresses in this block, but Unallocated (${seen.size}) + Allocated (${allocated.size}) = ${seen.size + allocated.size}`;
  }
  return undefined;
}
