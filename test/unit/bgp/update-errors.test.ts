// RFC 4271 §6.3 and RFC 7606: every malformation of an UPDATE gets its prescribed action, NOTIFICATION
// code/subcode and the byte offset (from the marker) where it starts.
import { describe, expect, it } from "vitest";
import type { AttrContext } from "../../../bgp/codec/attributes.js";
import { BgpDecodeError } from "../../../bgp/codec/errors.js";
import { decodeMessage } from "../../../bgp/codec/message.js";
import { prefixStrings } from "../../../bgp/codec/prefix-list.js";
import type { UpdateMessage } from "../../../bgp/codec/update.js";
import {
  AS_PATH_65001_4,
  attr,
  BASE_ATTRS,
  b,
  NEXT_HOP_10_0_0_1,
  NLRI_192_0_2_0_24,
  ORIGIN_IGP,
  update,
} from "./build.js";

const CTX: AttrContext = { fourOctetAs: true };
/** Offset of the first attribute in an UPDATE without withdrawn routes: 19 + 2 + 0 + 2. */
const A0 = 23;
const BASE_LEN = BASE_ATTRS.reduce((n, a) => n + a.length, 0);

function decodeUpd(bytes: Uint8Array, ctx: AttrContext = CTX): UpdateMessage {
  const m = decodeMessage(bytes, ctx);
  if (m.type !== "UPDATE") throw new Error("not an UPDATE");
  return m;
}

function thrown(fn: () => unknown): BgpDecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpDecodeError) return e;
    throw e;
  }
  throw new Error("expected a BgpDecodeError");
}

/** Decodes and returns the treat-as-withdraw error, checking the NLRI is still there to withdraw. */
function taw(bytes: Uint8Array, ctx: AttrContext = CTX): BgpDecodeError {
  const u = decodeUpd(bytes, ctx);
  expect(u.treatAsWithdraw, "expected treat-as-withdraw").toBeDefined();
  return u.treatAsWithdraw!;
}

const withNlri = (attrs: Uint8Array[]) => update({ attrs, nlri: NLRI_192_0_2_0_24 });

describe("UPDATE structure (session reset)", () => {
  it("withdrawn routes length past the message: Malformed Attribute List at the length field", () => {
    const m = update({ withdrawn: b(24, 10, 0, 0) });
    m[20] = 200; // withdrawn length 200 > message
    expect(thrown(() => decodeUpd(m))).toMatchObject({
      errorCode: 3,
      subcode: 1,
      action: "session-reset",
      offset: 19,
    });
  });

  it("total path attribute length past the message: Malformed Attribute List", () => {
    const m = withNlri(BASE_ATTRS);
    m[22] = 250;
    expect(thrown(() => decodeUpd(m))).toMatchObject({
      errorCode: 3,
      subcode: 1,
      action: "session-reset",
      offset: 21,
    });
  });

  it("a withdrawn prefix longer than 32 bits: Invalid Network Field at that prefix", () => {
    const e = thrown(() => decodeUpd(update({ withdrawn: b(24, 10, 0, 0, 33, 1, 2, 3, 4, 5) })));
    expect(e).toMatchObject({ errorCode: 3, subcode: 10, action: "session-reset", offset: 25 });
  });

  it("an NLRI prefix whose octets run past the message: Invalid Network Field", () => {
    const e = thrown(() => decodeUpd(update({ attrs: BASE_ATTRS, nlri: b(24, 192, 0) })));
    const nlriStart = A0 + BASE_ATTRS.reduce((n, a) => n + a.length, 0);
    expect(e).toMatchObject({ errorCode: 3, subcode: 10, action: "session-reset", offset: nlriStart });
  });

  it("an unrecognized well-known attribute: Unrecognized Well-known Attribute with the attribute as data", () => {
    const bad = attr(0x40, 99, [1, 2]);
    const e = thrown(() => decodeUpd(withNlri([...BASE_ATTRS, bad])));
    expect(e).toMatchObject({ errorCode: 3, subcode: 2, action: "session-reset", attrType: 99 });
    expect([...e.data]).toEqual([...bad]);
  });

  it("MP_REACH_NLRI twice: Malformed Attribute List, session reset", () => {
    const mp = attr(0x80, 14, [0, 2, 1, 16, ...new Array(16).fill(0), 0]);
    const e = thrown(() => decodeUpd(update({ attrs: [mp, ORIGIN_IGP, AS_PATH_65001_4, mp] })));
    expect(e).toMatchObject({ errorCode: 3, subcode: 1, action: "session-reset", attrType: 14 });
  });

  it("MP_REACH_NLRI with an impossible next-hop length: Optional Attribute Error, the attribute as data", () => {
    const mp = attr(0x80, 14, [0, 2, 1, 5, 1, 2, 3, 4, 5, 0]);
    const e = thrown(() => decodeUpd(update({ attrs: [mp, ORIGIN_IGP, AS_PATH_65001_4] })));
    expect(e).toMatchObject({ errorCode: 3, subcode: 9, action: "session-reset", offset: A0, attrType: 14 });
    expect([...e.data]).toEqual([...mp]);
  });

  it("MP_REACH_NLRI whose next hop runs past the attribute: session reset", () => {
    const mp = attr(0x80, 14, [0, 2, 1, 32, 1, 2]);
    expect(thrown(() => decodeUpd(update({ attrs: [mp] })))).toMatchObject({
      subcode: 9,
      action: "session-reset",
    });
  });

  it("a bad prefix inside MP_REACH_NLRI: session reset at that prefix, the whole attribute as data", () => {
    const mp = attr(0x80, 14, [0, 2, 1, 16, ...new Array(16).fill(0), 0, 129, 1]);
    const e = thrown(() => decodeUpd(update({ attrs: [mp, ORIGIN_IGP, AS_PATH_65001_4] })));
    expect(e).toMatchObject({
      errorCode: 3,
      subcode: 9,
      action: "session-reset",
      attrType: 14,
      offset: A0 + 3 + 21,
    });
    expect([...e.data]).toEqual([...mp]);
  });

  it("a truncated MP_UNREACH_NLRI: session reset", () => {
    const e = thrown(() => decodeUpd(update({ attrs: [attr(0x80, 15, [0, 2])] })));
    expect(e).toMatchObject({ errorCode: 3, subcode: 9, action: "session-reset", attrType: 15 });
  });

  it("MP_REACH_NLRI with wrong flags: Attribute Flags Error, session reset", () => {
    const mp = attr(0xc0, 14, [0, 2, 1, 16, ...new Array(16).fill(0), 0]);
    expect(thrown(() => decodeUpd(update({ attrs: [mp] })))).toMatchObject({
      errorCode: 3,
      subcode: 4,
      action: "session-reset",
    });
  });
});

