// Property tests (fast-check): decode(encode(m)) = m for generated messages; any byte string that
// decodes re-encodes to itself; mutated valid messages only ever yield a message or a BgpDecodeError.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BgpDecodeError } from "../../../bgp/codec/errors.js";
import { messageFromJson, messageToJson } from "../../../bgp/codec/json.js";
import { decodeMessage, encodeMessage } from "../../../bgp/codec/message.js";
import { anyMessage } from "./arbitraries.js";

/** What a decoded message is compared on (the RFC 7606 verdicts are derived, not encoded). */
function comparable(m: ReturnType<typeof decodeMessage>) {
  if (m.type !== "UPDATE") return m;
  return { type: m.type, withdrawn: m.withdrawn, attributes: m.attributes, nlri: m.nlri };
}

const MAX = 65535;

describe("codec properties", () => {
  it("decode(encode(m)) equals m", () => {
    fc.assert(
      fc.property(anyMessage, ({ ctx, msg }) => {
        const bytes = encodeMessage(msg, { ...ctx, maxMessageLen: MAX });
        const back = decodeMessage(bytes, { ...ctx, maxMessageLen: MAX });
        expect(comparable(back)).toEqual(
          msg.type === "OPEN" && bytes[29] === 255 && bytes[28] === 255
            ? { ...msg, extendedParams: true }
            : msg,
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("the JSON view is lossless: encode(fromJson(toJson(decode(b)))) = b", () => {
    fc.assert(
      fc.property(anyMessage, ({ ctx, msg }) => {
        const c = { ...ctx, maxMessageLen: MAX };
        const bytes = encodeMessage(msg, c);
        const json = JSON.parse(JSON.stringify(messageToJson(decodeMessage(bytes, c), c)));
        const back = messageFromJson(json);
        expect(
          Buffer.from(encodeMessage(back.message, { ...back.ctx, maxMessageLen: MAX })).toString("hex"),
        ).toBe(Buffer.from(bytes).toString("hex"));
      }),
      { numRuns: 1000 },
    );
  });

  it("mutated messages decode to a message or a BgpDecodeError, never anything else; what decodes re-encodes exactly", () => {
    const mutation = fc.record({
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat()),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }))),
      fixLength: fc.boolean(),
    });
    fc.assert(
      fc.property(anyMessage, mutation, ({ ctx, msg }, mu) => {
        const c = { ...ctx, maxMessageLen: MAX };
        let bytes = encodeMessage(msg, c);
        for (const [at, v] of mu.flips) if (bytes.length > 19) bytes[19 + (at % (bytes.length - 19))] = v;
        if (mu.insert) {
          const at = mu.insert[0] % (bytes.length + 1);
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...mu.insert[1], ...bytes.subarray(at)]);
        }
        if (mu.cut !== null) bytes = bytes.subarray(0, mu.cut % (bytes.length + 1));
        if (mu.fixLength && bytes.length >= 19) {
          bytes[16] = bytes.length >> 8;
          bytes[17] = bytes.length & 0xff;
        }
        let decoded: ReturnType<typeof decodeMessage> | undefined;
        try {
          decoded = decodeMessage(bytes, c);
        } catch (e) {
          expect(e).toBeInstanceOf(BgpDecodeError);
          return;
        }
        const len = (bytes[16]! << 8) | bytes[17]!;
        expect(Buffer.from(encodeMessage(decoded, c)).toString("hex")).toBe(
          Buffer.from(bytes.subarray(0, len)).toString("hex"),
        );
      }),
      { numRuns: 5000 },
    );
  });
});
