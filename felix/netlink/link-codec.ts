/**
 * Link messages (RTM_NEWLINK / RTM_DELLINK / RTM_GETLINK): struct ifinfomsg plus IFLA_* attributes, with
 * IFLA_LINKINFO for the kinds felix creates or inspects: veth (the peer nested as an ifinfomsg), vxlan
 * (IFLA_VXLAN_*: VNI, port, parent, source address, learning) and ipip (tunl0). Attribute order follows
 * iproute2 6.1 (`ip link add/set/del`) so golden captures match byte for byte. Pure.
 */
import { NetlinkDecodeError } from "../errors.js";
import { formatIp, formatMac, parseIp, parseMac } from "../ip.js";
import {
  AF,
  IFF,
  IFLA,
  IFLA_INFO,
  IFLA_IPTUN,
  IFLA_VXLAN,
  NLM_F,
  RTEXT_FILTER,
  RTM,
  VETH_INFO,
} from "./constants.js";
import {
  type Attr,
  attrString,
  attrU8,
  attrU32,
  attrValue,
  be16At,
  i32At,
  type RawMessage,
  readAttrs,
  u16At,
  u32At,
  type Writer,
} from "./wire.js";

export interface VxlanInfo {
  readonly vni?: number;
  /** UDP destination port (IFLA_VXLAN_PORT, network byte order on the wire). */
  readonly port?: number;
  /** Source address of encapsulated packets (IFLA_VXLAN_LOCAL / LOCAL6). */
  readonly local?: string;
  /** ifindex of the parent device (IFLA_VXLAN_LINK). */
  readonly parentIndex?: number;
  readonly learning?: boolean;
}

export interface IptunInfo {
  readonly parentIndex?: number;
  readonly local?: string;
  readonly remote?: string;
  readonly ttl?: number;
  readonly tos?: number;
  readonly pmtudisc?: boolean;
}

export interface Link {
  readonly index: number;
  readonly name: string;
  /** ifi_type (ARPHRD_*). */
  readonly type: number;
  /** ifi_flags (IFF_UP, ...). */
  readonly flags: number;
  readonly mtu?: number;
  readonly address?: string;
  readonly operstate?: number;
  readonly master?: number;
  /** IFLA_LINK: the peer's ifindex for a veth, the parent for some tunnels. */
  readonly link?: number;
  readonly linkNetnsId?: number;
  /** IFLA_INFO_KIND: "veth", "vxlan", "ipip", "bridge", ... */
  readonly kind?: string;
  readonly vxlan?: VxlanInfo;
  readonly iptun?: IptunInfo;
}

export const isUp = (l: Pick<Link, "flags">): boolean => (l.flags & IFF.UP) !== 0;

const IFINFOMSG_LEN = 16;

export interface NewLinkSpec {
  readonly name: string;
  readonly kind: "veth" | "vxlan" | "ipip";
  readonly mtu?: number;
  readonly address?: string;
  readonly up?: boolean;
  /** veth: the other end's name and, optionally, a namespace fd to create it in. */
  readonly peer?: { readonly name: string; readonly netnsFd?: number; readonly mtu?: number };
  readonly vxlan?: VxlanInfo;
  readonly iptun?: IptunInfo;
}

function ifinfomsg(w: Writer, family: number, index: number, flags: number, change: number): void {
  w.u8(family);
  w.u8(0);
  w.u16(0); // ifi_type
  w.i32(index);
  w.u32(flags);
  w.u32(change);
}

