/**
 * Path attributes (RFC 4271 §4.3/§5 and the RFCs that added one each), one descriptor per type code:
 * the flags it must carry, how to decode and encode its value, and what RFC 7606 §7 does when it is
 * malformed (treat-as-withdraw, attribute-discard, or session reset for MP_REACH/MP_UNREACH whose NLRI
 * cannot be trusted). Decoders never throw on bad values; they return an `AttrProblem` and the UPDATE
 * decoder (update.ts) turns problems into RFC 7606 actions. Values keep what exact re-encoding needs
 * (flags byte, next-hop form, reserved octet); the NLRI of MP attributes are `PrefixList`s.
 */
import type { AsPathSegment } from "./as-path.js";
import { decodeSegments, encodeSegments } from "./as-path.js";
import { Afi, type AfiCode, AttrFlag, AttrType, UpdateSub } from "./constants.js";
import type { BgpDecodeError } from "./errors.js";
import { formatIp, formatIpv4, parseIpv4Into, parseIpv6Into } from "./ip.js";
import { decodePrefixes, encodedSizeOfAll, encodePrefixes, type PrefixList } from "./prefix-list.js";

export interface AttrBase {
  /** The flags byte as received or to be sent (the extended-length bit is forced when needed). */
  readonly flags: number;
  readonly code: number;
}

export type Origin = 0 | 1 | 2;

export type PathAttribute =
  | (AttrBase & { readonly kind: "origin"; readonly origin: Origin })
  | (AttrBase & { readonly kind: "as-path"; readonly segments: readonly AsPathSegment[] })
  | (AttrBase & { readonly kind: "next-hop"; readonly nextHop: string })
  | (AttrBase & { readonly kind: "med"; readonly med: number })
  | (AttrBase & { readonly kind: "local-pref"; readonly localPref: number })
  | (AttrBase & { readonly kind: "atomic-aggregate" })
  | (AttrBase & { readonly kind: "aggregator"; readonly as: number; readonly address: string })
  | (AttrBase & { readonly kind: "communities"; readonly communities: readonly number[] })
  | (AttrBase & { readonly kind: "originator-id"; readonly originatorId: string })
  | (AttrBase & { readonly kind: "cluster-list"; readonly clusterList: readonly string[] })
  | (AttrBase & {
      readonly kind: "mp-reach";
      readonly afi: AfiCode;
      readonly safi: number;
      /** One address, or global + link-local for IPv6 (RFC 2545); IPv4 or IPv6 (RFC 8950) for IPv4 NLRI. */
      readonly nextHop: readonly string[];
      /** The octet after the next hop (SNPA count in RFC 2858; reserved, 0, in RFC 4760). */
      readonly reserved: number;
      readonly nlri: PrefixList;
    })
  | (AttrBase & {
      readonly kind: "mp-unreach";
      readonly afi: AfiCode;
      readonly safi: number;
      readonly withdrawn: PrefixList;
    })
  | (AttrBase & { readonly kind: "extended-communities"; readonly value: Uint8Array })
  | (AttrBase & { readonly kind: "as4-path"; readonly segments: readonly AsPathSegment[] })
  | (AttrBase & { readonly kind: "as4-aggregator"; readonly as: number; readonly address: string })
  | (AttrBase & {
      readonly kind: "large-communities";
      readonly communities: readonly number[] /* flat triples */;
    })
  /** Only to Customer (RFC 9234): the AS that first sent the route down to a customer or across to a peer. */
  | (AttrBase & { readonly kind: "otc"; readonly asn: number })
  /** An attribute this codec does not know (or an MP attribute of a family it does not parse). */
  | (AttrBase & { readonly kind: "unknown"; readonly value: Uint8Array })
  /** An attribute that failed its checks; kept as bytes, with the error that decided its fate. */
  | (AttrBase & { readonly kind: "malformed"; readonly value: Uint8Array; readonly error: BgpDecodeError });

export type AttrKind = PathAttribute["kind"];

/** What the codec needs to know about the session to read attributes. */
export interface AttrContext {
  /** Both sides advertised the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR use 4 octets. */
  readonly fourOctetAs: boolean;
  /** Families (by AFI, unicast/multicast) whose NLRI carry ADD-PATH path identifiers from this sender. */
  readonly addPath?: { readonly ipv4?: boolean; readonly ipv6?: boolean };
  /** Set when known: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from an eBGP peer are discarded (RFC 7606). */
  readonly peerType?: "ibgp" | "ebgp";
}

export interface AttrProblem {
  readonly subcode: number;
  readonly action: "treat-as-withdraw" | "attribute-discard" | "session-reset";
  readonly detail: string;
}

