/**
 * OPEN (RFC 4271 §4.2) with optional parameters in the classic 1-octet-length form or the RFC 9072
 * extended form. Structure only: `decodeOpen` reads what is there, keeping how capabilities were grouped
 * into parameters (BIRD sends one parameter with all of them, others one per capability) so that
 * re-encoding is byte-exact; `checkOpen` applies the §6.2 checks that need no session configuration
 * (version, hold time, BGP identifier). Peer AS and capability policy belong to the session.
 */

import { type Capability, decodeCapabilities, encodeCapabilities } from "./capabilities.js";
import { HEADER_LEN, MsgType, OpenSub, OptParamType } from "./constants.js";
import { BgpDecodeError } from "./errors.js";
import { writeHeader } from "./header.js";
import { formatIpv4, parseIpv4Into } from "./ip.js";

export interface OptionalParameter {
  /** Only capabilities (type 2) exist in practice; other types are refused (RFC 5492 §4 via §6.2). */
  readonly type: 2;
  readonly capabilities: readonly Capability[];
}

export interface OpenMessage {
  readonly type: "OPEN";
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS when the real AS needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly params: readonly OptionalParameter[];
  /** Parameters were sent in the RFC 9072 extended format. */
  readonly extendedParams?: boolean;
}

/** `buf` is the whole message (header included). */
export function decodeOpen(buf: Uint8Array): OpenMessage {
  const version = buf[19]!;
  const myAs = (buf[20]! << 8) | buf[21]!;
  const holdTime = (buf[22]! << 8) | buf[23]!;
  const bgpId = formatIpv4(buf, 24);
  let optLen = buf[28]!;
  let p = 29;
  let extended = false;
  // RFC 9072: Non-Ext OP Len = 255 and Non-Ext OP Type = 255 announce 2-octet lengths.
  if (optLen === 255 && buf.length > 29 && buf[29] === OptParamType.ExtendedLength) {
    if (buf.length < 32) throw malformed(29, "truncated extended optional parameters length");
    optLen = (buf[30]! << 8) | buf[31]!;
    p = 32;
    extended = true;
  }
  if (p + optLen !== buf.length) {
    throw malformed(
      28,
      `optional parameters length ${optLen} does not match the message length ${buf.length}`,
    );
  }
  const params: OptionalParameter[] = [];
  const hlen = extended ? 3 : 2;
  const end = p + optLen;
  while (p < end) {
    if (end - p < hlen) throw malformed(p, "truncated optional parameter header");
    const type = buf[p]!;
    const len = extended ? (buf[p + 1]! << 8) | buf[p + 2]! : buf[p + 1]!;
    if (end - p - hlen < len) throw malformed(p, "optional parameter runs past the end of the message");
    if (type !== OptParamType.Capabilities) {
      throw new BgpDecodeError(
        2,
        OpenSub.UnsupportedOptionalParameter,
        p,
        "session-reset",
        buf.slice(p, p + hlen + len),
        `optional parameter type ${type}`,
      );
    }
    params.push({ type: 2, capabilities: decodeCapabilities(buf, p + hlen, p + hlen + len, 0) });
    p += hlen + len;
  }
  return {
    type: "OPEN",
    version,
    myAs,
    holdTime,
    bgpId,
    params,
    ...(extended ? { extendedParams: true } : {}),
  };
}

function malformed(offset: number, detail: string): BgpDecodeError {
  return new BgpDecodeError(2, OpenSub.Unspecific, offset, "session-reset", undefined, detail);
}

/** RFC 4271 §6.2 checks that need no configuration. Throws the NOTIFICATION to send. */
export function checkOpen(open: OpenMessage): void {
  if (open.version !== 4) {
    // Data: the largest version we support that is below the one bid (we only speak 4).
    throw new BgpDecodeError(
      2,
      OpenSub.UnsupportedVersion,
      19,
      "session-reset",
      Uint8Array.of(0, 4),
      `BGP version ${open.version}`,
    );
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    throw new BgpDecodeError(
      2,
      OpenSub.UnacceptableHoldTime,
      22,
      "session-reset",
      undefined,
      `hold time ${open.holdTime}`,
    );
  }
  if (open.bgpId === "0.0.0.0") {
    throw new BgpDecodeError(
      2,
      OpenSub.BadBgpIdentifier,
      24,
      "session-reset",
      undefined,
      "BGP identifier 0.0.0.0",
    );
  }
}

/** All capabilities in order, across parameters. */
export function capabilitiesOf(open: OpenMessage): Capability[] {
  return open.params.flatMap((p) => p.capabilities);
}

/** The speaker's real AS: the 4-octet AS capability if present, else the 2-octet field. */
export function asNumberOf(open: OpenMessage): number {
  const c = capabilitiesOf(open).find((x) => x.name === "four-octet-as");
  return c?.name === "four-octet-as" ? c.as : open.myAs;
}

export function encodeOpen(open: OpenMessage): Uint8Array {
  const encoded = open.params.map((p) => encodeCapabilities(p.capabilities));
  const needExtended = open.extendedParams === true || encoded.some((e) => e.length > 255);
  const hlen = needExtended ? 3 : 2;
  const paramsLen = encoded.reduce((n, e) => n + hlen + e.length, 0);
  if (!needExtended && paramsLen > 255) return encodeOpen({ ...open, extendedParams: true });
  const prefix = needExtended ? 3 : 0; // 255, 255, extended length
  const len = HEADER_LEN + 10 + prefix + paramsLen;
  const out = new Uint8Array(len);
  writeHeader(out, 0, len, MsgType.Open);
  out[19] = open.version;
  out[20] = open.myAs >> 8;
  out[21] = open.myAs & 0xff;
  out[22] = open.holdTime >> 8;
  out[23] = open.holdTime & 0xff;
  parseIpv4Into(open.bgpId, out, 24);
  let p = 28;
  if (needExtended) {
    out[p++] = 255;
    out[p++] = OptParamType.ExtendedLength;
    out[p++] = paramsLen >> 8;
    out[p++] = paramsLen & 0xff;
  } else {
    out[p++] = paramsLen;
  }
  for (const e of encoded) {
    out[p++] = OptParamType.Capabilities;
    if (needExtended) out[p++] = e.length >> 8;
    out[p++] = e.length & 0xff;
    out.set(e, p);
    p += e.length;
  }
  return out;
}
