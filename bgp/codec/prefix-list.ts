/**
 * NLRI as compact columns: one `PrefixList` holds every prefix of an NLRI field in three typed arrays
 * (lengths, addresses at a fixed stride of 4 or 16 bytes, optional ADD-PATH path ids), so decoding an
 * UPDATE with 1,000 prefixes allocates three arrays, not 1,000 objects (issue #4: no per-prefix garbage).
 * Decoding and encoding of the wire form (RFC 4271 §4.3 "length + prefix octets", RFC 7911 path id
 * in front) live here too. Addresses keep the bits the sender put after the prefix length in its last
 * octet, so re-encoding is byte-exact; `maskedKey` gives the canonical form for RIB lookups.
 */
import { Afi, type AfiCode, UpdateSub } from "./constants.js";
import { BgpDecodeError, type Rfc7606Action } from "./errors.js";
import { formatIp, parseIpv4Into, parseIpv6Into } from "./ip.js";

export interface PrefixList {
  readonly afi: AfiCode;
  readonly count: number;
  /** Prefix length in bits, per entry. */
  readonly lengths: Uint8Array;
  /** `count * stride` bytes, network order; octets beyond the encoded ones are 0. */
  readonly addrs: Uint8Array;
  /** RFC 7911 path identifiers, present iff the list was (or is to be) ADD-PATH encoded. */
  readonly pathIds: Uint32Array | undefined;
}

export const strideOf = (afi: AfiCode): 4 | 16 => (afi === Afi.Ipv4 ? 4 : 16);
const maxBitsOf = (afi: AfiCode) => (afi === Afi.Ipv4 ? 32 : 128);

export function emptyPrefixList(afi: AfiCode, addPath = false): PrefixList {
  return {
    afi,
    count: 0,
    lengths: new Uint8Array(0),
    addrs: new Uint8Array(0),
    pathIds: addPath ? new Uint32Array(0) : undefined,
  };
}

export interface NlriErrorSpec {
  readonly subcode: number;
  readonly action: Rfc7606Action;
  /** NOTIFICATION data for a session reset (e.g. the whole MP_REACH attribute). */
  readonly data?: Uint8Array;
  readonly attrType?: number;
}

const NLRI_FIELD_ERROR: NlriErrorSpec = { subcode: UpdateSub.InvalidNetworkField, action: "session-reset" };

/**
 * Decodes `buf[start, end)` as a sequence of prefixes. `msgOffset` is the message offset of `buf[0]`,
 * for errors. Two passes: validate and count, then fill exactly sized arrays.
 */
export function decodePrefixes(
  buf: Uint8Array,
  start: number,
  end: number,
  afi: AfiCode,
  addPath: boolean,
  msgOffset: number,
  err: NlriErrorSpec = NLRI_FIELD_ERROR,
): PrefixList {
  const maxBits = maxBitsOf(afi);
  const fail = (pos: number, detail: string) =>
    new BgpDecodeError(3, err.subcode, msgOffset + pos, err.action, err.data, detail, err.attrType);
  let count = 0;
  for (let p = start; p < end; ) {
    if (addPath) {
      if (end - p < 5) throw fail(p, "truncated ADD-PATH prefix");
      p += 4;
    }
    const bits = buf[p]!;
    if (bits > maxBits) throw fail(p, `prefix length ${bits} exceeds ${maxBits}`);
    const octets = (bits + 7) >> 3;
    if (p + 1 + octets > end) throw fail(p, `prefix of length ${bits} runs past the end of the field`);
    p += 1 + octets;
    count++;
  }
  const stride = strideOf(afi);
  const lengths = new Uint8Array(count);
  const addrs = new Uint8Array(count * stride);
  const pathIds = addPath ? new Uint32Array(count) : undefined;
  let i = 0;
  for (let p = start; p < end; i++) {
    if (pathIds) {
      pathIds[i] = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
    }
    const bits = buf[p]!;
    const octets = (bits + 7) >> 3;
    lengths[i] = bits;
    const base = i * stride;
    for (let k = 0; k < octets; k++) addrs[base + k] = buf[p + 1 + k]!;
    p += 1 + octets;
  }
  return { afi, count, lengths, addrs, pathIds };
}

/** Wire size of entry `i`. */
export function encodedSize(list: PrefixList, i: number): number {
  return (list.pathIds ? 4 : 0) + 1 + ((list.lengths[i]! + 7) >> 3);
}