interface Descriptor {
  readonly code: number;
  readonly kind: Exclude<AttrKind, "unknown" | "malformed">;
  /** Required Optional (0x80) and Transitive (0x40) bits. */
  readonly flags: number;
  /** RFC 7606 action for a malformed value, including wrong flags. */
  readonly onError: AttrProblem["action"];
  decode(v: Uint8Array, flags: number, ctx: AttrContext, valueOffset: number): PathAttribute | AttrProblem;
  encode(a: PathAttribute, ctx: AttrContext): Uint8Array;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPT_TRANS = AttrFlag.Optional | AttrFlag.Transitive;
const OPT_NON_TRANS = AttrFlag.Optional;

const u32 = (v: Uint8Array, o: number) =>
  ((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0;
function be32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
const lengthProblem = (action: AttrProblem["action"], detail: string): AttrProblem => ({
  subcode: UpdateSub.AttributeLengthError,
  action,
  detail,
});
const isProblem = (x: PathAttribute | AttrProblem): x is AttrProblem => "subcode" in x;

export { isProblem as isAttrProblem };

function u32List(v: Uint8Array): number[] {
  const out = new Array<number>(v.length / 4);
  for (let i = 0, o = 0; o < v.length; i++, o += 4) out[i] = u32(v, o);
  return out;
}
function u32Bytes(list: readonly number[]): Uint8Array {
  const out = new Uint8Array(list.length * 4);
  list.forEach((n, i) => {
    out.set(be32(n), i * 4);
  });
  return out;
}
function ipv4List(v: Uint8Array): string[] {
  const out: string[] = [];
  for (let o = 0; o < v.length; o += 4) out.push(formatIpv4(v, o));
  return out;
}
function ipv4Bytes(list: readonly string[]): Uint8Array {
  const out = new Uint8Array(list.length * 4);
  list.forEach((a, i) => {
    parseIpv4Into(a, out, i * 4);
  });
  return out;
}
function ipv4(a: string): Uint8Array {
  const out = new Uint8Array(4);
  parseIpv4Into(a, out);
  return out;
}

/** Address family of the NLRI we can parse as prefixes: AFI 1/2 with SAFI unicast or multicast. */
const prefixFamily = (afi: number, safi: number): AfiCode | undefined =>
  (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === 1 || safi === 2) ? (afi as AfiCode) : undefined;

const addPathFor = (ctx: AttrContext, afi: AfiCode) =>
  (afi === Afi.Ipv4 ? ctx.addPath?.ipv4 : ctx.addPath?.ipv6) === true;

function decodeNextHops(v: Uint8Array, afi: AfiCode): string[] | undefined {
  // RFC 4760 §3, RFC 2545 §3 (global + link-local), RFC 8950 (IPv6 next hop for IPv4 NLRI).
  if (v.length === 4 && afi === Afi.Ipv4) return [formatIpv4(v, 0)];
  if (v.length === 16) return [formatIp(v, 0, 16)];
  if (v.length === 32) return [formatIp(v, 0, 16), formatIp(v, 16, 16)];
  return undefined;
}

function encodeNextHops(list: readonly string[]): Uint8Array {
  if (list.length === 1 && !list[0]!.includes(":")) return ipv4(list[0]!);
  const out = new Uint8Array(16 * list.length);
  list.forEach((a, i) => {
    parseIpv6Into(a, out, 16 * i);
  });
  return out;
}

const DESCRIPTORS: readonly Descriptor[] = [
  {
    code: AttrType.Origin,
    kind: "origin",
    flags: WELL_KNOWN,
    onError: "treat-as-withdraw",
    decode: (v, flags) => {
      if (v.length !== 1) return lengthProblem("treat-as-withdraw", `ORIGIN length ${v.length}`);
      if (v[0]! > 2)
        return {
          subcode: UpdateSub.InvalidOrigin,
          action: "treat-as-withdraw",
          detail: `ORIGIN value ${v[0]}`,
        };
      return { kind: "origin", code: 1, flags, origin: v[0] as Origin };
    },
    encode: (a) => Uint8Array.of((a as { origin: number }).origin),
  },
  {
    code: AttrType.AsPath,
    kind: "as-path",
    flags: WELL_KNOWN,
    onError: "treat-as-withdraw",
    decode: (v, flags, ctx) => {
      const s = decodeSegments(v, ctx.fourOctetAs ? 4 : 2);
      if (typeof s === "string")
        return { subcode: UpdateSub.MalformedAsPath, action: "treat-as-withdraw", detail: `AS_PATH: ${s}` };
      return { kind: "as-path", code: 2, flags, segments: s };
    },
    encode: (a, ctx) =>
      encodeSegments((a as { segments: readonly AsPathSegment[] }).segments, ctx.fourOctetAs ? 4 : 2),
  },
  {
    code: AttrType.NextHop,
    kind: "next-hop",
    flags: WELL_KNOWN,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length !== 4
        ? lengthProblem("treat-as-withdraw", `NEXT_HOP length ${v.length}`)
        : { kind: "next-hop", code: 3, flags, nextHop: formatIpv4(v, 0) },
    encode: (a) => ipv4((a as { nextHop: string }).nextHop),
  },
  {
    code: AttrType.MultiExitDisc,
    kind: "med",
    flags: OPT_NON_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length !== 4
        ? lengthProblem("treat-as-withdraw", `MULTI_EXIT_DISC length ${v.length}`)
        : { kind: "med", code: 4, flags, med: u32(v, 0) },
    encode: (a) => be32((a as { med: number }).med),
  },
  {
    code: AttrType.LocalPref,
    kind: "local-pref",
    flags: WELL_KNOWN,
    onError: "treat-as-withdraw",
    decode: (v, flags, ctx) => {
      // RFC 7606 §7.5: from an external peer the attribute is discarded whatever it holds.
      if (ctx.peerType === "ebgp") return lengthProblem("attribute-discard", "LOCAL_PREF from an eBGP peer");
      return v.length !== 4
        ? lengthProblem("treat-as-withdraw", `LOCAL_PREF length ${v.length}`)
        : { kind: "local-pref", code: 5, flags, localPref: u32(v, 0) };
    },
    encode: (a) => be32((a as { localPref: number }).localPref),
  },
  {
    code: AttrType.AtomicAggregate,
    kind: "atomic-aggregate",
    flags: WELL_KNOWN,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length !== 0
        ? lengthProblem("attribute-discard", `ATOMIC_AGGREGATE length ${v.length}`)
        : { kind: "atomic-aggregate", code: 6, flags },
    encode: () => new Uint8Array(0),
  },
  {
    code: AttrType.Aggregator,
    kind: "aggregator",
    flags: OPT_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags, ctx) => {
      const w = ctx.fourOctetAs ? 4 : 2;
      if (v.length !== w + 4)
        return lengthProblem("attribute-discard", `AGGREGATOR length ${v.length}, expected ${w + 4}`);
      const as = w === 4 ? u32(v, 0) : (v[0]! << 8) | v[1]!;
      return { kind: "aggregator", code: 7, flags, as, address: formatIpv4(v, w) };
    },
    encode: (a, ctx) => {
      const g = a as { as: number; address: string };
      if (ctx.fourOctetAs) return Uint8Array.of(...be32(g.as), ...ipv4(g.address));
      const as = g.as > 0xffff ? 23456 : g.as;
      return Uint8Array.of(as >> 8, as & 0xff, ...ipv4(g.address));
    },
  },
  {
    code: AttrType.Communities,
    kind: "communities",
    flags: OPT_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length === 0 || v.length % 4 !== 0
        ? lengthProblem("treat-as-withdraw", `COMMUNITIES length ${v.length}`)
        : { kind: "communities", code: 8, flags, communities: u32List(v) },
    encode: (a) => u32Bytes((a as { communities: readonly number[] }).communities),
  },
  {
    code: AttrType.OriginatorId,
    kind: "originator-id",
    flags: OPT_NON_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags, ctx) => {
      if (ctx.peerType === "ebgp")
        return lengthProblem("attribute-discard", "ORIGINATOR_ID from an eBGP peer");
      return v.length !== 4
        ? lengthProblem("treat-as-withdraw", `ORIGINATOR_ID length ${v.length}`)
        : { kind: "originator-id", code: 9, flags, originatorId: formatIpv4(v, 0) };
    },
    encode: (a) => ipv4((a as { originatorId: string }).originatorId),
  },
  {
    code: AttrType.ClusterList,
    kind: "cluster-list",
    flags: OPT_NON_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags, ctx) => {
      if (ctx.peerType === "ebgp")
        return lengthProblem("attribute-discard", "CLUSTER_LIST from an eBGP peer");
      return v.length === 0 || v.length % 4 !== 0
        ? lengthProblem("treat-as-withdraw", `CLUSTER_LIST length ${v.length}`)
        : { kind: "cluster-list", code: 10, flags, clusterList: ipv4List(v) };
    },
    encode: (a) => ipv4Bytes((a as { clusterList: readonly string[] }).clusterList),
  },
  {
    code: AttrType.MpReachNlri,
    kind: "mp-reach",
    flags: OPT_NON_TRANS,
    onError: "session-reset",
    decode: (v, flags, ctx, valueOffset) => {
      // RFC 7606 §7.11: if the next hop cannot be read, the NLRI cannot be located: session reset.
      const bad = (detail: string): AttrProblem => ({
        subcode: UpdateSub.OptionalAttributeError,
        action: "session-reset",
        detail,
      });
      if (v.length < 5) return bad(`MP_REACH_NLRI length ${v.length}`);
      const afi = (v[0]! << 8) | v[1]!;
      const safi = v[2]!;
      const nhLen = v[3]!;
      if (4 + nhLen + 1 > v.length)
        return bad(`MP_REACH_NLRI next hop length ${nhLen} runs past the attribute`);
      const fam = prefixFamily(afi, safi);
      if (fam === undefined) return { kind: "unknown", code: 14, flags, value: v.slice() };
      const nextHop = decodeNextHops(v.subarray(4, 4 + nhLen), fam);
      if (nextHop === undefined) return bad(`MP_REACH_NLRI next hop length ${nhLen} for AFI ${afi}`);
      const start = 5 + nhLen;
      const nlri = decodePrefixes(v, start, v.length, fam, addPathFor(ctx, fam), valueOffset, {
        subcode: UpdateSub.OptionalAttributeError,
        action: "session-reset",
        attrType: 14,
      });
      return { kind: "mp-reach", code: 14, flags, afi: fam, safi, nextHop, reserved: v[4 + nhLen]!, nlri };
    },
    encode: (a) => {
      const m = a as Extract<PathAttribute, { kind: "mp-reach" }>;
      const nh = encodeNextHops(m.nextHop);
      const out = new Uint8Array(5 + nh.length + encodedSizeOfAll(m.nlri));
      out[0] = m.afi >> 8;
      out[1] = m.afi & 0xff;
      out[2] = m.safi;
      out[3] = nh.length;
      out.set(nh, 4);
      out[4 + nh.length] = m.reserved;
      encodePrefixes(m.nlri, 0, m.nlri.count, out, 5 + nh.length);
      return out;
    },
  },
  {
    code: AttrType.MpUnreachNlri,
    kind: "mp-unreach",
    flags: OPT_NON_TRANS,
    onError: "session-reset",
    decode: (v, flags, ctx, valueOffset) => {
      if (v.length < 3)
        return {
          subcode: UpdateSub.OptionalAttributeError,
          action: "session-reset",
          detail: `MP_UNREACH_NLRI length ${v.length}`,
        };
      const afi = (v[0]! << 8) | v[1]!;
      const safi = v[2]!;
      const fam = prefixFamily(afi, safi);
      if (fam === undefined) return { kind: "unknown", code: 15, flags, value: v.slice() };
      const withdrawn = decodePrefixes(v, 3, v.length, fam, addPathFor(ctx, fam), valueOffset, {
        subcode: UpdateSub.OptionalAttributeError,
        action: "session-reset",
        attrType: 15,
      });
      return { kind: "mp-unreach", code: 15, flags, afi: fam, safi, withdrawn };
    },
    encode: (a) => {
      const m = a as Extract<PathAttribute, { kind: "mp-unreach" }>;
      const out = new Uint8Array(3 + encodedSizeOfAll(m.withdrawn));
      out[0] = m.afi >> 8;
      out[1] = m.afi & 0xff;
      out[2] = m.safi;
      encodePrefixes(m.withdrawn, 0, m.withdrawn.count, out, 3);
      return out;
    },
  },
  {
    code: AttrType.ExtendedCommunities,
    kind: "extended-communities",
    flags: OPT_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length === 0 || v.length % 8 !== 0
        ? lengthProblem("treat-as-withdraw", `EXTENDED_COMMUNITIES length ${v.length}`)
        : { kind: "extended-communities", code: 16, flags, value: v.slice() },
    encode: (a) => (a as { value: Uint8Array }).value,
  },
  {
    code: AttrType.As4Path,
    kind: "as4-path",
    flags: OPT_TRANS,
    // RFC 6793 §6: a malformed AS4_PATH is discarded, the UPDATE kept.
    onError: "attribute-discard",
    decode: (v, flags) => {
      const s = decodeSegments(v, 4);
      if (typeof s === "string")
        return {
          subcode: UpdateSub.OptionalAttributeError,
          action: "attribute-discard",
          detail: `AS4_PATH: ${s}`,
        };
      if (s.length === 0) return lengthProblem("attribute-discard", "AS4_PATH of length zero");
      return { kind: "as4-path", code: 17, flags, segments: s };
    },
    encode: (a) => encodeSegments((a as { segments: readonly AsPathSegment[] }).segments, 4),
  },
  {
    code: AttrType.As4Aggregator,
    kind: "as4-aggregator",
    flags: OPT_TRANS,
    onError: "attribute-discard",
    decode: (v, flags) =>
      v.length !== 8
        ? lengthProblem("attribute-discard", `AS4_AGGREGATOR length ${v.length}`)
        : { kind: "as4-aggregator", code: 18, flags, as: u32(v, 0), address: formatIpv4(v, 4) },
    encode: (a) => {
      const g = a as { as: number; address: string };
      return Uint8Array.of(...be32(g.as), ...ipv4(g.address));
    },
  },
  {
    code: AttrType.LargeCommunity,
    kind: "large-communities",
    flags: OPT_TRANS,
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length === 0 || v.length % 12 !== 0
        ? lengthProblem("treat-as-withdraw", `LARGE_COMMUNITY length ${v.length}`)
        : { kind: "large-communities", code: 32, flags, communities: u32List(v) },
    encode: (a) => u32Bytes((a as { communities: readonly number[] }).communities),
  },
  {
    code: AttrType.OnlyToCustomer,
    kind: "otc",
    flags: OPT_TRANS,
    // RFC 9234 §5: "An UPDATE message with a malformed OTC Attribute SHALL be handled using the
    // approach of 'treat-as-withdraw'."
    onError: "treat-as-withdraw",
    decode: (v, flags) =>
      v.length !== 4
        ? lengthProblem("treat-as-withdraw", `OTC length ${v.length}`)
        : { kind: "otc", code: 35, flags, asn: u32(v, 0) },
    encode: (a) => be32((a as { asn: number }).asn),
  },
];

