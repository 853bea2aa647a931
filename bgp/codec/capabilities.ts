/**
 * BGP capabilities (RFC 5492) as a table: one descriptor per code with its decoder and encoder, in the
 * spirit of BIRD's `bgp_read_capabilities`. Known: multiprotocol (RFC 4760), route refresh (RFC 2918)
 * and Cisco's pre-standard 128, extended next hop (RFC 8950), extended message (RFC 8654), BGP role
 * (RFC 9234), graceful restart (RFC 4724), 4-octet AS (RFC 6793), ADD-PATH (RFC 7911), enhanced route
 * refresh (RFC 7313), long-lived graceful restart (RFC 9494) and FQDN (draft-walton-bgp-hostname, as
 * FRR sends it). Anything else is kept as bytes. A known capability with an impossible length is an
 * OPEN Message Error / Unspecific, as BIRD answers it.
 */
import { CapCode } from "./constants.js";
import { BgpDecodeError } from "./errors.js";

export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

export type Capability =
  | {
      readonly name: "multiprotocol";
      readonly code: 1;
      readonly afi: number;
      readonly safi: number;
      readonly reserved?: number;
    }
  | { readonly name: "route-refresh"; readonly code: 2 }
  | { readonly name: "route-refresh-old"; readonly code: 128 }
  | { readonly name: "extended-message"; readonly code: 6 }
  | { readonly name: "enhanced-route-refresh"; readonly code: 70 }
  | {
      readonly name: "extended-next-hop";
      readonly code: 5;
      readonly entries: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly nextHopAfi: number;
      }[];
    }
  | { readonly name: "role"; readonly code: 9; readonly role: number }
  | {
      readonly name: "graceful-restart";
      readonly code: 64;
      /** The 4 high bits: 0x8 = R (restart state), 0x4 = N (notification, RFC 8538). */
      readonly restartFlags: number;
      readonly restartTimeSec: number;
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly flags: number }[];
    }
  | { readonly name: "four-octet-as"; readonly code: 65; readonly as: number }
  | {
      readonly name: "add-path";
      readonly code: 69;
      /** sendReceive: 1 = receive, 2 = send, 3 = both (RFC 7911 §4). */
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly sendReceive: number;
      }[];
    }
  | {
      readonly name: "long-lived-graceful-restart";
      readonly code: 71;
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly flags: number;
        readonly staleTimeSec: number;
      }[];
    }
  | { readonly name: "fqdn"; readonly code: 73; readonly hostname: string; readonly domain: string }
  | { readonly name: "unknown"; readonly code: number; readonly value: Uint8Array };

export type CapabilityName = Capability["name"];

interface Descriptor {
  readonly name: Exclude<CapabilityName, "unknown">;
  readonly code: number;
  /** Returns undefined when the value is malformed. */
  decode(v: Uint8Array): Capability | undefined;
  encode(c: Capability): Uint8Array;
}

const u16 = (v: Uint8Array, o: number) => (v[o]! << 8) | v[o + 1]!;
const u24 = (v: Uint8Array, o: number) => (v[o]! << 16) | (v[o + 1]! << 8) | v[o + 2]!;
const u32 = (v: Uint8Array, o: number) =>
  ((v[o]! << 24) | (v[o + 1]! << 16) | (v[o + 2]! << 8) | v[o + 3]!) >>> 0;

function bytes(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}
const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be24 = (n: number) => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function empty<
  N extends "route-refresh" | "route-refresh-old" | "extended-message" | "enhanced-route-refresh",
>(name: N, code: number): Descriptor {
  return {
    name,
    code,
    decode: (v) => (v.length === 0 ? ({ name, code } as Capability) : undefined),
    encode: () => new Uint8Array(0),
  };
}

/** A list of fixed-size tuples; undefined if the length is not a multiple of `size`. */
function tuples<T>(v: Uint8Array, start: number, size: number, read: (o: number) => T): T[] | undefined {
  if ((v.length - start) % size !== 0) return undefined;
  const out: T[] = [];
  for (let o = start; o < v.length; o += size) out.push(read(o));
  return out;
}