/** `ip link add` (CREATE|EXCL) or, with `replace`, create-or-update (CREATE|REPLACE). */
export function encodeNewLink(w: Writer, seq: number, s: NewLinkSpec, replace = false): void {
  const flags = NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | (replace ? NLM_F.REPLACE : NLM_F.EXCL);
  const start = w.beginMessage(RTM.NEWLINK, flags, seq);
  ifinfomsg(w, AF.UNSPEC, 0, s.up ? IFF.UP : 0, s.up ? IFF.UP : 0);
  if (s.address !== undefined) w.attrBytes(IFLA.ADDRESS, parseMac(s.address));
  if (s.mtu !== undefined) w.attrU32(IFLA.MTU, s.mtu);
  w.attrString(IFLA.IFNAME, s.name);
  const info = w.beginNest(IFLA.LINKINFO);
  w.attrStringNoNul(IFLA_INFO.KIND, s.kind);
  if (s.kind === "veth" && s.peer !== undefined) {
    const data = w.beginNest(IFLA_INFO.DATA);
    const peer = w.beginNest(VETH_INFO.PEER);
    ifinfomsg(w, AF.UNSPEC, 0, 0, 0);
    if (s.peer.mtu !== undefined) w.attrU32(IFLA.MTU, s.peer.mtu);
    w.attrString(IFLA.IFNAME, s.peer.name);
    if (s.peer.netnsFd !== undefined) w.attrU32(IFLA.NET_NS_FD, s.peer.netnsFd);
    w.endNest(peer);
    w.endNest(data);
  } else if (s.kind === "vxlan" && s.vxlan !== undefined) {
    const v = s.vxlan;
    const data = w.beginNest(IFLA_INFO.DATA);
    if (v.parentIndex !== undefined) w.attrU32(IFLA_VXLAN.LINK, v.parentIndex);
    if (v.vni !== undefined) w.attrU32(IFLA_VXLAN.ID, v.vni);
    if (v.local !== undefined) {
      const b = parseIp(v.local);
      w.attrBytes(b.length === 4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, b);
    }
    if (v.learning !== undefined) w.attrU8(IFLA_VXLAN.LEARNING, v.learning ? 1 : 0);
    if (v.port !== undefined) w.attrBe16(IFLA_VXLAN.PORT, v.port);
    w.endNest(data);
  } else if (s.kind === "ipip" && s.iptun !== undefined) {
    const t = s.iptun;
    const data = w.beginNest(IFLA_INFO.DATA);
    if (t.parentIndex !== undefined) w.attrU32(IFLA_IPTUN.LINK, t.parentIndex);
    if (t.local !== undefined) w.attrBytes(IFLA_IPTUN.LOCAL, parseIp(t.local));
    if (t.remote !== undefined) w.attrBytes(IFLA_IPTUN.REMOTE, parseIp(t.remote));
    if (t.ttl !== undefined) w.attrU8(IFLA_IPTUN.TTL, t.ttl);
    if (t.tos !== undefined) w.attrU8(IFLA_IPTUN.TOS, t.tos);
    if (t.pmtudisc !== undefined) w.attrU8(IFLA_IPTUN.PMTUDISC, t.pmtudisc ? 1 : 0);
    w.endNest(data);
  }
  w.endNest(info);
  w.endMessage(start);
}

export interface SetLinkSpec {
  readonly up?: boolean;
  readonly mtu?: number;
  readonly address?: string;
}

/** `ip link set dev <index> [address A] [mtu M] [up|down]`: RTM_NEWLINK without CREATE. */
export function encodeSetLink(w: Writer, seq: number, index: number, s: SetLinkSpec): void {
  const start = w.beginMessage(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq);
  const change = s.up === undefined ? 0 : IFF.UP;
  ifinfomsg(w, AF.UNSPEC, index, s.up ? IFF.UP : 0, change);
  if (s.address !== undefined) w.attrBytes(IFLA.ADDRESS, parseMac(s.address));
  if (s.mtu !== undefined) w.attrU32(IFLA.MTU, s.mtu);
  w.endMessage(start);
}

export function encodeDelLink(w: Writer, seq: number, index: number): void {
  const start = w.beginMessage(RTM.DELLINK, NLM_F.REQUEST | NLM_F.ACK, seq);
  ifinfomsg(w, AF.UNSPEC, index, 0, 0);
  w.endMessage(start);
}

/** Dump of every link (AF_PACKET, as iproute2); `extMask` RTEXT_FILTER_* (iproute2 asks for VF info). */
export function encodeLinkDump(w: Writer, seq: number, extMask: number = RTEXT_FILTER.VF): void {
  const start = w.beginMessage(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, seq);
  ifinfomsg(w, AF.PACKET, 0, 0, 0);
  w.attrU32(IFLA.EXT_MASK, extMask);
  w.endMessage(start);
}

