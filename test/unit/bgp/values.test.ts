// AS paths (RFC 4271 §9.1.2.2, RFC 6793 §4.2.3), prefixes and addresses (RFC 5952), negotiation.
import { describe, expect, it } from "vitest";
import {
  countAs,
  decodeSegments,
  encodeSegments,
  firstAs,
  formatAsPath,
  mergeAs4Path,
  pathLength,
} from "../../../bgp/codec/as-path.js";
import { formatIpv6, parseIp } from "../../../bgp/codec/ip.js";
import type { OpenMessage } from "../../../bgp/codec/open.js";
import {
  decodePrefixes,
  encodedSizeOfAll,
  encodePrefixes,
  maskedKey,
  prefixListFromStrings,
  prefixStrings,
  slicePrefixList,
} from "../../../bgp/codec/prefix-list.js";
import { contextFromOpens } from "../../../bgp/codec/session-context.js";

const SEQ = 2;
const SET = 1;

describe("AS paths", () => {
  it("counts a set as one and confederation segments as none", () => {
    const p = [
      { type: 3, asns: [64512, 64513] },
      { type: SEQ, asns: [65001, 65002] },
      { type: SET, asns: [65003, 65004, 65005] },
    ];
    expect(pathLength(p)).toBe(3);
    expect(formatAsPath(p)).toBe("(64512 64513) 65001 65002 {65003,65004,65005}");
    expect(countAs(p, 65003)).toBe(1);
    expect(firstAs(p)).toBeUndefined();
    expect(firstAs(p.slice(1))).toBe(65001);
  });

  it("splits a sequence longer than 255 ASes into several segments and reads them back", () => {
    const long = { type: SEQ, asns: Array.from({ length: 300 }, (_, i) => 4200000000 + i) };
    const bytes = encodeSegments([long], 4);
    expect(bytes.length).toBe(2 + 255 * 4 + 2 + 45 * 4);
    const back = decodeSegments(bytes, 4);
    expect(Array.isArray(back) && back.flatMap((s) => s.asns)).toEqual(long.asns);
  });

  it("writes AS_TRANS for 4-octet ASes in a 2-octet encoding", () => {
    expect([...encodeSegments([{ type: SEQ, asns: [4200000001, 65001] }], 2)]).toEqual([
      2, 2, 0x5b, 0xa0, 0xfd, 0xe9,
    ]);
  });

  it("merges AS4_PATH into a 2-octet AS_PATH (RFC 6793 §4.2.3)", () => {
    // An OLD speaker (65001) prepended itself to a path whose tail it only knows as AS_TRANS.
    const asPath = [{ type: SEQ, asns: [65001, 23456, 23456, 65010] }];
    const as4Path = [{ type: SEQ, asns: [4200000001, 4200000002, 65010] }];
    expect(mergeAs4Path(asPath, as4Path)).toEqual([
      { type: SEQ, asns: [65001, 4200000001, 4200000002, 65010] },
    ]);
    // AS4_PATH longer than AS_PATH is ignored.
    expect(mergeAs4Path([{ type: SEQ, asns: [23456] }], as4Path)).toEqual([{ type: SEQ, asns: [23456] }]);
    // A set in AS_PATH counts one.
    expect(
      mergeAs4Path(
        [
          { type: SEQ, asns: [65001] },
          { type: SET, asns: [23456, 65002] },
        ],
        [{ type: SET, asns: [4200000001, 65002] }],
      ),
    ).toEqual([
      { type: SEQ, asns: [65001] },
      { type: SET, asns: [4200000001, 65002] },
    ]);
  });
});

