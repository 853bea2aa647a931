/**
 * The 19-byte message header (RFC 4271 §4.1) and its checks (§6.1): all-ones marker, length within
 * 19..4096 (65535 once Extended Message is negotiated, RFC 8654), a known type, and each type's
 * minimum (or exact) length. A failure is always a session reset with a Message Header Error.
 */
import { HEADER_LEN, HeaderSub, MARKER_LEN, MsgType } from "./constants.js";
import { BgpDecodeError } from "./errors.js";

/** Smallest legal length per message type (KEEPALIVE: exactly this). RFC 4271 §4.2-4.5, RFC 2918. */
const MIN_LEN: Record<number, number> = {
  [MsgType.Open]: 29,
  [MsgType.Update]: 23,
  [MsgType.Notification]: 21,
  [MsgType.Keepalive]: 19,
  [MsgType.RouteRefresh]: 23,
};

function lengthError(buf: Uint8Array, off: number, detail: string): BgpDecodeError {
  return new BgpDecodeError(
    1,
    HeaderSub.BadMessageLength,
    16,
    "session-reset",
    buf.slice(off + 16, off + 18),
    detail,
  );
}

/**
 * Validates the header at `buf[off..off+19)` and returns the message length. The caller guarantees
 * 19 bytes are present.
 */
export function checkHeader(buf: Uint8Array, off: number, maxLen: number): number {
  for (let i = 0; i < MARKER_LEN; i++) {
    if (buf[off + i] !== 0xff) {
      return fail(
        new BgpDecodeError(
          1,
          HeaderSub.ConnectionNotSynchronized,
          i,
          "session-reset",
          undefined,
          "marker is not all ones",
        ),
      );
    }
  }
  const len = (buf[off + 16]! << 8) | buf[off + 17]!;
  const type = buf[off + 18]!;
  if (len < HEADER_LEN || len > maxLen) {
    return fail(lengthError(buf, off, `message length ${len} outside ${HEADER_LEN}..${maxLen}`));
  }
  const min = MIN_LEN[type];
  if (min === undefined) {
    return fail(
      new BgpDecodeError(
        1,
        HeaderSub.BadMessageType,
        18,
        "session-reset",
        buf.slice(off + 18, off + 19),
        `unknown message type ${type}`,
      ),
    );
  }
  if (len < min || (type === MsgType.Keepalive && len !== HEADER_LEN)) {
    return fail(lengthError(buf, off, `length ${len} is wrong for message type ${type}`));
  }
  return len;
}

function fail(e: BgpDecodeError): never {
  throw e;
}

/** Writes a header for a message of `len` bytes and `type` at `out[off]`. */
export function writeHeader(out: Uint8Array, off: number, len: number, type: number): void {
  out.fill(0xff, off, off + MARKER_LEN);
  out[off + 16] = len >> 8;
  out[off + 17] = len & 0xff;
  out[off + 18] = type;
}
