/**
 * Neighbour messages (RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH): struct ndmsg plus NDA_* attributes
 * (linux/neighbour.h). Two uses in felix, as in Calico: permanent ARP/NDP entries (family INET/INET6:
 * a workload IP -> its MAC on its cali*, a remote VTEP IP -> its MAC on vxlan.calico) and FDB entries on
 * the VXLAN device (family BRIDGE, NTF_SELF: VTEP MAC -> remote node IP). Layouts follow
 * `ip neigh replace` (NDA_DST, NDA_LLADDR) and `bridge fdb replace` (NDA_LLADDR, NDA_DST). Pure.
 */
import { NetlinkDecodeError } from "../errors.js";
import { type Family, formatIp, formatMac, parseIp, parseMac } from "../ip.js";
import { AF, NDA, NLM_F, NUD, RTM } from "./constants.js";
import { attrU32, attrValue, i32At, type RawMessage, readAttrs, u16At, type Writer } from "./wire.js";

/** An ARP/NDP entry (family 4/6) or an FDB entry (family "bridge"). */
export interface Neigh {
  readonly family: Family | "bridge";
  readonly index: number;
  /** NUD_* bits. */
  readonly state: number;
  /** NTF_* bits. */
  readonly flags: number;
  /** NDA_DST: the IP (ARP/NDP) or, for an FDB entry, the remote VTEP's underlay IP. */
  readonly dst?: string;
  /** NDA_LLADDR. */
  readonly lladdr?: string;
  readonly vni?: number;
  readonly master?: number;
}

const NDMSG_LEN = 12;
export type NeighOp = "add" | "replace" | "delete";

function ndmsg(w: Writer, family: number, index: number, state: number, flags: number): void {
  w.u8(family);
  w.u8(0);
  w.u16(0);
  w.i32(index);
  w.u16(state);
  w.u8(flags);
  w.u8(0); // ndm_type
}

function opHeader(w: Writer, op: NeighOp, seq: number): number {
  const type = op === "delete" ? RTM.DELNEIGH : RTM.NEWNEIGH;
  const flags =
    NLM_F.REQUEST |
    NLM_F.ACK |
    (op === "add" ? NLM_F.CREATE | NLM_F.EXCL : op === "replace" ? NLM_F.CREATE | NLM_F.REPLACE : 0);
  return w.beginMessage(type, flags, seq);
}

/** `ip neigh replace <dst> lladdr <mac> dev <index> nud permanent` (and add/del). */
export function encodeNeigh(
  w: Writer,
  op: NeighOp,
  seq: number,
  n: { readonly index: number; readonly dst: string; readonly lladdr?: string; readonly state?: number },
): void {
  const dst = parseIp(n.dst);
  const start = opHeader(w, op, seq);
  ndmsg(w, dst.length === 4 ? AF.INET : AF.INET6, n.index, n.state ?? NUD.PERMANENT, 0);
  w.attrBytes(NDA.DST, dst);
  if (op !== "delete" && n.lladdr !== undefined) w.attrBytes(NDA.LLADDR, parseMac(n.lladdr));
  w.endMessage(start);
}

/** `bridge fdb replace <mac> dev <index> dst <ip> self permanent` (and add/del). */
export function encodeFdb(
  w: Writer,
  op: NeighOp,
  seq: number,
  n: {
    readonly index: number;
    readonly lladdr: string;
    readonly dst: string;
    readonly state?: number;
    readonly flags?: number;
  },
): void {
  const start = opHeader(w, op, seq);
  ndmsg(w, AF.BRIDGE, n.index, n.state ?? NUD.PERMANENT, n.flags ?? 0x02 /* NTF_SELF */);
  w.attrBytes(NDA.LLADDR, parseMac(n.lladdr));
  w.attrBytes(NDA.DST, parseIp(n.dst));
  w.endMessage(start);
}

/** Dump of neighbours of one family (0 = all); for "bridge", optionally of one device (the FDB). */
export function encodeNeighDump(w: Writer, seq: number, family: Family | "bridge" | 0 = 0, index = 0): void {
  const start = w.beginMessage(RTM.GETNEIGH, NLM_F.REQUEST | NLM_F.DUMP, seq);
  const af = family === 0 ? AF.UNSPEC : family === "bridge" ? AF.BRIDGE : family === 4 ? AF.INET : AF.INET6;
  ndmsg(w, af, index, 0, 0);
  w.endMessage(start);
}

export function decodeNeigh(buf: Uint8Array, m: RawMessage): Neigh | undefined {
  const p = m.payload;
  if (m.end - p < NDMSG_LEN) throw new NetlinkDecodeError("short ndmsg", p);
  const af = buf[p]!;
  const family = af === AF.INET ? 4 : af === AF.INET6 ? 6 : af === AF.BRIDGE ? "bridge" : undefined;
  if (family === undefined) return undefined;
  let dst: string | undefined;
  let lladdr: string | undefined;
  let vni: number | undefined;
  let master: number | undefined;
  for (const a of readAttrs(buf, p + NDMSG_LEN, m.end)) {
    if (a.type === NDA.DST && (a.len === 4 || a.len === 16)) dst = formatIp(attrValue(buf, a));
    else if (a.type === NDA.LLADDR && a.len === 6) lladdr = formatMac(attrValue(buf, a));
    else if (a.type === NDA.VNI) vni = attrU32(buf, a);
    else if (a.type === NDA.MASTER) master = attrU32(buf, a);
  }
  return {
    family,
    index: i32At(buf, p + 4),
    state: u16At(buf, p + 8),
    flags: buf[p + 10]!,
    ...(dst !== undefined ? { dst } : {}),
    ...(lladdr !== undefined ? { lladdr } : {}),
    ...(vni !== undefined ? { vni } : {}),
    ...(master !== undefined ? { master } : {}),
  };
}