const BY_CODE: ReadonlyMap<number, Descriptor> = new Map(DESCRIPTORS.map((d) => [d.code, d]));
const BY_KIND: ReadonlyMap<string, Descriptor> = new Map(DESCRIPTORS.map((d) => [d.kind, d]));

export function attributeDescriptor(code: number): Descriptor | undefined {
  return BY_CODE.get(code);
}

/** Canonical flags for a known attribute code (what we send for an attribute we originate). */
export function defaultFlags(code: number): number {
  return BY_CODE.get(code)?.flags ?? OPT_TRANS;
}

/**
 * Checks the flags of a known attribute: Optional and Transitive as specified; Partial only on optional
 * transitive ones (RFC 4271 §4.3). Returns a problem or undefined.
 */
export function checkFlags(d: Descriptor, flags: number): AttrProblem | undefined {
  const ot = flags & (AttrFlag.Optional | AttrFlag.Transitive);
  const partialBad = (flags & AttrFlag.Partial) !== 0 && d.flags !== OPT_TRANS;
  if (ot === d.flags && !partialBad) return undefined;
  return {
    subcode: UpdateSub.AttributeFlagsError,
    action:
      d.onError === "attribute-discard"
        ? "attribute-discard"
        : d.onError === "session-reset"
          ? "session-reset"
          : "treat-as-withdraw",
    detail: `flags 0x${flags.toString(16).padStart(2, "0")} are wrong for attribute ${d.code}`,
  };
}

/** The value bytes of an attribute (without flags/type/length). */
export function encodeAttributeValue(a: PathAttribute, ctx: AttrContext): Uint8Array {
  if (a.kind === "unknown" || a.kind === "malformed") return a.value;
  return BY_KIND.get(a.kind)!.encode(a, ctx);
}

/** flags(1) type(1) length(1|2) value; the extended-length bit is set when the value needs it. */
export function encodeAttribute(a: PathAttribute, ctx: AttrContext): Uint8Array {
  const value = encodeAttributeValue(a, ctx);
  if (value.length > 0xffff)
    throw new Error(`attribute ${a.code} value of ${value.length} bytes does not fit`);
  const ext = (a.flags & AttrFlag.ExtendedLength) !== 0 || value.length > 255;
  const flags = ext ? a.flags | AttrFlag.ExtendedLength : a.flags;
  const head = ext ? 4 : 3;
  const out = new Uint8Array(head + value.length);
  out[0] = flags;
  out[1] = a.code;
  if (ext) {
    out[2] = value.length >> 8;
    out[3] = value.length & 0xff;
  } else {
    out[2] = value.length;
  }
  out.set(value, head);
  return out;
}
