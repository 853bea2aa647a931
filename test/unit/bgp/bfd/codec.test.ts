// BFD Control packets (RFC 5880 §4.1): round trips, the bit layout, and every reception check of
// §6.8.6 the codec makes, with the byte offset each error names.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BFD_STATES,
  type BfdControlPacket,
  BfdDecodeError,
  decodeControl,
  diagName,
  encodeControl,
} from "../../../../bgp/bfd/codec.js";
import { ttlFilterProgram } from "../../../../bgp/bfd/transport.js";

const base: BfdControlPacket = {
  version: 1,
  diag: 0,
  state: "Up",
  poll: false,
  final: false,
  cpi: false,
  auth: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscr: 0x01020304,
  yourDiscr: 0x0a0b0c0d,
  desiredMinTxUs: 300_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};
const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");

function fails(bytes: Uint8Array, offset = 0): BfdDecodeError {
  try {
    decodeControl(bytes, offset);
  } catch (e) {
    expect(e).toBeInstanceOf(BfdDecodeError);
    return e as BfdDecodeError;
  }
  throw new Error("decoded");
}

describe("BFD codec", () => {
  it("encodes the RFC 5880 §4.1 layout byte for byte", () => {
    const b = encodeControl({ ...base, diag: 3, state: "Init", poll: true });
    // vers 1 | diag 3 = 0x23; Init (2) << 6 | P = 0xa0; mult 3; length 24
    expect(hex(b)).toBe("23a00318" + "01020304" + "0a0b0c0d" + "000493e0" + "000493e0" + "00000000");
    expect(hex(encodeControl({ ...base, state: "Down", final: true, yourDiscr: 0 })).slice(0, 8)).toBe(
      "20500318",
    );
  });

  it("round-trips every valid packet", () => {
    const arb = fc.record({
      diag: fc.integer({ min: 0, max: 31 }),
      state: fc.constantFrom(...BFD_STATES),
      poll: fc.boolean(),
      final: fc.boolean(),
      cpi: fc.boolean(),
      demand: fc.boolean(),
      detectMult: fc.integer({ min: 1, max: 255 }),
      myDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      yourDiscr: fc.integer({ min: 1, max: 0xffffffff }),
      desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
      requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    });
    fc.assert(
      fc.property(arb, (p) => {
        const pkt: BfdControlPacket = { ...p, version: 1, auth: false, multipoint: false };
        expect(decodeControl(encodeControl(pkt))).toEqual(pkt);
      }),
    );
  });

  it("decodes at an offset and ignores bytes after Length", () => {
    const buf = new Uint8Array(40);
    buf.set(encodeControl(base), 8);
    expect(decodeControl(buf, 8)).toEqual(base);
  });

  it("a zero Your Discriminator is fine in Down and AdminDown", () => {
    for (const state of ["Down", "AdminDown"] as const)
      expect(decodeControl(encodeControl({ ...base, state, yourDiscr: 0 })).yourDiscr).toBe(0);
  });

  const mutate = (f: (b: Uint8Array) => void, p: BfdControlPacket = base) => {
    const b = encodeControl(p);
    f(b);
    return b;
  };

  it.each([
    ["short", "fewer than 24 bytes", encodeControl(base).subarray(0, 23), 0],
    ["version", "version 0", mutate((b) => (b[0] = b[0]! & 0x1f)), 0],
    ["version", "version 2", mutate((b) => (b[0] = (2 << 5) | (b[0]! & 0x1f))), 0],
    ["length", "Length below 24", mutate((b) => (b[3] = 23)), 3],
    ["length", "Length beyond the payload", mutate((b) => (b[3] = 25)), 3],
    ["length", "A bit set and Length below 26", mutate((b) => (b[1] = b[1]! | 0x04)), 3],
    ["detect-mult", "Detect Mult zero", mutate((b) => (b[2] = 0)), 2],
    ["multipoint", "M bit set", mutate((b) => (b[1] = b[1]! | 0x01)), 1],
    ["my-discriminator", "My Discriminator zero", encodeControl({ ...base, myDiscr: 0 }), 4],
    ["your-discriminator", "Your Discriminator zero while Up", encodeControl({ ...base, yourDiscr: 0 }), 8],
    [
      "your-discriminator",
      "Your Discriminator zero while Init",
      encodeControl({ ...base, state: "Init", yourDiscr: 0 }),
      8,
    ],
  ] as const)("discards (%s): %s, naming byte %i", (rule, _what, bytes, offset) => {
    const e = fails(bytes);
    expect(e.rule).toBe(rule);
    expect(e.offset).toBe(offset);
    expect(e.code).toBe("BFD_DECODE");
    expect(e.message).toContain(`at byte ${offset}`);
  });

  it("discards an authenticated packet: authentication is not supported", () => {
    const b = new Uint8Array(26);
    b.set(encodeControl({ ...base, auth: true }));
    b[3] = 26;
    const e = fails(b);
    expect([e.rule, e.offset]).toEqual(["authentication", 1]);
    expect(e.message).toBe(
      "BFD Authentication Present (A) bit set, but authentication is not supported (at byte 1)",
    );
  });

  it("offsets are counted from the start of the buffer", () => {
    const buf = new Uint8Array(34);
    buf.set(encodeControl({ ...base, detectMult: 1 }), 10);
    buf[12] = 0;
    expect(fails(buf, 10).offset).toBe(12);
  });

  it("names diagnostics", () => {
    expect(diagName(1)).toBe("Control Detection Time Expired");
    expect(diagName(3)).toBe("Neighbor Signaled Session Down");
    expect(diagName(20)).toBe("Reserved (20)");
  });

  it("the GTSM socket filter: ldb [SKF_NET_OFF+8]; jge #255; ret -1; ret 0 (IPv6: offset 7)", () => {
    expect(hex(ttlFilterProgram(4, 255, true))).toBe(
      "300000000800f0ff" + "35000001ff000000" + "06000000ffffffff" + "0600000000000000",
    );
    expect(hex(ttlFilterProgram(6, 255, true)).slice(0, 16)).toBe("300000000700f0ff");
  });
});