function decodeVxlan(buf: Uint8Array, data: Attr): VxlanInfo {
  let vni: number | undefined;
  let port: number | undefined;
  let local: string | undefined;
  let parentIndex: number | undefined;
  let learning: boolean | undefined;
  for (const a of readAttrs(buf, data.start, data.start + data.len)) {
    if (a.type === IFLA_VXLAN.ID) vni = attrU32(buf, a);
    else if (a.type === IFLA_VXLAN.PORT) port = be16At(buf, a.start);
    else if (a.type === IFLA_VXLAN.LOCAL || a.type === IFLA_VXLAN.LOCAL6) local = formatIp(attrValue(buf, a));
    else if (a.type === IFLA_VXLAN.LINK) parentIndex = attrU32(buf, a);
    else if (a.type === IFLA_VXLAN.LEARNING) learning = attrU8(buf, a) !== 0;
  }
  return {
    ...(vni !== undefined ? { vni } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(local !== undefined ? { local } : {}),
    ...(parentIndex !== undefined ? { parentIndex } : {}),
    ...(learning !== undefined ? { learning } : {}),
  };
}

function decodeIptun(buf: Uint8Array, data: Attr): IptunInfo {
  const out: { -readonly [K in keyof IptunInfo]: IptunInfo[K] } = {};
  for (const a of readAttrs(buf, data.start, data.start + data.len)) {
    if (a.type === IFLA_IPTUN.LINK) out.parentIndex = attrU32(buf, a);
    else if (a.type === IFLA_IPTUN.LOCAL) out.local = formatIp(attrValue(buf, a));
    else if (a.type === IFLA_IPTUN.REMOTE) out.remote = formatIp(attrValue(buf, a));
    else if (a.type === IFLA_IPTUN.TTL) out.ttl = attrU8(buf, a);
    else if (a.type === IFLA_IPTUN.TOS) out.tos = attrU8(buf, a);
    else if (a.type === IFLA_IPTUN.PMTUDISC) out.pmtudisc = attrU8(buf, a) !== 0;
  }
  return out;
}

/** Decodes an RTM_NEWLINK / RTM_DELLINK payload. */
export function decodeLink(buf: Uint8Array, m: RawMessage): Link {
  const p = m.payload;
  if (m.end - p < IFINFOMSG_LEN) throw new NetlinkDecodeError("short ifinfomsg", p);
  const out: { -readonly [K in keyof Link]: Link[K] } = {
    index: i32At(buf, p + 4),
    name: "",
    type: u16At(buf, p + 2),
    flags: u32At(buf, p + 8),
  };
  for (const a of readAttrs(buf, p + IFINFOMSG_LEN, m.end)) {
    switch (a.type) {
      case IFLA.IFNAME:
        out.name = attrString(buf, a);
        break;
      case IFLA.MTU:
        out.mtu = attrU32(buf, a);
        break;
      case IFLA.ADDRESS:
        if (a.len === 6) out.address = formatMac(attrValue(buf, a));
        break;
      case IFLA.OPERSTATE:
        out.operstate = attrU8(buf, a);
        break;
      case IFLA.MASTER:
        out.master = attrU32(buf, a);
        break;
      case IFLA.LINK:
        out.link = attrU32(buf, a);
        break;
      case IFLA.LINK_NETNSID:
        out.linkNetnsId = attrU32(buf, a) | 0;
        break;
      case IFLA.LINKINFO: {
        let data: Attr | undefined;
        for (const x of readAttrs(buf, a.start, a.start + a.len)) {
          if (x.type === IFLA_INFO.KIND) out.kind = attrString(buf, x);
          else if (x.type === IFLA_INFO.DATA) data = x;
        }
        if (data !== undefined && out.kind === "vxlan") out.vxlan = decodeVxlan(buf, data);
        if (data !== undefined && out.kind === "ipip") out.iptun = decodeIptun(buf, data);
        break;
      }
    }
  }
  return out;
}
