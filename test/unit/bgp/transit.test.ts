import { describe, expect, it } from "vitest";
import type { PathAttribute } from "../../../bgp/codec/attributes.js";
import { BgpDecodeError } from "../../../bgp/codec/errors.js";
import { forwardableAttributes, reconcileAs4 } from "../../../bgp/codec/transit.js";

const SEQ = 2;
const asPath = (asns: number[]): PathAttribute => ({
  kind: "as-path",
  code: 2,
  flags: 0x40,
  segments: [{ type: SEQ, asns }],
});
const as4Path = (asns: number[]): PathAttribute => ({
  kind: "as4-path",
  code: 17,
  flags: 0xc0,
  segments: [{ type: SEQ, asns }],
});
const agg = (as: number): PathAttribute => ({
  kind: "aggregator",
  code: 7,
  flags: 0xc0,
  as,
  address: "10.0.0.9",
});
const agg4 = (as: number): PathAttribute => ({
  kind: "as4-aggregator",
  code: 18,
  flags: 0xc0,
  as,
  address: "10.0.0.9",
});

describe("RFC 6793 reconciliation for 2-octet peers", () => {
  it("merges AS4_PATH and takes AS4_AGGREGATOR when AGGREGATOR is AS_TRANS", () => {
    const v = reconcileAs4(
      [asPath([65001, 23456]), agg(23456), as4Path([4200000001]), agg4(4200000001)],
      false,
    );
    expect(v).toEqual({
      asPath: [{ type: SEQ, asns: [65001, 4200000001] }],
      aggregator: { as: 4200000001, address: "10.0.0.9" },
    });
  });

  it("ignores AS4_* when AGGREGATOR names a real 2-octet AS", () => {
    const v = reconcileAs4(
      [asPath([65001, 23456]), agg(65005), as4Path([4200000001]), agg4(4200000001)],
      false,
    );
    expect(v).toEqual({
      asPath: [{ type: SEQ, asns: [65001, 23456] }],
      aggregator: { as: 65005, address: "10.0.0.9" },
    });
  });

  it("ignores AS4_* on a 4-octet session", () => {
    expect(reconcileAs4([asPath([4200000001]), as4Path([1])], true)).toEqual({
      asPath: [{ type: SEQ, asns: [4200000001] }],
    });
  });
});

describe("attributes passed on", () => {
  it("sets Partial on unknown optional transitive attributes and drops non-transitive and malformed ones", () => {
    const attrs: PathAttribute[] = [
      asPath([65001]),
      { kind: "unknown", code: 99, flags: 0xc0, value: Uint8Array.of(1) },
      { kind: "unknown", code: 98, flags: 0x80, value: Uint8Array.of(2) },
      {
        kind: "malformed",
        code: 8,
        flags: 0xc0,
        value: Uint8Array.of(3),
        error: new BgpDecodeError(3, 5, 0, "treat-as-withdraw"),
      },
    ];
    expect(forwardableAttributes(attrs)).toEqual([
      attrs[0],
      { kind: "unknown", code: 99, flags: 0xe0, value: Uint8Array.of(1) },
    ]);
  });
});
