/**
 * One entry point per direction: `decodeMessage(bytes, ctx)` for a framed message (header included)
 * and `encodeMessage(msg, ctx)`. The context says what the session negotiated (4-octet AS, ADD-PATH per
 * family, extended message length); session-context.ts derives it from the two OPENs.
 */
import type { AttrContext } from "./attributes.js";
import { HeaderSub, MAX_MESSAGE_LEN, MsgType } from "./constants.js";
import { BgpDecodeError } from "./errors.js";
import { checkHeader, writeHeader } from "./header.js";
import { decodeNotification, encodeNotification, type NotificationMessage } from "./notification.js";
import { decodeOpen, encodeOpen, type OpenMessage } from "./open.js";
import { decodeRouteRefresh, encodeRouteRefresh, type RouteRefreshMessage } from "./route-refresh.js";
import { decodeUpdate, encodeUpdate, type UpdateMessage } from "./update.js";

export interface KeepaliveMessage {
  readonly type: "KEEPALIVE";
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

export interface CodecContext extends AttrContext {
  /** 4096, or 65535 once Extended Message is negotiated (RFC 8654). */
  readonly maxMessageLen?: number;
}

/** Context before OPENs are exchanged: 2-octet AS, no ADD-PATH, 4096-byte messages. */
export const INITIAL_CONTEXT: CodecContext = { fourOctetAs: false };

/** Decodes one whole message. Throws only `BgpDecodeError`. */
export function decodeMessage(buf: Uint8Array, ctx: CodecContext = INITIAL_CONTEXT): BgpMessage {
  if (buf.length < 19) {
    // Callers hand over framed messages; a short one can only come from a truncated capture.
    checkHeader(padded(buf), 0, ctx.maxMessageLen ?? MAX_MESSAGE_LEN);
  }
  const len = checkHeader(buf, 0, ctx.maxMessageLen ?? MAX_MESSAGE_LEN);
  if (buf.length < len) {
    throw new BgpDecodeError(
      1,
      HeaderSub.BadMessageLength,
      16,
      "session-reset",
      buf.slice(16, 18),
      `message of length ${len} truncated to ${buf.length} bytes`,
    );
  }
  const msg = len === buf.length ? buf : buf.subarray(0, len);
  switch (buf[18]) {
    case MsgType.Open:
      return decodeOpen(msg);
    case MsgType.Update:
      return decodeUpdate(msg, ctx);
    case MsgType.Notification:
      return decodeNotification(msg);
    case MsgType.Keepalive:
      return { type: "KEEPALIVE" };
    default:
      return decodeRouteRefresh(msg);
  }
}

function padded(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(19);
  out.set(buf);
  return out;
}

export function encodeKeepalive(): Uint8Array {
  const out = new Uint8Array(19);
  writeHeader(out, 0, 19, MsgType.Keepalive);
  return out;
}

export function encodeMessage(msg: BgpMessage, ctx: CodecContext = INITIAL_CONTEXT): Uint8Array {
  switch (msg.type) {
    case "OPEN":
      return encodeOpen(msg);
    case "UPDATE":
      return encodeUpdate(msg, ctx, ctx.maxMessageLen ?? MAX_MESSAGE_LEN);
    case "NOTIFICATION":
      return encodeNotification(msg);
    case "KEEPALIVE":
      return encodeKeepalive();
    case "ROUTE-REFRESH":
      return encodeRouteRefresh(msg);
  }
}
