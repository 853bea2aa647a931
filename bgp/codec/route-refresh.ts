/**
 * ROUTE-REFRESH (RFC 2918) with the RFC 7313 subtypes (0 normal request, 1 BoRR, 2 EoRR). BoRR and
 * EoRR are exactly 4 octets after the header; RFC 7313 §5 answers another length with ROUTE-REFRESH
 * Message Error / Invalid Message Length and the whole message as data. A request (subtype 0) may carry
 * Outbound Route Filter entries after those 4 octets (RFC 5291, sent by some vendors); they are kept as
 * bytes. Reserved subtypes (3..255) decode and are left for the session to ignore, as RFC 7313 says.
 */
import { HEADER_LEN, MsgType } from "./constants.js";
import { BgpDecodeError } from "./errors.js";
import { writeHeader } from "./header.js";

export interface RouteRefreshMessage {
  readonly type: "ROUTE-REFRESH";
  readonly afi: number;
  /** 0 = refresh request, 1 = Beginning of Route Refresh, 2 = End of Route Refresh. */
  readonly subtype: number;
  readonly safi: number;
  /** RFC 5291 ORF entries of a request, as received. */
  readonly orf?: Uint8Array;
}

export const RouteRefreshSubtype = { Request: 0, BoRR: 1, EoRR: 2 } as const;

export function decodeRouteRefresh(buf: Uint8Array): RouteRefreshMessage {
  const subtype = buf[21]!;
  if (
    buf.length !== HEADER_LEN + 4 &&
    !(subtype === RouteRefreshSubtype.Request && buf.length > HEADER_LEN + 4)
  ) {
    // RFC 7313 §5: the data is the complete ROUTE-REFRESH message.
    throw new BgpDecodeError(7, 1, 16, "session-reset", buf.slice(), `ROUTE-REFRESH of length ${buf.length}`);
  }
  return {
    type: "ROUTE-REFRESH",
    afi: (buf[19]! << 8) | buf[20]!,
    subtype,
    safi: buf[22]!,
    ...(buf.length > HEADER_LEN + 4 ? { orf: buf.slice(HEADER_LEN + 4) } : {}),
  };
}

export function encodeRouteRefresh(r: Omit<RouteRefreshMessage, "type">): Uint8Array {
  const extra = r.orf ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER_LEN + 4 + extra.length);
  writeHeader(out, 0, out.length, MsgType.RouteRefresh);
  out[19] = r.afi >> 8;
  out[20] = r.afi & 0xff;
  out[21] = r.subtype;
  out[22] = r.safi;
  out.set(extra, HEADER_LEN + 4);
  return out;
}
