/**
 * Encoding routes into as few UPDATEs as possible: the attributes shared by a set of prefixes are
 * encoded once and every message carries as many prefixes as fit (4096 bytes, or 65535 with RFC 8654).
 * Attribute order is canonical: MP_REACH_NLRI / MP_UNREACH_NLRI first (RFC 7606 §5.1), the rest by
 * ascending type code (RFC 4271 §5). IPv4 unicast uses the NLRI and Withdrawn Routes fields unless
 * asked to use MP_REACH (RFC 8950 IPv6 next hops); IPv6 always uses MP_REACH / MP_UNREACH.
 * Messages are written straight into exactly sized buffers: no per-prefix allocation.
 */
import { type AttrContext, encodeAttribute, type PathAttribute } from "./attributes.js";
import { AttrType, HEADER_LEN, MAX_MESSAGE_LEN, MsgType } from "./constants.js";
import { writeHeader } from "./header.js";
import { parseIpv4Into, parseIpv6Into } from "./ip.js";
import { encodedSize, encodePrefixes, type PrefixList } from "./prefix-list.js";

/** MP attributes first, then ascending type code; stable for equal codes. */
export function canonicalOrder(attrs: readonly PathAttribute[]): PathAttribute[] {
  const rank = (a: PathAttribute) =>
    a.code === AttrType.MpReachNlri || a.code === AttrType.MpUnreachNlri ? -1 : a.code;
  return [...attrs].sort((x, y) => rank(x) - rank(y));
}

export interface PackOptions {
  readonly maxMessageLen?: number;
  /** Next hop(s) for MP_REACH: one address, or global + link-local for IPv6. */
  readonly nextHop?: readonly string[];
  /** Send IPv4 unicast in MP_REACH (needed for an IPv6 next hop, RFC 8950). */
  readonly ipv4InMpReach?: boolean;
  readonly safi?: number;
}

function checkPathIds(list: PrefixList, ctx: AttrContext): void {
  const want = (list.afi === 1 ? ctx.addPath?.ipv4 : ctx.addPath?.ipv6) === true;
  if (want !== (list.pathIds !== undefined)) {
    throw new Error(
      `prefix list ${list.pathIds ? "has" : "lacks"} ADD-PATH ids but the session ${want ? "uses" : "does not use"} them`,
    );
  }
}

/** How many entries from `from` fit in `budget` bytes. */
function countFitting(list: PrefixList, from: number, budget: number): number {
  let used = 0;
  let i = from;
  while (i < list.count) {
    const s = encodedSize(list, i);
    if (used + s > budget) break;
    used += s;
    i++;
  }
  return i - from;
}

function bytesOf(list: PrefixList, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += encodedSize(list, i);
  return n;
}

function encodeNextHop(addrs: readonly string[]): Uint8Array {
  const v6 = addrs.some((a) => a.includes(":"));
  const out = new Uint8Array(v6 ? 16 * addrs.length : 4);
  if (v6) {
    for (let i = 0; i < addrs.length; i++) parseIpv6Into(addrs[i]!, out, 16 * i);
  } else {
    parseIpv4Into(addrs[0]!, out, 0);
  }
  return out;
}

/**
 * UPDATEs announcing `nlri` with `attributes` (which must not contain MP_REACH/MP_UNREACH; NEXT_HOP is
 * used for IPv4 in the NLRI field, `opts.nextHop` for MP_REACH).
 */
