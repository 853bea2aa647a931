/**
 * NOTIFICATION (RFC 4271 §4.5): code, subcode and data, plus what operators need to read one: the
 * names of the code and subcode (RFC 4486 for Cease) and, for Administrative Shutdown and Reset, the
 * shutdown communication (RFC 9003: one length octet, then up to 255 octets of UTF-8). A malformed
 * communication is shown as data only, never an error: the session is going down anyway.
 */
import { CeaseSub, ErrorCode, errorCodeName, errorSubcodeName, HEADER_LEN, MsgType } from "./constants.js";
import { writeHeader } from "./header.js";

export interface NotificationMessage {
  readonly type: "NOTIFICATION";
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export function decodeNotification(buf: Uint8Array): NotificationMessage {
  return { type: "NOTIFICATION", code: buf[19]!, subcode: buf[20]!, data: buf.slice(21) };
}

export function encodeNotification(n: Pick<NotificationMessage, "code" | "subcode" | "data">): Uint8Array {
  const len = HEADER_LEN + 2 + n.data.length;
  const out = new Uint8Array(len);
  writeHeader(out, 0, len, MsgType.Notification);
  out[19] = n.code;
  out[20] = n.subcode;
  out.set(n.data, 21);
  return out;
}

const carriesCommunication = (code: number, subcode: number) =>
  code === ErrorCode.Cease &&
  (subcode === CeaseSub.AdministrativeShutdown || subcode === CeaseSub.AdministrativeReset);

/** RFC 9003 shutdown communication, if the notification carries a well-formed one. */
export function shutdownCommunication(n: NotificationMessage): string | undefined {
  if (!carriesCommunication(n.code, n.subcode) || n.data.length === 0) return undefined;
  const len = n.data[0]!;
  if (len === 0 || 1 + len > n.data.length) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(n.data.subarray(1, 1 + len));
  } catch {
    return undefined;
  }
}

/** NOTIFICATION data for an RFC 9003 shutdown communication; longer text is cut at a character boundary. */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let bytes = new TextEncoder().encode(text);
  if (bytes.length > 255) {
    let cut = 255;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--; // do not split a UTF-8 sequence
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** "Cease / Administrative Shutdown: \"maintenance\"" — what `tabby bgp peers` prints as the last error. */
export function describeNotification(n: NotificationMessage): string {
  const base = `${errorCodeName(n.code)} / ${errorSubcodeName(n.code, n.subcode)}`;
  const text = shutdownCommunication(n);
  return text === undefined ? base : `${base}: ${JSON.stringify(text)}`;
}
