/**
 * The JSON view of BGP messages used by `tabby bgp decode` / `encode` and documented in
 * docs/bgp-json.md. It is lossless: `messageFromJson(messageToJson(m))` re-encodes to the same bytes,
 * so it keeps attribute order, raw flags, path ids, the MP_REACH reserved octet and malformed
 * attributes as hex. Fields marked informative in the docs (names, texts) are ignored on the way back.
 */
import { type AsPathSegment, formatAsPath, SegmentType } from "./as-path.js";
import type { AttrContext, Origin, PathAttribute } from "./attributes.js";
import { type Capability, decodeCapabilities, encodeCapabilities } from "./capabilities.js";
import { Afi, type AfiCode, errorCodeName, errorSubcodeName, WELL_KNOWN_COMMUNITIES } from "./constants.js";
import { BgpDecodeError } from "./errors.js";
import { fromHex, toHex } from "./hex.js";
import type { BgpMessage } from "./message.js";
import { describeNotification, shutdownCommunication } from "./notification.js";
import type { OpenMessage, OptionalParameter } from "./open.js";
import { type PrefixList, prefixListFromStrings, prefixString } from "./prefix-list.js";
import { endOfRibFamily, type UpdateMessage } from "./update.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const brand: unique symbol = Symbol.for("tabby.error") as never;

