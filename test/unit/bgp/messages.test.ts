// Header (RFC 4271 §6.1), framing, OPEN (§6.2, RFC 5492, RFC 9072), NOTIFICATION (RFC 9003),
// ROUTE-REFRESH (RFC 2918, RFC 7313), KEEPALIVE.
import { describe, expect, it } from "vitest";
import type { Capability } from "../../../bgp/codec/capabilities.js";
import { BgpDecodeError } from "../../../bgp/codec/errors.js";
import { MessageFramer } from "../../../bgp/codec/framing.js";
import { decodeMessage, encodeKeepalive, encodeMessage } from "../../../bgp/codec/message.js";
import {
  describeNotification,
  encodeNotification,
  encodeShutdownCommunication,
  shutdownCommunication,
} from "../../../bgp/codec/notification.js";
import { asNumberOf, checkOpen, decodeOpen, encodeOpen, type OpenMessage } from "../../../bgp/codec/open.js";
import { encodeRouteRefresh } from "../../../bgp/codec/route-refresh.js";
import { b, header, message } from "./build.js";

function thrown(fn: () => unknown): BgpDecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BgpDecodeError) return e;
    throw e;
  }
  throw new Error("expected a BgpDecodeError");
}

const KEEPALIVE = encodeKeepalive();

describe("message header", () => {
  it("a marker that is not all ones: Connection Not Synchronized at the first bad byte", () => {
    const m = KEEPALIVE.slice();
    m[5] = 0xfe;
    expect(thrown(() => decodeMessage(m))).toMatchObject({
      errorCode: 1,
      subcode: 1,
      offset: 5,
      action: "session-reset",
    });
  });

  it("lengths outside 19..4096: Bad Message Length with the length field as data", () => {
    for (const len of [18, 4097]) {
      const m = b(header(len, 4));
      const e = thrown(() => decodeMessage(m));
      expect(e).toMatchObject({ errorCode: 1, subcode: 2, offset: 16 });
      expect([...e.data]).toEqual([len >> 8, len & 0xff]);
    }
  });

  it("accepts up to 65535 once extended messages are negotiated (RFC 8654)", () => {
    const big = message(3, new Uint8Array(5000).fill(0));
    big[19] = 6;
    expect(thrown(() => decodeMessage(big))).toMatchObject({ subcode: 2 });
    expect(decodeMessage(big, { fourOctetAs: true, maxMessageLen: 65535 })).toMatchObject({
      type: "NOTIFICATION",
      code: 6,
    });
  });

  it("an unknown type: Bad Message Type with the type as data", () => {
    const e = thrown(() => decodeMessage(message(9, b())));
    expect(e).toMatchObject({ errorCode: 1, subcode: 3, offset: 18 });
    expect([...e.data]).toEqual([9]);
  });

  it("per-type lengths: KEEPALIVE exactly 19, OPEN at least 29, UPDATE 23, NOTIFICATION 21", () => {
    expect(thrown(() => decodeMessage(message(4, b(0)))).subcode).toBe(2);
    expect(thrown(() => decodeMessage(message(1, b(4, 0, 1, 0, 90, 1, 2, 3)))).subcode).toBe(2);
    expect(thrown(() => decodeMessage(message(2, b(0, 0, 0)))).subcode).toBe(2);
    expect(thrown(() => decodeMessage(message(3, b(6)))).subcode).toBe(2);
    expect(decodeMessage(KEEPALIVE)).toEqual({ type: "KEEPALIVE" });
  });
});

