/**
 * Route messages (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE): struct rtmsg plus RTA_* attributes
 * (linux/rtnetlink.h). Encoders lay attributes out in the order iproute2 6.1 does for the same request,
 * so golden captures of `ip route ...` match byte for byte (test/unit/felix/golden). Decoders accept
 * what the kernel dumps and notifies. Pure; the route table decides what to send.
 */
import { NetlinkDecodeError } from "../errors.js";
import { type Family, formatIp, parseCidr, parseIp } from "../ip.js";
import { AF, NLM_F, RT_SCOPE, RT_TABLE, RTA, RTAX, RTM, RTN } from "./constants.js";
import {
  type Attr,
  align4,
  attrU32,
  NLA_TYPE_MASK,
  type RawMessage,
  readAttrs,
  u32At,
  viewOf,
  type Writer,
} from "./wire.js";

/** A kernel route as data. Addresses are canonical strings (ip.ts), interfaces are ifindexes. */
export interface Route {
  readonly family: Family;
  /** Destination CIDR, canonical (`10.65.0.0/26`, `::/0`). */
  readonly dst: string;
  readonly table: number;
  /** rtm_protocol: who installed it (RTPROT_*; 80 = Calico/tabby, 12 = BIRD, 3 = boot). */
  readonly protocol: number;
  readonly scope: number;
  /** rtm_type (RTN_*). */
  readonly type: number;
  readonly tos: number;
  /** rtm_flags (RTNH_F_ONLINK, ...). */
  readonly flags: number;
  readonly gateway?: string;
  readonly oif?: number;
  /** RTA_PRIORITY, the metric; absent means 0. */
  readonly priority?: number;
  readonly prefsrc?: string;
  /** RTAX_MTU from RTA_METRICS. */
  readonly mtu?: number;
  /** Number of next hops when the route is multipath (RTA_MULTIPATH); felix never programs those. */
  readonly multipath?: number;
}

const RTMSG_LEN = 12;

/**
 * Route identity in the kernel FIB: (table, dst, tos, metric); see Calico routetable defs.go. Spelled as
 * the bare dst for the common case (main table, tos 0, metric 0) so that keys of big tables are the dst
 * strings themselves: no new string per route.
 */
export function routeKey(r: Pick<Route, "table" | "dst" | "tos" | "priority">): string {
  if (r.table === 254 && r.tos === 0 && !r.priority) return r.dst;
  return `${r.dst}#${r.priority ?? 0}%${r.tos}@${r.table}`;
}

export type RouteOp = "add" | "replace" | "delete";

const OP_TYPE: Record<RouteOp, number> = { add: RTM.NEWROUTE, replace: RTM.NEWROUTE, delete: RTM.DELROUTE };
const OP_FLAGS: Record<RouteOp, number> = {
  add: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE,
  delete: NLM_F.REQUEST | NLM_F.ACK,
};

const afOf = (f: Family): number => (f === 4 ? AF.INET : AF.INET6);

/**
 * Appends one route request to `w`. A delete names the route by its key (dst, tos, table, metric) and,
 * when known, its protocol and interface, with scope NOWHERE and type UNSPEC as wildcards, as
 * `ip route del` does, so it removes exactly the route that was dumped.
 */
export function encodeRoute(w: Writer, op: RouteOp, r: Route, seq: number): void {
  const dst = parseCidr(r.dst);
  const start = w.beginMessage(OP_TYPE[op], OP_FLAGS[op], seq);
  const del = op === "delete";
  // struct rtmsg
  w.u8(afOf(r.family));
  w.u8(dst.prefixLen);
  w.u8(0); // rtm_src_len
  w.u8(r.tos);
  w.u8(r.table < 256 ? r.table : RT_TABLE.UNSPEC);
  w.u8(r.protocol);
  w.u8(del ? RT_SCOPE.NOWHERE : r.scope);
  w.u8(del ? RTN.UNSPEC : r.type);
  w.u32(del ? 0 : r.flags);
  if (dst.prefixLen > 0) w.attrBytes(RTA.DST, dst.addr);
  if (!del && r.prefsrc !== undefined) w.attrBytes(RTA.PREFSRC, parseIp(r.prefsrc));
  if (!del && r.gateway !== undefined) w.attrBytes(RTA.GATEWAY, parseIp(r.gateway));
  if (r.priority !== undefined && r.priority !== 0) w.attrU32(RTA.PRIORITY, r.priority);
  if (r.table >= 256) w.attrU32(RTA.TABLE, r.table);
  if (r.oif !== undefined) w.attrU32(RTA.OIF, r.oif);
  if (!del && r.mtu !== undefined) {
    const m = w.beginNest(RTA.METRICS);
    w.attrU32(RTAX.MTU, r.mtu);
    w.endNest(m);
  }
  w.endMessage(start);
}