/** A JSON message that cannot be encoded; `path` names the field. */
export class BgpJsonError extends Error {
  readonly [brand] = true;
  override readonly name = "BgpJsonError";
  readonly code = "BGP_JSON";
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

export const ATTR_NAMES: Record<number, string> = {
  1: "ORIGIN",
  2: "AS_PATH",
  3: "NEXT_HOP",
  4: "MULTI_EXIT_DISC",
  5: "LOCAL_PREF",
  6: "ATOMIC_AGGREGATE",
  7: "AGGREGATOR",
  8: "COMMUNITIES",
  9: "ORIGINATOR_ID",
  10: "CLUSTER_LIST",
  14: "MP_REACH_NLRI",
  15: "MP_UNREACH_NLRI",
  16: "EXTENDED_COMMUNITIES",
  17: "AS4_PATH",
  18: "AS4_AGGREGATOR",
  32: "LARGE_COMMUNITY",
};
const ORIGIN_NAMES = ["igp", "egp", "incomplete"] as const;
const SEGMENT_NAMES: Record<number, string> = {
  [SegmentType.AsSet]: "AS_SET",
  [SegmentType.AsSequence]: "AS_SEQUENCE",
  [SegmentType.ConfedSequence]: "AS_CONFED_SEQUENCE",
  [SegmentType.ConfedSet]: "AS_CONFED_SET",
};
const COMMUNITY_BY_NAME = new Map([...WELL_KNOWN_COMMUNITIES].map(([v, n]) => [n, v]));
const RR_SUBTYPES = ["request", "BoRR", "EoRR"];

// ---- to JSON -----------------------------------------------------------------------------------------

export function errorToJson(e: BgpDecodeError): Obj {
  return {
    code: e.errorCode,
    subcode: e.subcode,
    codeName: errorCodeName(e.errorCode),
    subcodeName: errorSubcodeName(e.errorCode, e.subcode),
    action: e.action,
    offset: e.offset,
    ...(e.attrType !== undefined ? { attrType: e.attrType } : {}),
    data: toHex(e.data),
    detail: e.detail,
  };
}

function prefixesToJson(list: PrefixList): Json[] {
  const out: Json[] = [];
  for (let i = 0; i < list.count; i++) {
    out.push(
      list.pathIds ? { pathId: list.pathIds[i]!, prefix: prefixString(list, i) } : prefixString(list, i),
    );
  }
  return out;
}

export function communityToString(c: number): string {
  return WELL_KNOWN_COMMUNITIES.get(c) ?? `${c >>> 16}:${c & 0xffff}`;
}

/** RFC 4360 / RFC 5668 / RFC 7153 common types as text, for reading only. */
export function extendedCommunityText(v: Uint8Array, o: number): string {
  const type = v[o]!;
  const sub = v[o + 1]!;
  const u16 = (k: number) => (v[o + k]! << 8) | v[o + k + 1]!;
  const u32 = (k: number) =>
    ((v[o + k]! << 24) | (v[o + k + 1]! << 16) | (v[o + k + 2]! << 8) | v[o + k + 3]!) >>> 0;
  const kind = sub === 2 ? "rt" : sub === 3 ? "ro" : undefined;
  if (kind && (type === 0x00 || type === 0x40)) return `${kind} ${u16(2)}:${u32(4)}`;
  if (kind && (type === 0x01 || type === 0x41))
    return `${kind} ${v[o + 2]}.${v[o + 3]}.${v[o + 4]}.${v[o + 5]}:${u16(6)}`;
  if (kind && (type === 0x02 || type === 0x42)) return `${kind} ${u32(2)}:${u16(6)}`;
  return `type 0x${type.toString(16).padStart(2, "0")} subtype 0x${sub.toString(16).padStart(2, "0")}`;
}

function segmentsToJson(segments: readonly AsPathSegment[]): Json {
  return segments.map((s) => ({ type: SEGMENT_NAMES[s.type] ?? s.type, asns: [...s.asns] }));
}

export function attributeToJson(a: PathAttribute): Obj {
  const base: Obj = {
    code: a.code,
    name: ATTR_NAMES[a.code] ?? "UNKNOWN",
    flags: `0x${a.flags.toString(16).padStart(2, "0")}`,
  };
  switch (a.kind) {
    case "origin":
      return { ...base, origin: ORIGIN_NAMES[a.origin] };
    case "as-path":
    case "as4-path":
      return { ...base, segments: segmentsToJson(a.segments), text: formatAsPath(a.segments) };
    case "next-hop":
      return { ...base, nextHop: a.nextHop };
    case "med":
      return { ...base, med: a.med };
    case "local-pref":
      return { ...base, localPref: a.localPref };
    case "atomic-aggregate":
      return base;
    case "aggregator":
    case "as4-aggregator":
      return { ...base, as: a.as, address: a.address };
    case "communities":
      return { ...base, communities: a.communities.map(communityToString) };
    case "originator-id":
      return { ...base, originatorId: a.originatorId };
    case "cluster-list":
      return { ...base, clusterList: [...a.clusterList] };
    case "mp-reach":
      return {
        ...base,
        afi: a.afi,
        safi: a.safi,
        nextHop: [...a.nextHop],
        ...(a.reserved !== 0 ? { reserved: a.reserved } : {}),
        nlri: prefixesToJson(a.nlri),
      };
    case "mp-unreach":
      return { ...base, afi: a.afi, safi: a.safi, withdrawn: prefixesToJson(a.withdrawn) };
    case "extended-communities": {
      const hex: Json[] = [];
      const text: Json[] = [];
      for (let o = 0; o < a.value.length; o += 8) {
        hex.push(toHex(a.value.subarray(o, o + 8)));
        text.push(extendedCommunityText(a.value, o));
      }
      return { ...base, communities: hex, text };
    }
    case "large-communities": {
      const out: Json[] = [];
      for (let i = 0; i < a.communities.length; i += 3) {
        out.push(`${a.communities[i]}:${a.communities[i + 1]}:${a.communities[i + 2]}`);
      }
      return { ...base, communities: out };
    }
    case "otc":
      return { ...base, asn: a.asn };
    case "unknown":
      return { ...base, value: toHex(a.value) };
    case "malformed":
      return { ...base, value: toHex(a.value), error: errorToJson(a.error) };
  }
}

function capabilityToJson(c: Capability): Obj {
  if (c.name === "unknown") return { code: c.code, name: "unknown", value: toHex(c.value) };
  return JSON.parse(JSON.stringify(c)) as Obj;
}

function openToJson(m: OpenMessage): Obj {
  return {
    version: m.version,
    myAs: m.myAs,
    holdTime: m.holdTime,
    bgpId: m.bgpId,
    ...(m.extendedParams ? { extendedParams: true } : {}),
    params: m.params.map((p) => ({ type: p.type, capabilities: p.capabilities.map(capabilityToJson) })),
  };
}

function updateToJson(m: UpdateMessage, ctx: AttrContext): Obj {
  const eor = endOfRibFamily(m);
  return {
    fourOctetAs: ctx.fourOctetAs,
    withdrawn: prefixesToJson(m.withdrawn),
    attributes: m.attributes.map(attributeToJson),
    nlri: prefixesToJson(m.nlri),
    ...(m.unparsedAttributes ? { unparsedAttributes: toHex(m.unparsedAttributes) } : {}),
    ...(eor ? { endOfRib: { afi: eor.afi, safi: eor.safi } } : {}),
    ...(m.treatAsWithdraw ? { treatAsWithdraw: errorToJson(m.treatAsWithdraw) } : {}),
    ...(m.discarded ? { discarded: m.discarded.map(errorToJson) } : {}),
  };
}

export function messageToJson(m: BgpMessage, ctx: AttrContext): Obj {
  switch (m.type) {
    case "OPEN":
      return { type: m.type, ...openToJson(m) };
    case "UPDATE":
      return { type: m.type, ...updateToJson(m, ctx) };
    case "NOTIFICATION": {
      const text = shutdownCommunication(m);
      return {
        type: m.type,
        code: m.code,
        subcode: m.subcode,
        data: toHex(m.data),
        description: describeNotification(m),
        ...(text !== undefined ? { shutdownCommunication: text } : {}),
      };
    }
    case "KEEPALIVE":
      return { type: m.type };
    case "ROUTE-REFRESH":
      return {
        type: m.type,
        afi: m.afi,
        safi: m.safi,
        subtype: m.subtype,
        subtypeName: RR_SUBTYPES[m.subtype] ?? "reserved",
      };
  }
}

// ---- from JSON ---------------------------------------------------------------------------------------

class Reader {
  constructor(
    private readonly o: Obj,
    readonly path: string,
  ) {}
  static of(v: Json | undefined, path: string): Reader {
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new BgpJsonError(path, "must be an object");
    return new Reader(v, path);
  }
  has(k: string): boolean {
    return this.o[k] !== undefined && this.o[k] !== null;
  }
  raw(k: string): Json | undefined {
    return this.o[k];
  }
  int(k: string, max: number, fallback?: number): number {
    const v = this.o[k] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
      throw new BgpJsonError(`${this.path}.${k}`, `must be an integer 0..${max}`);
    }
    return v;
  }
  str(k: string): string {
    const v = this.o[k];
    if (typeof v !== "string") throw new BgpJsonError(`${this.path}.${k}`, "must be a string");
    return v;
  }
  list(k: string): Json[] {
    const v = this.o[k] ?? [];
    if (!Array.isArray(v)) throw new BgpJsonError(`${this.path}.${k}`, "must be a list");
    return v;
  }
  hex(k: string): Uint8Array {
    try {
      return fromHex(this.str(k));
    } catch (e) {
      throw new BgpJsonError(`${this.path}.${k}`, (e as Error).message);
    }
  }
}