describe("framing", () => {
  const stream = b(
    KEEPALIVE,
    encodeNotification({ code: 6, subcode: 2, data: encodeShutdownCommunication("bye") }),
    KEEPALIVE,
  );

  it("splits a stream at every possible chunk boundary into the same messages", () => {
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (const cut2 of [cut1, Math.min(stream.length, cut1 + 7), stream.length]) {
        const f = new MessageFramer();
        const got = [
          ...f.push(stream.subarray(0, cut1)),
          ...f.push(stream.subarray(cut1, cut2)),
          ...f.push(stream.subarray(cut2)),
        ];
        expect(got.map((m) => [m.streamOffset, m.bytes.length])).toEqual([
          [0, 19],
          [19, 25],
          [44, 19],
        ]);
        expect(f.pendingBytes).toBe(0);
      }
    }
  });

  it("byte by byte too, and keeps handed-out messages intact", () => {
    const f = new MessageFramer();
    const got = [];
    for (let i = 0; i < stream.length; i++) got.push(...f.push(stream.subarray(i, i + 1)));
    expect(got.map((m) => decodeMessage(m.bytes).type)).toEqual(["KEEPALIVE", "NOTIFICATION", "KEEPALIVE"]);
  });

  it("returns the good messages before a header error, records the error, then stops", () => {
    const bad = KEEPALIVE.slice();
    bad[0] = 0;
    const f = new MessageFramer();
    const got = f.push(b(KEEPALIVE, bad, KEEPALIVE));
    expect(got).toHaveLength(1);
    expect(f.error).toMatchObject({ errorCode: 1, subcode: 1 });
    expect(f.streamOffset).toBe(19);
    expect(f.push(KEEPALIVE)).toEqual([]);
  });

  it("reports a partial message as pending", () => {
    const f = new MessageFramer();
    expect(f.push(stream.subarray(0, 30))).toHaveLength(1);
    expect(f.pendingBytes).toBe(11);
    expect(f.streamOffset).toBe(19);
  });

  it("checks a split header as soon as it is complete", () => {
    const f = new MessageFramer();
    f.push(b(header(5000, 2)).subarray(0, 10));
    expect(f.push(b(header(5000, 2)).subarray(10))).toEqual([]);
    expect(f.error).toMatchObject({ subcode: 2 });
  });
});

