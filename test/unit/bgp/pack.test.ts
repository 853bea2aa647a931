// Packing routes into UPDATEs: everything fits the limit, nothing is lost or reordered, attributes are
// shared and canonical, and the result decodes back (with ADD-PATH ids, MP_REACH next hops, End-of-RIB).
import { describe, expect, it } from "vitest";
import type { AttrContext, PathAttribute } from "../../../bgp/codec/attributes.js";
import { decodeMessage } from "../../../bgp/codec/message.js";
import { prefixListFromStrings, prefixStrings } from "../../../bgp/codec/prefix-list.js";
import { endOfRibFamily, type UpdateMessage } from "../../../bgp/codec/update.js";
import {
  canonicalOrder,
  encodeEndOfRib,
  packAnnouncements,
  packWithdrawals,
} from "../../../bgp/codec/update-pack.js";

const CTX: AttrContext = { fourOctetAs: true };
const v4 = (n: number) => Array.from({ length: n }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
const v6 = (n: number) => Array.from({ length: n }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`);
const attrs: PathAttribute[] = [
  { kind: "communities", code: 8, flags: 0xc0, communities: [0xfde90064] },
  { kind: "next-hop", code: 3, flags: 0x40, nextHop: "10.0.0.1" },
  { kind: "as-path", code: 2, flags: 0x40, segments: [{ type: 2, asns: [65001] }] },
  { kind: "origin", code: 1, flags: 0x40, origin: 0 },
];

function decodeAll(msgs: Uint8Array[], ctx: AttrContext = CTX, max = 4096): UpdateMessage[] {
  return msgs.map((m) => {
    expect(m.length).toBeLessThanOrEqual(max);
    const d = decodeMessage(m, { ...ctx, maxMessageLen: max });
    if (d.type !== "UPDATE") throw new Error("not an UPDATE");
    expect(d.treatAsWithdraw).toBeUndefined();
    return d;
  });
}

describe("packing announcements", () => {
  it("puts 10,000 IPv4 /24s into full UPDATEs with the shared attributes once each, in canonical order", () => {
    const list = prefixListFromStrings(1, v4(10_000));
    const msgs = packAnnouncements(attrs, list, CTX);
    const ups = decodeAll(msgs);
    expect(ups.flatMap((u) => prefixStrings(u.nlri))).toEqual(v4(10_000));
    expect(ups[0]!.attributes.map((a) => a.code)).toEqual([1, 2, 3, 8]);
    // Full messages: all but the last are within one prefix of the limit.
    for (const m of msgs.slice(0, -1)) expect(m.length).toBeGreaterThan(4096 - 4);
    expect(msgs.length).toBe(Math.ceil(10_000 / Math.floor((4096 - 23 - 34) / 4)));
  });

  it("uses MP_REACH_NLRI first, with global and link-local next hops, for IPv6", () => {
    const list = prefixListFromStrings(2, v6(3000));
    const msgs = packAnnouncements(attrs, list, CTX, { nextHop: ["fd00::1", "fe80::1"] });
    const ups = decodeAll(msgs);
    const mp = ups.map((u) => u.attributes[0]);
    expect(mp.every((a) => a?.kind === "mp-reach" && a.nextHop.join(",") === "fd00::1,fe80::1")).toBe(true);
    expect(
      ups.flatMap((u) => (u.attributes[0]?.kind === "mp-reach" ? prefixStrings(u.attributes[0].nlri) : [])),
    ).toEqual(v6(3000));
    // NEXT_HOP is not sent with MP_REACH-only updates.
    expect(ups[0]!.attributes.map((a) => a.code)).toEqual([14, 1, 2, 8]);
  });

  it("carries ADD-PATH ids, and refuses a list that disagrees with the session", () => {
    const ctx: AttrContext = { fourOctetAs: true, addPath: { ipv4: true } };
    const list = prefixListFromStrings(1, v4(5), [1, 2, 3, 4, 5]);
    const ups = decodeAll(packAnnouncements(attrs, list, ctx), ctx);
    expect([...ups[0]!.nlri.pathIds!]).toEqual([1, 2, 3, 4, 5]);
    expect(() => packAnnouncements(attrs, prefixListFromStrings(1, v4(5)), ctx)).toThrow(
      "lacks ADD-PATH ids",
    );
  });

  it("fills 65535-byte messages when extended messages are negotiated", () => {
    const msgs = packAnnouncements(attrs, prefixListFromStrings(1, v4(20_000)), CTX, {
      maxMessageLen: 65535,
    });
    expect(msgs).toHaveLength(2);
    expect(decodeAll(msgs, CTX, 65535).flatMap((u) => prefixStrings(u.nlri))).toHaveLength(20_000);
  });

  it("sends IPv4 in MP_REACH with an IPv6 next hop when asked (RFC 8950)", () => {
    const ups = decodeAll(
      packAnnouncements(attrs, prefixListFromStrings(1, v4(3)), CTX, {
        nextHop: ["fd00::1"],
        ipv4InMpReach: true,
      }),
    );
    expect(ups[0]!.attributes[0]).toMatchObject({ kind: "mp-reach", afi: 1, nextHop: ["fd00::1"] });
    expect(ups[0]!.nlri.count).toBe(0);
  });

  it("refuses attributes that leave no room, and MP attributes among the shared ones", () => {
    const huge: PathAttribute = { kind: "unknown", code: 99, flags: 0xc0, value: new Uint8Array(4080) };
    expect(() => packAnnouncements([...attrs, huge], prefixListFromStrings(1, v4(1)), CTX)).toThrow(
      "no room",
    );
    expect(canonicalOrder([attrs[0]!, huge, attrs[3]!]).map((a) => a.code)).toEqual([1, 8, 99]);
  });
});

describe("packing withdrawals and End-of-RIB", () => {
  it("withdraws IPv4 in the Withdrawn Routes field and IPv6 in MP_UNREACH_NLRI", () => {
    const w4 = decodeAll(packWithdrawals(prefixListFromStrings(1, v4(2000)), CTX));
    expect(w4.flatMap((u) => prefixStrings(u.withdrawn))).toEqual(v4(2000));
    expect(w4.every((u) => u.attributes.length === 0)).toBe(true);
    const w6 = decodeAll(packWithdrawals(prefixListFromStrings(2, v6(2000)), CTX));
    expect(
      w6.flatMap((u) =>
        u.attributes[0]?.kind === "mp-unreach" ? prefixStrings(u.attributes[0].withdrawn) : [],
      ),
    ).toEqual(v6(2000));
  });

  it("End-of-RIB markers are recognised for both families", () => {
    expect(endOfRibFamily(decodeAll([encodeEndOfRib(1)])[0]!)).toEqual({ afi: 1, safi: 1 });
    expect(endOfRibFamily(decodeAll([encodeEndOfRib(2)])[0]!)).toEqual({ afi: 2, safi: 1 });
    expect(
      endOfRibFamily(decodeAll(packWithdrawals(prefixListFromStrings(2, v6(1)), CTX))[0]!),
    ).toBeUndefined();
  });
});