function wrap<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BgpJsonError) throw e;
    throw new BgpJsonError(path, (e as Error).message);
  }
}

function prefixesFromJson(items: Json[], afi: AfiCode, path: string): PrefixList {
  const withIds = items.some((x) => typeof x === "object" && x !== null);
  const prefixes: string[] = [];
  const ids: number[] = [];
  items.forEach((x, i) => {
    if (withIds) {
      const r = Reader.of(x, `${path}[${i}]`);
      prefixes.push(r.str("prefix"));
      ids.push(r.int("pathId", 0xffffffff));
    } else {
      if (typeof x !== "string") throw new BgpJsonError(`${path}[${i}]`, "must be a prefix string");
      prefixes.push(x);
    }
  });
  return wrap(path, () => prefixListFromStrings(afi, prefixes, withIds ? ids : undefined));
}

function parseCommunity(s: Json, path: string): number {
  if (typeof s !== "string") throw new BgpJsonError(path, "must be a string");
  const named = COMMUNITY_BY_NAME.get(s);
  if (named !== undefined) return named;
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff)
    throw new BgpJsonError(path, `bad community ${JSON.stringify(s)}`);
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

function segmentsFromJson(items: Json[], path: string): AsPathSegment[] {
  const byName = new Map(Object.entries(SEGMENT_NAMES).map(([k, v]) => [v, Number(k)]));
  return items.map((x, i) => {
    const r = Reader.of(x, `${path}[${i}]`);
    const t = r.raw("type");
    const type = typeof t === "string" ? byName.get(t) : t;
    if (typeof type !== "number")
      throw new BgpJsonError(
        `${path}[${i}].type`,
        "must be AS_SEQUENCE, AS_SET, AS_CONFED_SEQUENCE or AS_CONFED_SET",
      );
    const asns = r.list("asns").map((a, k) => {
      if (typeof a !== "number" || !Number.isInteger(a) || a < 0 || a > 0xffffffff) {
        throw new BgpJsonError(`${path}[${i}].asns[${k}]`, "must be an AS number");
      }
      return a;
    });
    return { type, asns };
  });
}