describe("attribute list framing (RFC 7606 §4: treat-as-withdraw, NLRI still located)", () => {
  it("an attribute header cut by the end of the attribute field", () => {
    const u = decodeUpd(withNlri([...BASE_ATTRS, b(0x40, 1)]));
    expect(u.treatAsWithdraw).toMatchObject({
      errorCode: 3,
      subcode: 1,
      action: "treat-as-withdraw",
      offset: A0 + BASE_LEN,
    });
    expect(prefixStrings(u.nlri)).toEqual(["192.0.2.0/24"]);
    expect([...u.unparsedAttributes!]).toEqual([0x40, 1]);
  });

  it("an attribute length running past the attribute field", () => {
    const u = decodeUpd(withNlri([...BASE_ATTRS, b(0xc0, 8, 8, 0, 1)]));
    expect(u.treatAsWithdraw).toMatchObject({
      subcode: 5,
      action: "treat-as-withdraw",
      attrType: 8,
      offset: A0 + BASE_LEN,
    });
    expect(prefixStrings(u.nlri)).toEqual(["192.0.2.0/24"]);
  });
});

describe("per-attribute rules (RFC 7606 §7)", () => {
  const cases: [string, Uint8Array, number, "treat-as-withdraw" | "attribute-discard", AttrContext?][] = [
    ["ORIGIN of length 2", attr(0x40, 1, [0, 0]), 5, "treat-as-withdraw"],
    ["ORIGIN value 3", attr(0x40, 1, [3]), 6, "treat-as-withdraw"],
    ["NEXT_HOP of length 5", attr(0x40, 3, [10, 0, 0, 1, 0]), 5, "treat-as-withdraw"],
    ["MULTI_EXIT_DISC of length 3", attr(0x80, 4, [0, 0, 1]), 5, "treat-as-withdraw"],
    [
      "LOCAL_PREF of length 2 from an iBGP peer",
      attr(0x40, 5, [0, 100]),
      5,
      "treat-as-withdraw",
      { fourOctetAs: true, peerType: "ibgp" },
    ],
    [
      "LOCAL_PREF from an eBGP peer",
      attr(0x40, 5, [0, 0, 0, 100]),
      5,
      "attribute-discard",
      { fourOctetAs: true, peerType: "ebgp" },
    ],
    ["ATOMIC_AGGREGATE of length 1", attr(0x40, 6, [0]), 5, "attribute-discard"],
    [
      "AGGREGATOR of length 6 on a 4-octet session",
      attr(0xc0, 7, [0, 1, 10, 0, 0, 1]),
      5,
      "attribute-discard",
    ],
    ["COMMUNITIES of length 5", attr(0xc0, 8, [0, 0, 0, 1, 2]), 5, "treat-as-withdraw"],
    ["COMMUNITIES of length 0", attr(0xc0, 8, []), 5, "treat-as-withdraw"],
    [
      "ORIGINATOR_ID of length 3",
      attr(0x80, 9, [1, 2, 3]),
      5,
      "treat-as-withdraw",
      { fourOctetAs: true, peerType: "ibgp" },
    ],
    [
      "ORIGINATOR_ID from an eBGP peer",
      attr(0x80, 9, [1, 2, 3, 4]),
      5,
      "attribute-discard",
      { fourOctetAs: true, peerType: "ebgp" },
    ],
    ["CLUSTER_LIST of length 6", attr(0x80, 10, [1, 2, 3, 4, 5, 6]), 5, "treat-as-withdraw"],
    [
      "CLUSTER_LIST from an eBGP peer",
      attr(0x80, 10, [1, 2, 3, 4]),
      5,
      "attribute-discard",
      { fourOctetAs: true, peerType: "ebgp" },
    ],
    ["EXTENDED_COMMUNITIES of length 7", attr(0xc0, 16, [0, 2, 0, 1, 0, 0, 0]), 5, "treat-as-withdraw"],
    ["LARGE_COMMUNITY of length 11", attr(0xc0, 32, new Array(11).fill(1)), 5, "treat-as-withdraw"],
    ["AS4_PATH with a zero-length segment", attr(0xc0, 17, [2, 0]), 9, "attribute-discard"],
    ["AS4_AGGREGATOR of length 6", attr(0xc0, 18, [0, 0, 0, 1, 10, 0]), 5, "attribute-discard"],
    ["ORIGIN with the Optional bit", attr(0xc0, 1, [0]), 4, "treat-as-withdraw"],
    ["MULTI_EXIT_DISC with the Transitive bit", attr(0xc0, 4, [0, 0, 0, 1]), 4, "treat-as-withdraw"],
    ["NEXT_HOP with the Partial bit", attr(0x60, 3, [10, 0, 0, 1]), 4, "treat-as-withdraw"],
    ["AS4_PATH without the Transitive bit", attr(0x80, 17, [2, 1, 0, 0, 0, 1]), 4, "attribute-discard"],
  ];
  for (const [what, a, subcode, action, ctx] of cases) {
    it(`${what}: ${action} (3/${subcode}) at the attribute`, () => {
      // Put the tested attribute after the valid ones, replacing a same-typed one.
      const code = a[1]!;
      const others = BASE_ATTRS.filter((x) => x[1] !== code);
      const u = decodeUpd(withNlri([...others, a]), ctx ?? CTX);
      const offset = A0 + others.reduce((n, x) => n + x.length, 0);
      const e = action === "treat-as-withdraw" ? u.treatAsWithdraw : u.discarded?.[0];
      expect(e).toMatchObject({ errorCode: 3, subcode, action, offset, attrType: code });
      expect([...e!.data]).toEqual([...a]);
      if (action === "attribute-discard") expect(u.treatAsWithdraw).toBeUndefined();
      // The attribute is kept only as a malformed entry, never as a usable one.
      expect(u.attributes.find((x) => x.code === code)?.kind).toBe("malformed");
      expect(prefixStrings(u.nlri)).toEqual(["192.0.2.0/24"]);
    });
  }

  const asPaths: [string, number[]][] = [
    ["an unknown segment type", [5, 1, 0, 0, 0, 1]],
    ["a segment of length zero", [2, 0]],
    ["a segment overrunning the attribute", [2, 2, 0, 0, 0, 1]],
    ["a single octet after the last segment", [2, 1, 0, 0, 0, 1, 2]],
  ];
  for (const [what, value] of asPaths) {
    it(`AS_PATH with ${what}: treat-as-withdraw, Malformed AS_PATH`, () => {
      expect(taw(withNlri([ORIGIN_IGP, attr(0x40, 2, value), NEXT_HOP_10_0_0_1]))).toMatchObject({
        subcode: 11,
        attrType: 2,
        offset: A0 + 4,
      });
    });
  }

  it("an empty AS_PATH is valid (iBGP-originated routes)", () => {
    const u = decodeUpd(withNlri([ORIGIN_IGP, attr(0x40, 2, []), NEXT_HOP_10_0_0_1]));
    expect(u.treatAsWithdraw).toBeUndefined();
    expect(u.attributes[1]).toMatchObject({ kind: "as-path", segments: [] });
  });

  it("AS_PATH in 2-octet ASes on a 2-octet session", () => {
    const u = decodeUpd(
      withNlri([ORIGIN_IGP, attr(0x40, 2, [2, 2, 0xfd, 0xe9, 0x5b, 0xa0]), NEXT_HOP_10_0_0_1]),
      { fourOctetAs: false },
    );
    expect(u.attributes[1]).toMatchObject({ kind: "as-path", segments: [{ type: 2, asns: [65001, 23456] }] });
  });
});