/** RTM_GETROUTE dump of every table of one family (0 = both). */
export function encodeRouteDump(w: Writer, seq: number, family: Family | 0 = 0): void {
  const start = w.beginMessage(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.u8(family === 0 ? AF.UNSPEC : afOf(family));
  for (let i = 1; i < RTMSG_LEN; i++) w.u8(0);
  w.endMessage(start);
}

/**
 * Decodes an RTM_NEWROUTE / RTM_DELROUTE payload; undefined for families other than IPv4/IPv6. Walks the
 * attributes in place and builds one fixed-shape object (absent fields are undefined): dumps of 100k
 * routes go through here.
 */
export function decodeRoute(buf: Uint8Array, m: RawMessage): Route | undefined {
  const p = m.payload;
  if (m.end - p < RTMSG_LEN) throw new NetlinkDecodeError("short rtmsg", p);
  const af = buf[p]!;
  if (af !== AF.INET && af !== AF.INET6) return undefined;
  const family: Family = af === AF.INET ? 4 : 6;
  const alen = family === 4 ? 4 : 16;
  const view = viewOf(buf);
  let table = buf[p + 4]!;
  let dst: string | undefined;
  let gateway: string | undefined;
  let oif: number | undefined;
  let priority: number | undefined;
  let prefsrc: string | undefined;
  let mtu: number | undefined;
  let multipath: number | undefined;
  for (let off = p + RTMSG_LEN; off + 4 <= m.end; ) {
    const len = view.getUint16(off, true);
    const type = view.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < 4 || off + len > m.end) throw new NetlinkDecodeError(`route attribute length ${len}`, off);
    const v = off + 4;
    const vlen = len - 4;
    switch (type) {
      case RTA.DST:
      case RTA.GATEWAY:
      case RTA.PREFSRC: {
        if (vlen !== alen)
          throw new NetlinkDecodeError(`route address attribute ${type} of ${vlen} bytes`, v);
        const ip = formatIp(buf.subarray(v, v + alen));
        if (type === RTA.DST) dst = ip;
        else if (type === RTA.GATEWAY) gateway = ip;
        else prefsrc = ip;
        break;
      }
      case RTA.OIF:
        oif = u32At(buf, v);
        break;
      case RTA.PRIORITY:
        priority = u32At(buf, v);
        break;
      case RTA.TABLE:
        table = u32At(buf, v);
        break;
      case RTA.METRICS:
        for (const x of readAttrs(buf, v, v + vlen)) if (x.type === RTAX.MTU) mtu = attrU32(buf, x);
        break;
      case RTA.MULTIPATH:
        multipath = countNexthops(buf, { type, start: v, len: vlen });
        break;
    }
    off += align4(len);
  }
  return {
    family,
    dst: `${dst ?? (family === 4 ? "0.0.0.0" : "::")}/${buf[p + 1]!}`,
    table,
    protocol: buf[p + 5]!,
    scope: buf[p + 6]!,
    type: buf[p + 7]!,
    tos: buf[p + 3]!,
    flags: u32At(buf, p + 8),
    gateway,
    oif,
    priority: priority === 0 ? undefined : priority,
    prefsrc,
    mtu,
    multipath,
  };
}

/** struct rtnexthop entries: u16 len, u8 flags, u8 hops, i32 ifindex, then attributes. */
function countNexthops(buf: Uint8Array, a: Attr): number {
  let n = 0;
  let off = a.start;
  const end = a.start + a.len;
  while (off + 8 <= end) {
    const len = buf[off]! | (buf[off + 1]! << 8);
    if (len < 8) throw new NetlinkDecodeError(`rtnexthop length ${len}`, off);
    n++;
    off += (len + 3) & ~3;
  }
  return n;
}

/** `10.65.0.0/26 via 10.0.0.2 dev 3 proto 80 onlink`: for logs and error messages. */
export function describeRoute(r: Route, ifName?: (index: number) => string | undefined): string {
  const parts: string[] = [];
  if (r.type === RTN.BLACKHOLE) parts.push("blackhole");
  else if (r.type === RTN.LOCAL) parts.push("local");
  else if (r.type === RTN.UNREACHABLE) parts.push("unreachable");
  parts.push(r.dst);
  if (r.gateway !== undefined) parts.push("via", r.gateway);
  if (r.oif !== undefined) parts.push("dev", ifName?.(r.oif) ?? `#${r.oif}`);
  if (r.table !== RT_TABLE.MAIN) parts.push("table", String(r.table));
  parts.push("proto", String(r.protocol));
  if (r.priority) parts.push("metric", String(r.priority));
  if (r.flags & 4) parts.push("onlink");
  if (r.mtu !== undefined) parts.push("mtu", String(r.mtu));
  return parts.join(" ");
}
