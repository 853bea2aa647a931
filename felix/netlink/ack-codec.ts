/**
 * NLMSG_ERROR messages, the kernel's answer to every request sent with NLM_F_ACK: struct nlmsgerr
 * (negative errno or 0, then the request's own nlmsghdr) and, with NETLINK_EXT_ACK, NLMSGERR_ATTR_*
 * TLVs carrying the kernel's explanation ("Nexthop device is not up"). With NETLINK_CAP_ACK the request
 * payload is left out (NLM_F_CAPPED), which keeps a batch's ACKs small. linux/netlink.h. Pure.
 */
import { NetlinkDecodeError } from "../errors.js";
import { NLM_F, NLMSG, NLMSGERR_ATTR } from "./constants.js";
import {
  align4,
  attrString,
  i32At,
  NLMSG_HDRLEN,
  type RawMessage,
  readAttrs,
  u32At,
  type Writer,
} from "./wire.js";

export interface Ack {
  /** 0 for success, else a positive errno. */
  readonly errno: number;
  /** nlmsg_seq of the request this answers. */
  readonly seq: number;
  /** nlmsg_type of the request this answers. */
  readonly requestType: number;
  readonly extack?: string;
  /** Byte offset into the request of the attribute the kernel objected to (NLMSGERR_ATTR_OFFS). */
  readonly badAttrOffset?: number;
}

export function decodeAck(buf: Uint8Array, m: RawMessage): Ack {
  const p = m.payload;
  if (m.end - p < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError("short nlmsgerr", p);
  const error = i32At(buf, p);
  const reqLen = u32At(buf, p + 4);
  const requestType = buf[p + 8]! | (buf[p + 9]! << 8);
  const seq = u32At(buf, p + 12);
  let extack: string | undefined;
  let badAttrOffset: number | undefined;
  if (m.flags & NLM_F.ACK_TLVS) {
    const tlvStart = p + 4 + (m.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(reqLen));
    if (tlvStart <= m.end) {
      for (const a of readAttrs(buf, tlvStart, m.end)) {
        if (a.type === NLMSGERR_ATTR.MSG) extack = attrString(buf, a);
        else if (a.type === NLMSGERR_ATTR.OFFS && a.len >= 4) badAttrOffset = u32At(buf, a.start);
      }
    }
  }
  return {
    errno: error === 0 ? 0 : -error,
    seq,
    requestType,
    ...(extack !== undefined && extack !== "" ? { extack } : {}),
    ...(badAttrOffset !== undefined ? { badAttrOffset } : {}),
  };
}

/** An ACK as the kernel would send it; for fakes and tests. */
export function encodeAck(
  w: Writer,
  request: { readonly type: number; readonly seq: number; readonly flags?: number },
  errno: number,
  extack?: string,
): void {
  const flags = NLM_F.CAPPED | (extack ? NLM_F.ACK_TLVS : 0);
  const start = w.beginMessage(NLMSG.ERROR, flags, request.seq);
  w.i32(-errno);
  w.u32(NLMSG_HDRLEN);
  w.u16(request.type);
  w.u16(request.flags ?? 0);
  w.u32(request.seq);
  w.u32(0);
  if (extack) w.attrString(NLMSGERR_ATTR.MSG, extack);
  w.endMessage(start);
}