function afiOf(r: Reader): AfiCode {
  const afi = r.int("afi", 0xffff);
  if (afi !== Afi.Ipv4 && afi !== Afi.Ipv6)
    throw new BgpJsonError(`${r.path}.afi`, "only 1 (IPv4) and 2 (IPv6) have prefix NLRI");
  return afi;
}

export function attributeFromJson(x: Json, path: string): PathAttribute {
  const r = Reader.of(x, path);
  const code = r.int("code", 255);
  const f = r.raw("flags");
  const flags = typeof f === "string" ? Number.parseInt(f, 16) : f;
  if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > 255) {
    throw new BgpJsonError(`${path}.flags`, 'must be a byte, e.g. "0x40"');
  }
  const b = { code, flags };
  if (r.has("value")) {
    // Malformed and unknown attributes travel as their value bytes.
    return { kind: "unknown", ...b, value: r.hex("value") };
  }
  switch (code) {
    case 1: {
      const o = ORIGIN_NAMES.indexOf(r.str("origin") as (typeof ORIGIN_NAMES)[number]);
      if (o < 0) throw new BgpJsonError(`${path}.origin`, "must be igp, egp or incomplete");
      return { kind: "origin", ...b, origin: o as Origin };
    }
    case 2:
      return { kind: "as-path", ...b, segments: segmentsFromJson(r.list("segments"), `${path}.segments`) };
    case 17:
      return { kind: "as4-path", ...b, segments: segmentsFromJson(r.list("segments"), `${path}.segments`) };
    case 3:
      return { kind: "next-hop", ...b, nextHop: r.str("nextHop") };
    case 4:
      return { kind: "med", ...b, med: r.int("med", 0xffffffff) };
    case 5:
      return { kind: "local-pref", ...b, localPref: r.int("localPref", 0xffffffff) };
    case 6:
      return { kind: "atomic-aggregate", ...b };
    case 7:
      return { kind: "aggregator", ...b, as: r.int("as", 0xffffffff), address: r.str("address") };
    case 18:
      return { kind: "as4-aggregator", ...b, as: r.int("as", 0xffffffff), address: r.str("address") };
    case 8:
      return {
        kind: "communities",
        ...b,
        communities: r.list("communities").map((c, i) => parseCommunity(c, `${path}.communities[${i}]`)),
      };
    case 9:
      return { kind: "originator-id", ...b, originatorId: r.str("originatorId") };
    case 10:
      return {
        kind: "cluster-list",
        ...b,
        clusterList: r.list("clusterList").map((c, i) => {
          if (typeof c !== "string")
            throw new BgpJsonError(`${path}.clusterList[${i}]`, "must be an address");
          return c;
        }),
      };
    case 14: {
      const afi = afiOf(r);
      const nextHop = r.list("nextHop").map((n, i) => {
        if (typeof n !== "string") throw new BgpJsonError(`${path}.nextHop[${i}]`, "must be an address");
        return n;
      });
      return {
        kind: "mp-reach",
        ...b,
        afi,
        safi: r.int("safi", 255),
        nextHop,
        reserved: r.int("reserved", 255, 0),
        nlri: prefixesFromJson(r.list("nlri"), afi, `${path}.nlri`),
      };
    }
    case 15: {
      const afi = afiOf(r);
      return {
        kind: "mp-unreach",
        ...b,
        afi,
        safi: r.int("safi", 255),
        withdrawn: prefixesFromJson(r.list("withdrawn"), afi, `${path}.withdrawn`),
      };
    }
    case 16: {
      const parts = r.list("communities").map((c, i) => {
        const bytes = wrap(`${path}.communities[${i}]`, () => fromHex(String(c)));
        if (bytes.length !== 8) throw new BgpJsonError(`${path}.communities[${i}]`, "must be 8 bytes of hex");
        return bytes;
      });
      const value = new Uint8Array(parts.length * 8);
      parts.forEach((p, i) => {
        value.set(p, i * 8);
      });
      return { kind: "extended-communities", ...b, value };
    }
    case 32: {
      const flat: number[] = [];
      r.list("communities").forEach((c, i) => {
        const m = typeof c === "string" ? /^(\d+):(\d+):(\d+)$/.exec(c) : null;
        if (!m || [m[1], m[2], m[3]].some((n) => Number(n) > 0xffffffff)) {
          throw new BgpJsonError(`${path}.communities[${i}]`, "must be global:local1:local2");
        }
        flat.push(Number(m[1]), Number(m[2]), Number(m[3]));
      });
      return { kind: "large-communities", ...b, communities: flat };
    }
    case 35:
      return { kind: "otc", ...b, asn: r.int("asn", 0xffffffff) };
    default:
      throw new BgpJsonError(`${path}.value`, `attribute ${code} needs its value as hex`);
  }
}