export function encodedSizeOfAll(list: PrefixList): number {
  let n = 0;
  for (let i = 0; i < list.count; i++) n += encodedSize(list, i);
  return n;
}

/** Writes entries `[from, to)` into `out` at `pos`; returns the new position. */
export function encodePrefixes(
  list: PrefixList,
  from: number,
  to: number,
  out: Uint8Array,
  pos: number,
): number {
  const stride = strideOf(list.afi);
  const ids = list.pathIds;
  for (let i = from; i < to; i++) {
    if (ids) {
      const id = ids[i]!;
      out[pos] = id >>> 24;
      out[pos + 1] = (id >>> 16) & 0xff;
      out[pos + 2] = (id >>> 8) & 0xff;
      out[pos + 3] = id & 0xff;
      pos += 4;
    }
    const bits = list.lengths[i]!;
    const octets = (bits + 7) >> 3;
    out[pos++] = bits;
    const base = i * stride;
    for (let k = 0; k < octets; k++) out[pos++] = list.addrs[base + k]!;
  }
  return pos;
}

/** "10.0.0.0/24" (the address as encoded, trailing bits included). */
export function prefixString(list: PrefixList, i: number): string {
  const stride = strideOf(list.afi);
  return `${formatIp(list.addrs, i * stride, stride)}/${list.lengths[i]}`;
}

export function prefixStrings(list: PrefixList): string[] {
  const out = new Array<string>(list.count);
  for (let i = 0; i < list.count; i++) out[i] = prefixString(list, i);
  return out;
}

/**
 * Builds a list from text prefixes. The address is kept as written (bits past the length included) so a
 * decoded list's strings rebuild the same bytes; use `maskedKey` for canonical comparisons.
 */
export function prefixListFromStrings(
  afi: AfiCode,
  prefixes: readonly string[],
  pathIds?: readonly number[],
): PrefixList {
  const stride = strideOf(afi);
  const lengths = new Uint8Array(prefixes.length);
  const addrs = new Uint8Array(prefixes.length * stride);
  const maxBits = maxBitsOf(afi);
  prefixes.forEach((text, i) => {
    const slash = text.lastIndexOf("/");
    const addr = slash < 0 ? text : text.slice(0, slash);
    const bits = slash < 0 ? maxBits : Number(text.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > maxBits) {
      throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
    }
    if (stride === 4) parseIpv4Into(addr, addrs, i * 4);
    else parseIpv6Into(addr, addrs, i * 16);
    // Octets past the encoded length cannot be carried on the wire: clear them.
    for (let k = (bits + 7) >> 3; k < stride; k++) addrs[i * stride + k] = 0;
    lengths[i] = bits;
  });
  if (pathIds !== undefined && pathIds.length !== prefixes.length) {
    throw new Error("pathIds must have one entry per prefix");
  }
  return {
    afi,
    count: prefixes.length,
    lengths,
    addrs,
    pathIds: pathIds === undefined ? undefined : Uint32Array.from(pathIds),
  };
}

/** A sub-range of a list sharing its buffers (no copy). */
export function slicePrefixList(list: PrefixList, from: number, to: number): PrefixList {
  const stride = strideOf(list.afi);
  return {
    afi: list.afi,
    count: to - from,
    lengths: list.lengths.subarray(from, to),
    addrs: list.addrs.subarray(from * stride, to * stride),
    pathIds: list.pathIds?.subarray(from, to),
  };
}

/**
 * Canonical key of entry `i` with host bits cleared: a number for IPv4 (address * 64 + length, exact
 * in a double) and a string for IPv6. Path ids are not part of it.
 */
export function maskedKey(list: PrefixList, i: number): number | string {
  const bits = list.lengths[i]!;
  if (list.afi === Afi.Ipv4) {
    const b = i * 4;
    const a = list.addrs;
    const v = ((a[b]! << 24) | (a[b + 1]! << 16) | (a[b + 2]! << 8) | a[b + 3]!) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return ((v & mask) >>> 0) * 64 + bits;
  }
  let s = "";
  const b = i * 16;
  for (let k = 0; k < 16; k++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * k));
    const byte = list.addrs[b + k]! & ((0xff << (8 - keep)) & 0xff);
    s += byte.toString(16).padStart(2, "0");
  }
  return `${s}/${bits}`;
}