export function packAnnouncements(
  attributes: readonly PathAttribute[],
  nlri: PrefixList,
  ctx: AttrContext,
  opts: PackOptions = {},
): Uint8Array[] {
  if (nlri.count === 0) return [];
  checkPathIds(nlri, ctx);
  const maxLen = opts.maxMessageLen ?? MAX_MESSAGE_LEN;
  const useMp = nlri.afi !== 1 || opts.ipv4InMpReach === true;
  const shared = canonicalOrder(attributes.filter((a) => !(useMp && a.code === AttrType.NextHop)));
  if (shared.some((a) => a.code === AttrType.MpReachNlri || a.code === AttrType.MpUnreachNlri)) {
    throw new Error("shared attributes must not include MP_REACH_NLRI or MP_UNREACH_NLRI");
  }
  const encoded = shared.map((a) => encodeAttribute(a, ctx));
  const sharedLen = encoded.reduce((n, e) => n + e.length, 0);
  let nh: Uint8Array | undefined;
  let mpHead = 0;
  if (useMp) {
    if (opts.nextHop === undefined || opts.nextHop.length === 0)
      throw new Error("MP_REACH_NLRI needs opts.nextHop");
    nh = encodeNextHop(opts.nextHop);
    mpHead = 4 + 5 + nh.length; // flags, type, 2-octet length; afi, safi, nh length, nh, reserved
  }
  const budget = maxLen - HEADER_LEN - 4 - sharedLen - mpHead;
  if (budget < encodedSize(nlri, 0))
    throw new Error(`attributes of ${sharedLen} bytes leave no room for a prefix`);
  const out: Uint8Array[] = [];
  for (let from = 0; from < nlri.count; ) {
    const n = countFitting(nlri, from, budget);
    const to = from + n;
    const prefixBytes = bytesOf(nlri, from, to);
    const attrLen = sharedLen + (useMp ? mpHead + prefixBytes : 0);
    const len = HEADER_LEN + 4 + attrLen + (useMp ? 0 : prefixBytes);
    const m = new Uint8Array(len);
    writeHeader(m, 0, len, MsgType.Update);
    // Withdrawn Routes Length (19-20) stays 0.
    m[21] = attrLen >> 8;
    m[22] = attrLen & 0xff;
    let p = 23;
    if (useMp) {
      const mpLen = 5 + nh!.length + prefixBytes;
      m[p++] = 0x90; // optional, extended length
      m[p++] = AttrType.MpReachNlri;
      m[p++] = mpLen >> 8;
      m[p++] = mpLen & 0xff;
      m[p++] = nlri.afi >> 8;
      m[p++] = nlri.afi & 0xff;
      m[p++] = opts.safi ?? 1;
      m[p++] = nh!.length;
      m.set(nh!, p);
      p += nh!.length;
      m[p++] = 0;
      p = encodePrefixes(nlri, from, to, m, p);
    }
    for (const e of encoded) {
      m.set(e, p);
      p += e.length;
    }
    if (!useMp) encodePrefixes(nlri, from, to, m, p);
    out.push(m);
    from = to;
  }
  return out;
}

/** UPDATEs withdrawing `withdrawn`: the Withdrawn Routes field for IPv4 unicast, MP_UNREACH otherwise. */
export function packWithdrawals(
  withdrawn: PrefixList,
  ctx: AttrContext,
  opts: PackOptions = {},
): Uint8Array[] {
  if (withdrawn.count === 0) return [];
  checkPathIds(withdrawn, ctx);
  const maxLen = opts.maxMessageLen ?? MAX_MESSAGE_LEN;
  const useMp = withdrawn.afi !== 1 || opts.ipv4InMpReach === true;
  const budget = maxLen - HEADER_LEN - 4 - (useMp ? 7 : 0);
  const out: Uint8Array[] = [];
  for (let from = 0; from < withdrawn.count; ) {
    const to = from + countFitting(withdrawn, from, budget);
    const prefixBytes = bytesOf(withdrawn, from, to);
    const len = HEADER_LEN + 4 + (useMp ? 7 : 0) + prefixBytes;
    const m = new Uint8Array(len);
    writeHeader(m, 0, len, MsgType.Update);
    if (useMp) {
      const attrLen = 7 + prefixBytes;
      m[21] = attrLen >> 8;
      m[22] = attrLen & 0xff;
      m[23] = 0x90;
      m[24] = AttrType.MpUnreachNlri;
      m[25] = (3 + prefixBytes) >> 8;
      m[26] = (3 + prefixBytes) & 0xff;
      m[27] = withdrawn.afi >> 8;
      m[28] = withdrawn.afi & 0xff;
      m[29] = opts.safi ?? 1;
      encodePrefixes(withdrawn, from, to, m, 30);
    } else {
      m[19] = prefixBytes >> 8;
      m[20] = prefixBytes & 0xff;
      encodePrefixes(withdrawn, from, to, m, 21);
      // Total Path Attribute Length (after the withdrawn routes) stays 0.
    }
    out.push(m);
    from = to;
  }
  return out;
}

/** End-of-RIB for a family (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an empty MP_UNREACH otherwise. */
export function encodeEndOfRib(afi: number, safi = 1): Uint8Array {
  if (afi === 1 && safi === 1) {
    const m = new Uint8Array(23);
    writeHeader(m, 0, 23, MsgType.Update);
    return m;
  }
  const m = new Uint8Array(30);
  writeHeader(m, 0, 30, MsgType.Update);
  m[22] = 7;
  m[23] = 0x90;
  m[24] = AttrType.MpUnreachNlri;
  m[26] = 3;
  m[27] = afi >> 8;
  m[28] = afi & 0xff;
  m[29] = safi;
  return m;
}