const caps: Capability[] = [
  { name: "multiprotocol", code: 1, afi: 1, safi: 1 },
  { name: "multiprotocol", code: 1, afi: 2, safi: 1 },
  { name: "route-refresh", code: 2 },
  { name: "extended-next-hop", code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
  { name: "extended-message", code: 6 },
  { name: "role", code: 9, role: 3 },
  {
    name: "graceful-restart",
    code: 64,
    restartFlags: 8,
    restartTimeSec: 120,
    families: [{ afi: 1, safi: 1, flags: 0x80 }],
  },
  { name: "four-octet-as", code: 65, as: 4200000001 },
  { name: "add-path", code: 69, families: [{ afi: 1, safi: 1, sendReceive: 3 }] },
  { name: "enhanced-route-refresh", code: 70 },
  {
    name: "long-lived-graceful-restart",
    code: 71,
    families: [{ afi: 2, safi: 1, flags: 0x80, staleTimeSec: 3600 }],
  },
  { name: "fqdn", code: 73, hostname: "node-1", domain: "example.org" },
  { name: "route-refresh-old", code: 128 },
  { name: "unknown", code: 200, value: Uint8Array.of(1, 2, 3) },
];
const open: OpenMessage = {
  type: "OPEN",
  version: 4,
  myAs: 23456,
  holdTime: 90,
  bgpId: "10.0.0.1",
  params: [{ type: 2, capabilities: caps }],
};

describe("OPEN", () => {
  it("round-trips every capability, in one parameter or one per capability", () => {
    expect(decodeMessage(encodeOpen(open))).toEqual(open);
    const split: OpenMessage = { ...open, params: caps.map((c) => ({ type: 2, capabilities: [c] })) };
    expect(decodeMessage(encodeOpen(split))).toEqual(split);
    expect(asNumberOf(open)).toBe(4200000001);
  });

  it("uses the RFC 9072 extended parameter format when parameters exceed 255 octets, and reads it back", () => {
    const many: OpenMessage = { ...open, params: [{ type: 2, capabilities: new Array(60).fill(caps[7]) }] };
    const bytes = encodeOpen(many);
    expect([bytes[28], bytes[29]]).toEqual([255, 255]);
    expect(decodeMessage(bytes)).toEqual({ ...many, extendedParams: true });
  });

  it("an unsupported optional parameter type: Unsupported Optional Parameter with the parameter as data", () => {
    const m = message(1, b(4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 4, 1, 2, 0xaa, 0xbb));
    const e = thrown(() => decodeMessage(m));
    expect(e).toMatchObject({ errorCode: 2, subcode: 4, offset: 29 });
    expect([...e.data]).toEqual([1, 2, 0xaa, 0xbb]);
  });

  it("inconsistent parameter lengths and malformed capabilities: OPEN Message Error / Unspecific", () => {
    expect(
      thrown(() => decodeMessage(message(1, b(4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 5, 2, 2, 1, 0)))).subcode,
    ).toBe(0);
    const badCap = message(1, b(4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 6, 2, 4, 65, 2, 0, 1));
    expect(thrown(() => decodeMessage(badCap))).toMatchObject({ errorCode: 2, subcode: 0, offset: 31 });
    const overrun = message(1, b(4, 0xfd, 0xe9, 0, 90, 10, 0, 0, 1, 4, 2, 2, 65, 4));
    expect(thrown(() => decodeMessage(overrun))).toMatchObject({ errorCode: 2, subcode: 0 });
  });

  it("checkOpen: version, hold time 1-2, BGP identifier 0.0.0.0", () => {
    expect(() => checkOpen(open)).not.toThrow();
    const v3 = thrown(() => checkOpen({ ...open, version: 3 }));
    expect(v3).toMatchObject({ errorCode: 2, subcode: 1 });
    expect([...v3.data]).toEqual([0, 4]);
    expect(thrown(() => checkOpen({ ...open, holdTime: 2 }))).toMatchObject({ subcode: 6 });
    expect(() => checkOpen({ ...open, holdTime: 0 })).not.toThrow();
    expect(() => checkOpen({ ...open, holdTime: 3 })).not.toThrow();
    expect(thrown(() => checkOpen({ ...open, bgpId: "0.0.0.0" }))).toMatchObject({ subcode: 3 });
  });

  it("decodeOpen reads the header fields", () => {
    expect(decodeOpen(encodeOpen(open))).toMatchObject({
      version: 4,
      myAs: 23456,
      holdTime: 90,
      bgpId: "10.0.0.1",
    });
  });
});

describe("NOTIFICATION", () => {
  it("carries an RFC 9003 shutdown communication and names code and subcode", () => {
    const n = decodeMessage(
      encodeNotification({
        code: 6,
        subcode: 2,
        data: encodeShutdownCommunication("maintenance — back at 3:00"),
      }),
    );
    if (n.type !== "NOTIFICATION") throw new Error();
    expect(shutdownCommunication(n)).toBe("maintenance — back at 3:00");
    expect(describeNotification(n)).toBe('Cease / Administrative Shutdown: "maintenance — back at 3:00"');
    expect(describeNotification({ type: "NOTIFICATION", code: 4, subcode: 0, data: b() })).toBe(
      "Hold Timer Expired / Unspecific",
    );
    expect(describeNotification({ type: "NOTIFICATION", code: 2, subcode: 2, data: b(0, 1) })).toBe(
      "OPEN Message Error / Bad Peer AS",
    );
  });

  it("cuts a long communication at 255 octets without splitting a character", () => {
    const data = encodeShutdownCommunication("é".repeat(200));
    expect(data[0]).toBe(254);
    expect(shutdownCommunication({ type: "NOTIFICATION", code: 6, subcode: 4, data })).toBe("é".repeat(127));
  });

  it("a malformed communication is shown as data only", () => {
    expect(
      shutdownCommunication({ type: "NOTIFICATION", code: 6, subcode: 2, data: b(10, 0x41) }),
    ).toBeUndefined();
    expect(
      shutdownCommunication({ type: "NOTIFICATION", code: 6, subcode: 2, data: b(1, 0xff) }),
    ).toBeUndefined();
  });
});

describe("ROUTE-REFRESH", () => {
  it("round-trips the RFC 7313 subtypes", () => {
    for (const subtype of [0, 1, 2]) {
      expect(decodeMessage(encodeRouteRefresh({ afi: 2, safi: 1, subtype }))).toEqual({
        type: "ROUTE-REFRESH",
        afi: 2,
        safi: 1,
        subtype,
      });
    }
  });

  it("keeps RFC 5291 ORF entries of a request as bytes", () => {
    const m = message(5, b(0, 1, 0, 1, 0x40, 0x00, 0x07));
    expect(decodeMessage(m)).toEqual({
      type: "ROUTE-REFRESH",
      afi: 1,
      safi: 1,
      subtype: 0,
      orf: Uint8Array.of(0x40, 0, 7),
    });
    expect([...encodeMessage(decodeMessage(m))]).toEqual([...m]);
  });

  it("a BoRR/EoRR of the wrong length: ROUTE-REFRESH Message Error / Invalid Message Length, the message as data", () => {
    const m = message(5, b(0, 1, 1, 1, 0));
    const e = thrown(() => decodeMessage(m));
    expect(e).toMatchObject({ errorCode: 7, subcode: 1 });
    expect([...e.data]).toEqual([...m]);
  });

  it("KEEPALIVE encodes as the bare header", () => {
    expect([...encodeMessage({ type: "KEEPALIVE" })]).toEqual([...header(19, 4)]);
  });
});
