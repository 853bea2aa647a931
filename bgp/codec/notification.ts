/**
 * NOTIFICATION (RFC 4271 §4.5): code, subcode and data, plus what operators need to read one: the
 * names of the code and subcode (RFC 4486 for Cease) and, for Administrative Shutdown and Reset, the
 * shutdown communication (RFC 9003: one length octet, then up to 255 octets of UTF-8), and for Maximum
 * Number of Prefixes Reached the family and limit (RFC 4486 §4). Malformed data is shown as data only,
 * never an error: the session is going down anyway.
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

/** RFC 4486 §4: the data of Cease / Maximum Number of Prefixes Reached, when the sender gives it. */
export interface MaxPrefixesData {
  readonly afi: number;
  readonly safi: number;
  /** The upper bound on the number of prefixes the sender accepts. */
  readonly limit: number;
}

/** AFI (2 octets), SAFI (1 octet), prefix upper bound (4 octets), RFC 4486 §4. */
export function encodeMaxPrefixesData(d: MaxPrefixesData): Uint8Array {
  const out = new Uint8Array(7);
  const v = new DataView(out.buffer);
  v.setUint16(0, d.afi);
  v.setUint8(2, d.safi);
  v.setUint32(3, d.limit);
  return out;
}

/** The RFC 4486 §4 data of a Maximum Number of Prefixes Reached NOTIFICATION, if it carries exactly that. */
export function maxPrefixesData(n: NotificationMessage): MaxPrefixesData | undefined {
  if (n.code !== ErrorCode.Cease || n.subcode !== CeaseSub.MaxPrefixes || n.data.length !== 7)
    return undefined;
  const v = new DataView(n.data.buffer, n.data.byteOffset, n.data.byteLength);
  return { afi: v.getUint16(0), safi: v.getUint8(2), limit: v.getUint32(3) };
}

const AFI_WORDS: Record<number, string> = { 1: "ipv4", 2: "ipv6" };
const SAFI_WORDS: Record<number, string> = { 1: "unicast", 2: "multicast" };

/** "ipv4 unicast", or the numbers for families without a name here ("afi 25 safi 70"). */
export function familyWords(afi: number, safi: number): string {
  const a = AFI_WORDS[afi];
  const s = SAFI_WORDS[safi];
  return a !== undefined && s !== undefined ? `${a} ${s}` : `afi ${afi} safi ${safi}`;
}

/** "Cease / Administrative Shutdown: \"maintenance\"" — what `tabby bgp peers` prints as the last error. */
export function describeNotification(n: NotificationMessage): string {
  const base = `${errorCodeName(n.code)} / ${errorSubcodeName(n.code, n.subcode)}`;
  const text = shutdownCommunication(n);
  if (text !== undefined) return `${base}: ${JSON.stringify(text)}`;
  const max = maxPrefixesData(n);
  if (max !== undefined) return `${base}: ${familyWords(max.afi, max.safi)}, limit ${max.limit}`;
  return base;
}