describe("prefix lists", () => {
  it("round-trips IPv4 and IPv6 prefixes, /0 and host routes, with and without path ids", () => {
    const v4 = prefixListFromStrings(1, ["0.0.0.0/0", "10.0.0.0/8", "192.0.2.128/25", "198.51.100.7/32"]);
    const bytes = new Uint8Array(encodedSizeOfAll(v4));
    encodePrefixes(v4, 0, v4.count, bytes, 0);
    expect([...bytes]).toEqual([0, 8, 10, 25, 192, 0, 2, 128, 32, 198, 51, 100, 7]);
    expect(prefixStrings(decodePrefixes(bytes, 0, bytes.length, 1, false, 0))).toEqual(prefixStrings(v4));
    const v6 = prefixListFromStrings(2, ["2001:db8::/32", "::/0", "fd00::1/128"], [1, 2, 4294967295]);
    const b6 = new Uint8Array(encodedSizeOfAll(v6));
    encodePrefixes(v6, 0, v6.count, b6, 0);
    const back = decodePrefixes(b6, 0, b6.length, 2, true, 0);
    expect(prefixStrings(back)).toEqual(["2001:db8::/32", "::/0", "fd00::1/128"]);
    expect([...back.pathIds!]).toEqual([1, 2, 4294967295]);
  });

  it("keeps bits past the prefix length for exact re-encoding; the key masks them", () => {
    const bytes = Uint8Array.of(23, 10, 0, 1);
    const l = decodePrefixes(bytes, 0, 4, 1, false, 0);
    expect(prefixStrings(l)).toEqual(["10.0.1.0/23"]);
    expect(maskedKey(l, 0)).toBe(maskedKey(prefixListFromStrings(1, ["10.0.0.0/23"]), 0));
    const v6 = prefixListFromStrings(2, ["2001:db8:ffff::/33", "2001:db8:8000::/33"]);
    expect(maskedKey(v6, 0)).toBe(maskedKey(v6, 1));
  });

  it("slices without copying", () => {
    const l = prefixListFromStrings(1, ["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"]);
    const s = slicePrefixList(l, 1, 3);
    expect(prefixStrings(s)).toEqual(["10.1.0.0/16", "10.2.0.0/16"]);
    expect(s.addrs.buffer).toBe(l.addrs.buffer);
  });

  it("refuses malformed text", () => {
    expect(() => prefixListFromStrings(1, ["10.0.0.0/33"])).toThrow("bad prefix length");
    expect(() => prefixListFromStrings(1, ["10.0.0/8"])).toThrow("not an IPv4 address");
    expect(() => prefixListFromStrings(2, ["2001:db8:::/32"])).toThrow("not an IPv6 address");
  });
});

describe("IPv6 text (RFC 5952)", () => {
  const cases: [string, string][] = [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["fe80::c801:aeff:fec6:b041", "fe80::c801:aeff:fec6:b041"],
  ];
  for (const [input, want] of cases) {
    it(`${input} -> ${want}`, () => {
      expect(formatIpv6(parseIp(input))).toBe(want);
    });
  }
});

describe("negotiation from two OPENs", () => {
  const mk = (caps: OpenMessage["params"][number]["capabilities"]): OpenMessage => ({
    type: "OPEN",
    version: 4,
    myAs: 65001,
    holdTime: 90,
    bgpId: "10.0.0.1",
    params: [{ type: 2, capabilities: caps }],
  });
  const fourOctet = { name: "four-octet-as", code: 65, as: 65001 } as const;
  const ext = { name: "extended-message", code: 6 } as const;

  it("4-octet AS and extended messages only when both sides advertise them", () => {
    expect(contextFromOpens(mk([fourOctet, ext]), mk([fourOctet, ext]))).toMatchObject({
      fourOctetAs: true,
      maxMessageLen: 65535,
    });
    expect(contextFromOpens(mk([fourOctet, ext]), mk([]))).toMatchObject({
      fourOctetAs: false,
      maxMessageLen: 4096,
    });
  });

  it("ADD-PATH per family when the sender sends and the receiver receives (RFC 7911 §4)", () => {
    const ap = (v4: number, v6: number) =>
      ({
        name: "add-path",
        code: 69,
        families: [
          { afi: 1, safi: 1, sendReceive: v4 },
          { afi: 2, safi: 1, sendReceive: v6 },
        ],
      }) as const;
    expect(contextFromOpens(mk([ap(3, 2)]), mk([ap(1, 2)])).addPath).toEqual({ ipv4: true });
    expect(contextFromOpens(mk([ap(1, 1)]), mk([ap(3, 3)])).addPath).toBeUndefined();
    // One direction only: the sender's own capability decides.
    expect(contextFromOpens(mk([ap(3, 3)])).addPath).toEqual({ ipv4: true, ipv6: true });
  });
});
