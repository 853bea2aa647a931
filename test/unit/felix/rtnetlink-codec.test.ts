/**
 * Properties of felix's rtnetlink codec beyond the iproute2 goldens: every encoder's output decodes back
 * to what was encoded, ACKs carry errno and the kernel's message, a batch keeps one message per request,
 * and random bytes either decode or fail with NetlinkDecodeError (never anything else). Plus the IP helpers.
 */
import { describe, expect, it } from "vitest";
import { NetlinkDecodeError } from "../../../felix/errors.js";
import { canonicalCidr, formatIp, parseCidr, parseIp } from "../../../felix/ip.js";
import { decodeAck, encodeAck } from "../../../felix/netlink/ack-codec.js";
import { decodeAddr, encodeAddr } from "../../../felix/netlink/addr-codec.js";
import { RequestBatch } from "../../../felix/netlink/batch.js";
import { NLMSG, RTM, RTN, RTNH_F } from "../../../felix/netlink/constants.js";
import { decodeEvents } from "../../../felix/netlink/events.js";
import { decodeLink, encodeNewLink } from "../../../felix/netlink/link-codec.js";
import { decodeNeigh, encodeFdb, encodeNeigh } from "../../../felix/netlink/neigh-codec.js";
import { decodeRoute, encodeRoute, type Route, routeKey } from "../../../felix/netlink/route-codec.js";
import { readMessages, Writer } from "../../../felix/netlink/wire.js";

const one = <T>(
  encode: (w: Writer) => void,
  decode: (b: Uint8Array, m: ReturnType<typeof readMessages>[0]) => T,
) => {
  const w = new Writer(16);
  encode(w);
  const msgs = readMessages(w.bytes());
  expect(msgs).toHaveLength(1);
  return decode(w.bytes(), msgs[0]!);
};

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe("rtnetlink codec round trips", () => {
  const routes: Route[] = [
    {
      family: 4,
      dst: "10.65.2.0/26",
      table: 254,
      protocol: 80,
      scope: 0,
      type: RTN.UNICAST,
      tos: 0,
      flags: RTNH_F.ONLINK,
      gateway: "10.65.2.0",
      oif: 6,
      mtu: 1450,
    },
    {
      family: 4,
      dst: "10.65.1.0/26",
      table: 254,
      protocol: 80,
      scope: 0,
      type: RTN.BLACKHOLE,
      tos: 0,
      flags: 0,
    },
    {
      family: 4,
      dst: "0.0.0.0/0",
      table: 1000,
      protocol: 12,
      scope: 0,
      type: RTN.UNICAST,
      tos: 0,
      flags: 0,
      gateway: "10.0.0.254",
      oif: 2,
      priority: 100,
    },
    {
      family: 6,
      dst: "fd65::/122",
      table: 254,
      protocol: 80,
      scope: 0,
      type: RTN.UNICAST,
      tos: 0,
      flags: 0,
      gateway: "fd00::2",
      oif: 3,
      priority: 1024,
      prefsrc: "fd00::1",
    },
  ];
  for (const r of routes) {
    it(`route ${r.dst} table ${r.table}`, () => {
      expect(one((w) => encodeRoute(w, "replace", r, 1), decodeRoute)).toEqual(r);
    });
  }

  it("route keys: the bare dst in the main table, the full key elsewhere", () => {
    expect(routeKey(routes[0]!)).toBe("10.65.2.0/26");
    expect(routeKey(routes[2]!)).toBe("0.0.0.0/0#100%0@1000");
  });

  it("links, addresses, neighbours and FDB entries", () => {
    const link = one(
      (w) =>
        encodeNewLink(w, 1, {
          name: "vxlan.calico",
          kind: "vxlan",
          address: "66:01:02:03:04:05",
          mtu: 1450,
          up: true,
          vxlan: { vni: 4096, port: 4789, local: "10.0.0.1", parentIndex: 2, learning: false },
        }),
      decodeLink,
    );
    expect(link).toMatchObject({
      name: "vxlan.calico",
      flags: 1,
      mtu: 1450,
      address: "66:01:02:03:04:05",
      kind: "vxlan",
      vxlan: { vni: 4096, port: 4789, local: "10.0.0.1", parentIndex: 2, learning: false },
    });
    expect(
      one((w) => encodeAddr(w, "replace", 1, { index: 6, address: "10.65.1.0", prefixLen: 32 }), decodeAddr),
    ).toEqual({
      family: 4,
      index: 6,
      address: "10.65.1.0",
      prefixLen: 32,
      scope: 0,
      flags: 0,
    });
    expect(
      one(
        (w) => encodeNeigh(w, "replace", 1, { index: 6, dst: "10.65.2.0", lladdr: "66:aa:bb:cc:dd:ee" }),
        decodeNeigh,
      ),
    ).toEqual({ family: 4, index: 6, state: 0x80, flags: 0, dst: "10.65.2.0", lladdr: "66:aa:bb:cc:dd:ee" });
    expect(
      one(
        (w) => encodeFdb(w, "replace", 1, { index: 6, lladdr: "66:aa:bb:cc:dd:ee", dst: "10.0.0.2" }),
        decodeNeigh,
      ),
    ).toEqual({
      family: "bridge",
      index: 6,
      state: 0x80,
      flags: 2,
      dst: "10.0.0.2",
      lladdr: "66:aa:bb:cc:dd:ee",
    });
  });

  it("ACKs carry the errno, the request's seq and type, and the kernel's extended message", () => {
    const w = new Writer();
    encodeAck(w, { type: RTM.NEWROUTE, seq: 42 }, 19, "Nexthop device is not up");
    encodeAck(w, { type: RTM.DELROUTE, seq: 43 }, 0);
    const [a, b] = readMessages(w.bytes()).map((m) => {
      expect(m.type).toBe(NLMSG.ERROR);
      return decodeAck(w.bytes(), m);
    });
    expect(a).toEqual({ errno: 19, seq: 42, requestType: RTM.NEWROUTE, extack: "Nexthop device is not up" });
    expect(b).toEqual({ errno: 0, seq: 43, requestType: RTM.DELROUTE });
  });

  it("a batch holds one message per request, at the recorded offsets", () => {
    const batch = new RequestBatch<string>(8);
    for (const r of routes) batch.add(r.dst, (w, seq) => encodeRoute(w, "replace", r, seq));
    const msgs = readMessages(batch.w.bytes());
    expect(msgs.map((m) => m.start)).toEqual(batch.starts);
    expect(msgs.map((m) => decodeRoute(batch.w.bytes(), m)?.dst)).toEqual(batch.items);
    expect(batch.end(batch.size - 1)).toBe(batch.w.len);
  });

  it("events decode into typed notifications", () => {
    const w = new Writer();
    encodeRoute(w, "replace", routes[0]!, 1);
    encodeNeigh(w, "delete", 2, { index: 6, dst: "10.65.2.0" });
    const evs = decodeEvents(w.bytes(), w.len);
    expect(evs.map((e) => [e.kind, "op" in e ? e.op : ""])).toEqual([
      ["route", "new"],
      ["neigh", "del"],
    ]);
  });
});