const DESCRIPTORS: readonly Descriptor[] = [
  {
    name: "multiprotocol",
    code: CapCode.Multiprotocol,
    decode: (v) =>
      v.length === 4
        ? {
            name: "multiprotocol",
            code: 1,
            afi: u16(v, 0),
            safi: v[3]!,
            ...(v[2] !== 0 ? { reserved: v[2]! } : {}),
          }
        : undefined,
    encode: (c) => {
      const m = c as Extract<Capability, { name: "multiprotocol" }>;
      return bytes(be16(m.afi), [m.reserved ?? 0, m.safi]);
    },
  },
  empty("route-refresh", CapCode.RouteRefresh),
  empty("route-refresh-old", CapCode.RouteRefreshOld),
  empty("extended-message", CapCode.ExtendedMessage),
  empty("enhanced-route-refresh", CapCode.EnhancedRouteRefresh),
  {
    name: "extended-next-hop",
    code: CapCode.ExtendedNextHop,
    decode: (v) => {
      const entries = tuples(v, 0, 6, (o) => ({
        afi: u16(v, o),
        safi: u16(v, o + 2),
        nextHopAfi: u16(v, o + 4),
      }));
      return entries && { name: "extended-next-hop", code: 5, entries };
    },
    encode: (c) => {
      const e = c as Extract<Capability, { name: "extended-next-hop" }>;
      return bytes(...e.entries.map((x) => [...be16(x.afi), ...be16(x.safi), ...be16(x.nextHopAfi)]));
    },
  },
  {
    name: "role",
    code: CapCode.Role,
    decode: (v) => (v.length === 1 ? { name: "role", code: 9, role: v[0]! } : undefined),
    encode: (c) => bytes([(c as Extract<Capability, { name: "role" }>).role]),
  },
  {
    name: "graceful-restart",
    code: CapCode.GracefulRestart,
    decode: (v) => {
      if (v.length < 2) return undefined;
      const families = tuples(v, 2, 4, (o) => ({ afi: u16(v, o), safi: v[o + 2]!, flags: v[o + 3]! }));
      return (
        families && {
          name: "graceful-restart",
          code: 64,
          restartFlags: v[0]! >> 4,
          restartTimeSec: u16(v, 0) & 0x0fff,
          families,
        }
      );
    },
    encode: (c) => {
      const g = c as Extract<Capability, { name: "graceful-restart" }>;
      const head = ((g.restartFlags & 0xf) << 12) | (g.restartTimeSec & 0x0fff);
      return bytes(be16(head), ...g.families.map((f) => [...be16(f.afi), f.safi, f.flags]));
    },
  },
  {
    name: "four-octet-as",
    code: CapCode.FourOctetAs,
    decode: (v) => (v.length === 4 ? { name: "four-octet-as", code: 65, as: u32(v, 0) } : undefined),
    encode: (c) => bytes(be32((c as Extract<Capability, { name: "four-octet-as" }>).as)),
  },
  {
    name: "add-path",
    code: CapCode.AddPath,
    decode: (v) => {
      const families = tuples(v, 0, 4, (o) => ({ afi: u16(v, o), safi: v[o + 2]!, sendReceive: v[o + 3]! }));
      return families && { name: "add-path", code: 69, families };
    },
    encode: (c) => {
      const a = c as Extract<Capability, { name: "add-path" }>;
      return bytes(...a.families.map((f) => [...be16(f.afi), f.safi, f.sendReceive]));
    },
  },
  {
    name: "long-lived-graceful-restart",
    code: CapCode.LongLivedGracefulRestart,
    decode: (v) => {
      const families = tuples(v, 0, 7, (o) => ({
        afi: u16(v, o),
        safi: v[o + 2]!,
        flags: v[o + 3]!,
        staleTimeSec: u24(v, o + 4),
      }));
      return families && { name: "long-lived-graceful-restart", code: 71, families };
    },
    encode: (c) => {
      const l = c as Extract<Capability, { name: "long-lived-graceful-restart" }>;
      return bytes(...l.families.map((f) => [...be16(f.afi), f.safi, f.flags, ...be24(f.staleTimeSec)]));
    },
  },
  {
    name: "fqdn",
    code: CapCode.Fqdn,
    decode: (v) => {
      if (v.length < 1) return undefined;
      const hl = v[0]!;
      if (1 + hl + 1 > v.length) return undefined;
      const dl = v[1 + hl]!;
      if (2 + hl + dl !== v.length) return undefined;
      // Not UTF-8: keep the bytes (as an unknown capability) rather than alter them.
      const text = new TextDecoder("utf-8", { fatal: true });
      try {
        return {
          name: "fqdn",
          code: 73,
          hostname: text.decode(v.subarray(1, 1 + hl)),
          domain: text.decode(v.subarray(2 + hl, 2 + hl + dl)),
        };
      } catch {
        return { name: "unknown", code: 73, value: v.slice() };
      }
    },
    encode: (c) => {
      const f = c as Extract<Capability, { name: "fqdn" }>;
      const enc = new TextEncoder();
      const h = enc.encode(f.hostname);
      const d = enc.encode(f.domain);
      if (h.length > 255 || d.length > 255)
        throw new Error("FQDN hostname and domain are at most 255 bytes each");
      return bytes([h.length], [...h], [d.length], [...d]);
    },
  },
];

const BY_CODE = new Map(DESCRIPTORS.map((d) => [d.code, d]));
const BY_NAME = new Map(DESCRIPTORS.map((d) => [d.name, d]));

/**
 * Decodes the capabilities inside one optional parameter: `v[start, end)` of the message, `msgOffset`
 * being the message offset of `v[0]`.
 */
export function decodeCapabilities(
  v: Uint8Array,
  start: number,
  end: number,
  msgOffset: number,
): Capability[] {
  const out: Capability[] = [];
  let p = start;
  while (p < end) {
    if (end - p < 2 || end - p < 2 + v[p + 1]!) {
      throw new BgpDecodeError(
        2,
        0,
        msgOffset + p,
        "session-reset",
        undefined,
        "capability runs past its optional parameter",
      );
    }
    const code = v[p]!;
    const len = v[p + 1]!;
    const value = v.subarray(p + 2, p + 2 + len);
    const d = BY_CODE.get(code);
    if (d === undefined) {
      out.push({ name: "unknown", code, value: value.slice() });
    } else {
      const cap = d.decode(value);
      if (cap === undefined) {
        throw new BgpDecodeError(
          2,
          0,
          msgOffset + p,
          "session-reset",
          undefined,
          `malformed ${d.name} capability (length ${len})`,
        );
      }
      out.push(cap);
    }
    p += 2 + len;
  }
  return out;
}

/** code(1) length(1) value, for each capability. */
export function encodeCapabilities(caps: readonly Capability[]): Uint8Array {
  const parts = caps.map((c) => {
    const value = c.name === "unknown" ? c.value : BY_NAME.get(c.name)!.encode(c);
    if (value.length > 255)
      throw new Error(`capability ${c.name} value is ${value.length} bytes; at most 255 fit`);
    return { code: c.code, value };
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + 2 + p.value.length, 0));
  let o = 0;
  for (const p of parts) {
    out[o] = p.code;
    out[o + 1] = p.value.length;
    out.set(p.value, o + 2);
    o += 2 + p.value.length;
  }
  return out;
}