function capabilityFromJson(x: Json, path: string): Capability {
  const r = Reader.of(x, path);
  if (r.raw("name") === "unknown")
    return { name: "unknown", code: r.int("code", 255), value: r.hex("value") };
  // Known capabilities are plain data; prove the fields are complete by encoding and decoding them.
  const cap = x as unknown as Capability;
  const back = wrap(path, () => {
    const bytes = encodeCapabilities([cap]);
    return decodeCapabilities(bytes, 0, bytes.length, 0)[0];
  });
  if (JSON.stringify(back) !== JSON.stringify(x)) {
    throw new BgpJsonError(path, `fields do not describe a valid ${String(r.raw("name"))} capability`);
  }
  return back as Capability;
}

export interface EncodableMessage {
  readonly message: BgpMessage;
  readonly ctx: AttrContext;
}

/** The inverse of `messageToJson`; `path` prefixes field names in errors (e.g. "line 3"). */
export function messageFromJson(x: Json, path = "message"): EncodableMessage {
  const r = Reader.of(x, path);
  const type = r.str("type");
  const ctx: AttrContext = { fourOctetAs: r.raw("fourOctetAs") === true };
  switch (type) {
    case "OPEN": {
      const params: OptionalParameter[] = r.list("params").map((p, i) => {
        const pr = Reader.of(p, `${path}.params[${i}]`);
        if (pr.int("type", 255) !== 2)
          throw new BgpJsonError(`${path}.params[${i}].type`, "only 2 (capabilities) is supported");
        return {
          type: 2,
          capabilities: pr
            .list("capabilities")
            .map((c, k) => capabilityFromJson(c, `${path}.params[${i}].capabilities[${k}]`)),
        };
      });
      const message: OpenMessage = {
        type: "OPEN",
        version: r.int("version", 255),
        myAs: r.int("myAs", 0xffff),
        holdTime: r.int("holdTime", 0xffff),
        bgpId: r.str("bgpId"),
        params,
        ...(r.raw("extendedParams") === true ? { extendedParams: true } : {}),
      };
      return { message, ctx };
    }
    case "UPDATE": {
      const message: UpdateMessage = {
        type: "UPDATE",
        withdrawn: prefixesFromJson(r.list("withdrawn"), 1, `${path}.withdrawn`),
        attributes: r.list("attributes").map((a, i) => attributeFromJson(a, `${path}.attributes[${i}]`)),
        nlri: prefixesFromJson(r.list("nlri"), 1, `${path}.nlri`),
        ...(r.has("unparsedAttributes") ? { unparsedAttributes: r.hex("unparsedAttributes") } : {}),
      };
      return { message, ctx };
    }
    case "NOTIFICATION":
      return {
        message: {
          type: "NOTIFICATION",
          code: r.int("code", 255),
          subcode: r.int("subcode", 255),
          data: r.hex("data"),
        },
        ctx,
      };
    case "KEEPALIVE":
      return { message: { type: "KEEPALIVE" }, ctx };
    case "ROUTE-REFRESH":
      return {
        message: {
          type: "ROUTE-REFRESH",
          afi: r.int("afi", 0xffff),
          safi: r.int("safi", 255),
          subtype: r.int("subtype", 255, 0),
        },
        ctx,
      };
    default:
      throw new BgpJsonError(`${path}.type`, `unknown message type ${JSON.stringify(type)}`);
  }
}

export { BgpDecodeError };