describe("repeated, missing and unknown attributes", () => {
  it("a repeated attribute is discarded and the first kept (RFC 7606 §3(g))", () => {
    const u = decodeUpd(withNlri([...BASE_ATTRS, attr(0x40, 1, [2])]));
    expect(u.treatAsWithdraw).toBeUndefined();
    expect(u.discarded?.[0]).toMatchObject({ subcode: 1, action: "attribute-discard", attrType: 1 });
    expect(u.attributes.filter((a) => a.kind === "origin")).toEqual([expect.objectContaining({ origin: 0 })]);
  });

  it("NLRI without NEXT_HOP: treat-as-withdraw, Missing Well-known Attribute naming NEXT_HOP", () => {
    const e = taw(withNlri([ORIGIN_IGP, AS_PATH_65001_4]));
    expect(e).toMatchObject({ subcode: 3, action: "treat-as-withdraw", attrType: 3 });
    expect([...e.data]).toEqual([3]);
  });

  it("MP_REACH_NLRI without ORIGIN: treat-as-withdraw; no NEXT_HOP needed for MP-only updates", () => {
    const mp = attr(0x80, 14, [
      0,
      2,
      1,
      16,
      0xfd,
      ...new Array(15).fill(0),
      0,
      48,
      0x20,
      1,
      0xd,
      0xb8,
      0,
      0xa,
    ]);
    expect(taw(update({ attrs: [mp, AS_PATH_65001_4] }))).toMatchObject({ subcode: 3, attrType: 1 });
    const ok = decodeUpd(update({ attrs: [mp, ORIGIN_IGP, AS_PATH_65001_4] }));
    expect(ok.treatAsWithdraw).toBeUndefined();
  });

  it("withdraw-only and attribute-only updates need no mandatory attributes", () => {
    expect(decodeUpd(update({ withdrawn: b(24, 192, 0, 2) })).treatAsWithdraw).toBeUndefined();
    expect(decodeUpd(update({ attrs: [attr(0xc0, 8, [0, 1, 0, 2])] })).treatAsWithdraw).toBeUndefined();
  });

  it("unknown optional attributes are kept byte for byte with their flags (Partial included)", () => {
    const u = decodeUpd(withNlri([...BASE_ATTRS, attr(0xe0, 200, [9, 8, 7]), attr(0x80, 201, [1])]));
    expect(u.attributes.slice(3)).toEqual([
      { kind: "unknown", code: 200, flags: 0xe0, value: Uint8Array.of(9, 8, 7) },
      { kind: "unknown", code: 201, flags: 0x80, value: Uint8Array.of(1) },
    ]);
  });

  it("when treat-as-withdraw and attribute-discard both apply, the stronger is reported and both are kept", () => {
    const u = decodeUpd(withNlri([...BASE_ATTRS, attr(0x40, 6, [1]), attr(0xc0, 8, [1])]));
    expect(u.treatAsWithdraw).toMatchObject({ attrType: 8 });
    expect(u.discarded?.map((e) => e.attrType)).toEqual([6]);
  });

  it("reads ADD-PATH identifiers in the NLRI and withdrawn fields when negotiated", () => {
    const u = decodeUpd(
      update({
        withdrawn: b(0, 0, 0, 7, 24, 10, 0, 0),
        attrs: BASE_ATTRS,
        nlri: b(0, 0, 0, 9, 24, 192, 0, 2),
      }),
      {
        fourOctetAs: true,
        addPath: { ipv4: true },
      },
    );
    expect([...u.withdrawn.pathIds!]).toEqual([7]);
    expect([...u.nlri.pathIds!]).toEqual([9]);
    expect(prefixStrings(u.nlri)).toEqual(["192.0.2.0/24"]);
  });
});
