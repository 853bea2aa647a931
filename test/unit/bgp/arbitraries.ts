/** fast-check generators of well-formed BGP messages, for the codec's property tests and fuzzer. */
import fc from "fast-check";
import type { AsPathSegment } from "../../../bgp/codec/as-path.js";
import type { AttrContext, PathAttribute } from "../../../bgp/codec/attributes.js";
import { defaultFlags } from "../../../bgp/codec/attributes.js";
import type { Capability } from "../../../bgp/codec/capabilities.js";
import type { AfiCode } from "../../../bgp/codec/constants.js";
import { formatIpv6, parseIp } from "../../../bgp/codec/ip.js";
import type { BgpMessage } from "../../../bgp/codec/message.js";
import type { PrefixList } from "../../../bgp/codec/prefix-list.js";

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const ipv4 = fc.tuple(u8, u8, u8, u8).map((t) => t.join("."));
// Canonical (RFC 5952) text, as the decoder prints it.
const ipv6 = fc.ipV6().map((s) => formatIpv6(parseIp(s)));

export function prefixList(afi: AfiCode, addPath: boolean, max = 12): fc.Arbitrary<PrefixList> {
  const stride = afi === 1 ? 4 : 16;
  return fc
    .array(
      fc.tuple(
        fc.integer({ min: 0, max: stride * 8 }),
        fc.uint8Array({ minLength: stride, maxLength: stride }),
        u32,
      ),
      { maxLength: max },
    )
    .map((entries) => {
      const lengths = new Uint8Array(entries.length);
      const addrs = new Uint8Array(entries.length * stride);
      const pathIds = addPath ? new Uint32Array(entries.length) : undefined;
      entries.forEach(([bits, bytes, id], i) => {
        lengths[i] = bits;
        // Octets past the encoded ones cannot travel; bits inside the last octet can.
        addrs.set(bytes.subarray(0, (bits + 7) >> 3), i * stride);
        if (pathIds) pathIds[i] = id;
      });
      return { afi, count: entries.length, lengths, addrs, pathIds };
    });
}

const segments = (fourOctet: boolean): fc.Arbitrary<AsPathSegment[]> =>
  fc.array(
    fc.record({
      type: fc.integer({ min: 1, max: 4 }),
      asns: fc.array(fourOctet ? u32 : u16, { minLength: 1, maxLength: 8 }),
    }),
    { maxLength: 4 },
  );

const flagsFor = (code: number) => fc.constantFrom(defaultFlags(code), defaultFlags(code) | 0x10);

export function attributes(ctx: AttrContext): fc.Arbitrary<PathAttribute[]> {
  const w = ctx.fourOctetAs;
  const one = (code: number, value: fc.Arbitrary<object>): fc.Arbitrary<PathAttribute> =>
    fc.tuple(flagsFor(code), value).map(([flags, v]) => ({ code, flags, ...v }) as PathAttribute);
  const all: fc.Arbitrary<PathAttribute>[] = [
    one(1, fc.record({ kind: fc.constant("origin"), origin: fc.constantFrom(0, 1, 2) })),
    one(2, fc.record({ kind: fc.constant("as-path"), segments: segments(w) })),
    one(3, fc.record({ kind: fc.constant("next-hop"), nextHop: ipv4 })),
    one(4, fc.record({ kind: fc.constant("med"), med: u32 })),
    one(5, fc.record({ kind: fc.constant("local-pref"), localPref: u32 })),
    one(6, fc.record({ kind: fc.constant("atomic-aggregate") })),
    one(7, fc.record({ kind: fc.constant("aggregator"), as: w ? u32 : u16, address: ipv4 })),
    one(
      8,
      fc.record({
        kind: fc.constant("communities"),
        communities: fc.array(u32, { minLength: 1, maxLength: 6 }),
      }),
    ),
    one(9, fc.record({ kind: fc.constant("originator-id"), originatorId: ipv4 })),
    one(
      10,
      fc.record({
        kind: fc.constant("cluster-list"),
        clusterList: fc.array(ipv4, { minLength: 1, maxLength: 4 }),
      }),
    ),
    one(
      14,
      fc.oneof(
        fc.record({
          kind: fc.constant("mp-reach"),
          afi: fc.constant(2 as AfiCode),
          safi: fc.constantFrom(1, 2),
          nextHop: fc.oneof(fc.tuple(ipv6), fc.tuple(ipv6, ipv6)),
          reserved: fc.constantFrom(0, 0, 7),
          nlri: prefixList(2, ctx.addPath?.ipv6 === true),
        }),
        fc.record({
          kind: fc.constant("mp-reach"),
          afi: fc.constant(1 as AfiCode),
          safi: fc.constant(1),
          nextHop: fc.oneof(fc.tuple(ipv4), fc.tuple(ipv6)),
          reserved: fc.constant(0),
          nlri: prefixList(1, ctx.addPath?.ipv4 === true),
        }),
      ),
    ),
    one(
      15,
      fc.record({
        kind: fc.constant("mp-unreach"),
        afi: fc.constant(2 as AfiCode),
        safi: fc.constant(1),
        withdrawn: prefixList(2, ctx.addPath?.ipv6 === true),
      }),
    ),
    one(
      16,
      fc.record({
        kind: fc.constant("extended-communities"),
        value: fc
          .integer({ min: 1, max: 4 })
          .chain((n) => fc.uint8Array({ minLength: n * 8, maxLength: n * 8 })),
      }),
    ),
    one(
      17,
      fc.record({ kind: fc.constant("as4-path"), segments: segments(true).filter((s) => s.length > 0) }),
    ),
    one(18, fc.record({ kind: fc.constant("as4-aggregator"), as: u32, address: ipv4 })),
    one(
      32,
      fc.record({
        kind: fc.constant("large-communities"),
        communities: fc
          .integer({ min: 1, max: 3 })
          .chain((n) => fc.array(u32, { minLength: n * 3, maxLength: n * 3 })),
      }),
    ),
    one(35, fc.record({ kind: fc.constant("otc"), asn: u32 })),
    fc
      .tuple(
        fc.constantFrom(0x80, 0xc0, 0xe0, 0xd0),
        fc.integer({ min: 33, max: 255 }).filter((c) => c !== 35),
        fc.uint8Array({ maxLength: 20 }),
      )
      .map(([flags, code, value]) => ({ kind: "unknown", code, flags, value }) as PathAttribute),
  ];
  return fc
    .subarray(all.map((_, i) => i))
    .chain((idx) => fc.tuple(...idx.map((i) => all[i]!)))
    .chain((attrs) => fc.shuffledSubarray(attrs, { minLength: attrs.length }));
}