describe("decoders on hostile input", () => {
  it("random bytes and truncated messages decode or throw NetlinkDecodeError, nothing else", () => {
    const next = rng(7);
    const w = new Writer();
    encodeRoute(
      w,
      "replace",
      {
        family: 4,
        dst: "10.65.2.0/26",
        table: 254,
        protocol: 80,
        scope: 0,
        type: 1,
        tos: 0,
        flags: 4,
        gateway: "10.65.2.0",
        oif: 6,
        mtu: 1450,
      },
      1,
    );
    const good = w.bytes().slice();
    for (let i = 0; i < 3000; i++) {
      const buf = good.slice();
      // Flip a few bytes, sometimes cut the tail.
      for (let k = 0; k < 1 + Math.floor(next() * 4); k++)
        buf[Math.floor(next() * buf.length)] = Math.floor(next() * 256);
      const cut = next() < 0.3 ? buf.subarray(0, Math.floor(next() * buf.length)) : buf;
      try {
        for (const m of readMessages(cut)) {
          decodeRoute(cut, m);
          decodeLink(cut, m);
          decodeNeigh(cut, m);
          decodeAddr(cut, m);
        }
      } catch (e) {
        expect(e).toBeInstanceOf(NetlinkDecodeError);
      }
    }
  });
});

describe("IP helpers", () => {
  it("parse and format IPv4, IPv6 (RFC 5952) and CIDRs canonically", () => {
    expect(formatIp(parseIp("010.1.2.3".replace(/^0/, "")))).toBe("10.1.2.3");
    expect(formatIp(parseIp("fd00:0:0:0:0:0:0:1"))).toBe("fd00::1");
    expect(formatIp(parseIp("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(formatIp(parseIp("::ffff:10.0.0.1"))).toBe("::ffff:a00:1");
    expect(canonicalCidr("10.65.1.7/26")).toBe("10.65.1.0/26");
    expect(canonicalCidr("fd65::1:2:3/64")).toBe("fd65::/64");
    expect(parseCidr("10.0.0.1")).toMatchObject({ prefixLen: 32 });
    for (const bad of ["10.0.0.256", "10.0.0", "1.2.3.4.5", "10.0.0.1/33", "10.0.0.0/1e1", "fd00:::1", "x"]) {
      expect(() => parseCidr(bad), bad).toThrow(/not a valid/);
    }
  });
});
