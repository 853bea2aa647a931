/**
 * Address messages (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR): struct ifaddrmsg plus IFA_* attributes
 * (linux/if_addr.h). felix assigns tunnel addresses (/32 on vxlan.calico and tunl0) and reads the node's
 * addresses to find the parent interface and its subnet. Layout as iproute2 6.1 `ip addr add/del`
 * (IFA_LOCAL, then IFA_ADDRESS). Pure.
 */
import { NetlinkDecodeError } from "../errors.js";
import { type Family, formatIp, parseIp } from "../ip.js";
import { AF, IFA, NLM_F, RTM } from "./constants.js";
import { attrString, attrU32, attrValue, type RawMessage, readAttrs, u32At, type Writer } from "./wire.js";

export interface Addr {
  readonly family: Family;
  readonly index: number;
  /** The interface's own address (IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL). */
  readonly address: string;
  readonly prefixLen: number;
  readonly scope: number;
  /** IFA_F_* (u8 header flags, widened by IFA_FLAGS). */
  readonly flags: number;
  /** Peer address for point-to-point links (IFA_ADDRESS when it differs from IFA_LOCAL). */
  readonly peer?: string;
  readonly label?: string;
}

const IFADDRMSG_LEN = 8;
export type AddrOp = "add" | "replace" | "delete";

/** `ip addr add|replace|del <address>/<prefixLen> dev <index>`. */
export function encodeAddr(
  w: Writer,
  op: AddrOp,
  seq: number,
  a: Pick<Addr, "index" | "address" | "prefixLen"> & { readonly scope?: number },
): void {
  const bytes = parseIp(a.address);
  const type = op === "delete" ? RTM.DELADDR : RTM.NEWADDR;
  const flags =
    NLM_F.REQUEST |
    NLM_F.ACK |
    (op === "add" ? NLM_F.CREATE | NLM_F.EXCL : op === "replace" ? NLM_F.CREATE | NLM_F.REPLACE : 0);
  const start = w.beginMessage(type, flags, seq);
  w.u8(bytes.length === 4 ? AF.INET : AF.INET6);
  w.u8(a.prefixLen);
  w.u8(0); // ifa_flags
  w.u8(a.scope ?? 0);
  w.u32(a.index);
  w.attrBytes(IFA.LOCAL, bytes);
  w.attrBytes(IFA.ADDRESS, bytes);
  w.endMessage(start);
}

/** Dump of every address of one family (0 = both). */
export function encodeAddrDump(w: Writer, seq: number, family: Family | 0 = 0): void {
  const start = w.beginMessage(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.u8(family === 0 ? AF.UNSPEC : family === 4 ? AF.INET : AF.INET6);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(0);
  w.endMessage(start);
}

export function decodeAddr(buf: Uint8Array, m: RawMessage): Addr | undefined {
  const p = m.payload;
  if (m.end - p < IFADDRMSG_LEN) throw new NetlinkDecodeError("short ifaddrmsg", p);
  const af = buf[p]!;
  if (af !== AF.INET && af !== AF.INET6) return undefined;
  let local: string | undefined;
  let address: string | undefined;
  let label: string | undefined;
  let flags = buf[p + 2]!;
  for (const a of readAttrs(buf, p + IFADDRMSG_LEN, m.end)) {
    if (a.type === IFA.LOCAL) local = formatIp(attrValue(buf, a));
    else if (a.type === IFA.ADDRESS) address = formatIp(attrValue(buf, a));
    else if (a.type === IFA.LABEL) label = attrString(buf, a);
    else if (a.type === IFA.FLAGS) flags = attrU32(buf, a);
  }
  const own = local ?? address;
  if (own === undefined) throw new NetlinkDecodeError("address message without IFA_LOCAL/IFA_ADDRESS", p);
  return {
    family: af === AF.INET ? 4 : 6,
    index: u32At(buf, p + 4),
    address: own,
    prefixLen: buf[p + 1]!,
    scope: buf[p + 3]!,
    flags,
    ...(local !== undefined && address !== undefined && address !== local ? { peer: address } : {}),
    ...(label !== undefined ? { label } : {}),
  };
}
