// Replays every input the fuzzer (codec-fuzz.ts) ever found crashing: each must now decode to a message
// that re-encodes to itself, or be refused with a BgpDecodeError.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BgpDecodeError } from "../../bgp/codec/errors.js";
import { decodeMessage, encodeMessage } from "../../bgp/codec/message.js";

const dir = new URL("./crashers/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));

describe("fuzzer regressions", () => {
  it("the crasher directory is readable", () => {
    expect(Array.isArray(files)).toBe(true);
  });
  for (const f of files) {
    it(f, () => {
      const { ctx, hex } = JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { ctx: object; hex: string };
      const input = Uint8Array.from(Buffer.from(hex, "hex"));
      try {
        const m = decodeMessage(input, ctx as never);
        const len = (input[16]! << 8) | input[17]!;
        expect(Buffer.from(encodeMessage(m, ctx as never)).toString("hex")).toBe(hex.slice(0, len * 2));
      } catch (e) {
        expect(e).toBeInstanceOf(BgpDecodeError);
      }
    });
  }
});