export const context: fc.Arbitrary<AttrContext> = fc.record({
  fourOctetAs: fc.boolean(),
  addPath: fc.record({ ipv4: fc.boolean(), ipv6: fc.boolean() }),
});

const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({
    name: fc.constant("multiprotocol" as const),
    code: fc.constant(1 as const),
    afi: u16,
    safi: u8,
  }),
  fc.constantFrom<Capability>(
    { name: "route-refresh", code: 2 },
    { name: "route-refresh-old", code: 128 },
    { name: "extended-message", code: 6 },
    { name: "enhanced-route-refresh", code: 70 },
  ),
  fc.record({ name: fc.constant("four-octet-as" as const), code: fc.constant(65 as const), as: u32 }),
  fc.record({ name: fc.constant("role" as const), code: fc.constant(9 as const), role: u8 }),
  fc.record({
    name: fc.constant("graceful-restart" as const),
    code: fc.constant(64 as const),
    restartFlags: fc.integer({ min: 0, max: 15 }),
    restartTimeSec: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, flags: u8 }), { maxLength: 3 }),
  }),
  fc.record({
    name: fc.constant("add-path" as const),
    code: fc.constant(69 as const),
    families: fc.array(fc.record({ afi: u16, safi: u8, sendReceive: u8 }), { maxLength: 3 }),
  }),
  fc.record({
    name: fc.constant("long-lived-graceful-restart" as const),
    code: fc.constant(71 as const),
    families: fc.array(
      fc.record({ afi: u16, safi: u8, flags: u8, staleTimeSec: fc.integer({ min: 0, max: 0xffffff }) }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    name: fc.constant("extended-next-hop" as const),
    code: fc.constant(5 as const),
    entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 3 }),
  }),
  fc.record({
    name: fc.constant("fqdn" as const),
    code: fc.constant(73 as const),
    hostname: fc.string({ maxLength: 20 }),
    domain: fc.string({ maxLength: 20 }),
  }),
  fc.record({
    name: fc.constant("unknown" as const),
    code: fc.constantFrom(3, 74, 200, 255),
    value: fc.uint8Array({ maxLength: 16 }),
  }),
);

export const openMessage: fc.Arbitrary<BgpMessage> = fc.record({
  type: fc.constant("OPEN" as const),
  version: u8,
  myAs: u16,
  holdTime: u16,
  bgpId: ipv4,
  params: fc.array(
    fc.record({ type: fc.constant(2 as const), capabilities: fc.array(capability, { maxLength: 6 }) }),
    { maxLength: 3 },
  ),
});

export function updateMessage(ctx: AttrContext): fc.Arbitrary<BgpMessage> {
  return fc.record({
    type: fc.constant("UPDATE" as const),
    withdrawn: prefixList(1, ctx.addPath?.ipv4 === true),
    attributes: attributes(ctx),
    nlri: prefixList(1, ctx.addPath?.ipv4 === true),
  });
}

export const otherMessage: fc.Arbitrary<BgpMessage> = fc.oneof(
  fc.record({
    type: fc.constant("NOTIFICATION" as const),
    code: u8,
    subcode: u8,
    data: fc.uint8Array({ maxLength: 40 }),
  }),
  fc.constant({ type: "KEEPALIVE" as const }),
  fc.record({ type: fc.constant("ROUTE-REFRESH" as const), afi: u16, safi: u8, subtype: u8 }),
);

/** A context and a message that is valid under it. */
export const anyMessage: fc.Arbitrary<{ ctx: AttrContext; msg: BgpMessage }> = context.chain((ctx) =>
  fc.oneof(openMessage, updateMessage(ctx), otherMessage).map((msg) => ({ ctx, msg })),
);
