/**
 * rtnetlink multicast notifications: a separate socket joined to the link, address, route and neighbour
 * groups (RTNLGRP_*), decoded and handed to a callback as data. Felix uses them for partial resyncs
 * (Calico's ifacemonitor / route table do the same). When the receive buffer overflows the kernel drops
 * notifications and reports ENOBUFS once: that arrives as an `overrun` event, meaning "resync fully".
 */
import { type Addr, decodeAddr } from "./addr-codec.js";
import { NETLINK_OPT, RTM, RTNLGRP, SOL_NETLINK } from "./constants.js";
import { decodeLink, type Link } from "./link-codec.js";
import { loadNative, type NativeNetlink } from "./native.js";
import { decodeNeigh, type Neigh } from "./neigh-codec.js";
import { decodeRoute, type Route } from "./route-codec.js";
import { openRawSocket } from "./socket.js";
import { readMessages } from "./wire.js";

export type RtnlEvent =
  | { readonly kind: "link"; readonly op: "new" | "del"; readonly link: Link }
  | { readonly kind: "addr"; readonly op: "new" | "del"; readonly addr: Addr }
  | { readonly kind: "route"; readonly op: "new" | "del"; readonly route: Route }
  | { readonly kind: "neigh"; readonly op: "new" | "del"; readonly neigh: Neigh }
  | { readonly kind: "overrun" };

export const DEFAULT_GROUPS: readonly number[] = [
  RTNLGRP.LINK,
  RTNLGRP.IPV4_IFADDR,
  RTNLGRP.IPV6_IFADDR,
  RTNLGRP.IPV4_ROUTE,
  RTNLGRP.IPV6_ROUTE,
];

/** Decodes one buffer of notifications; pure, for the socket below and for tests. */
export function decodeEvents(buf: Uint8Array, n: number): RtnlEvent[] {
  const out: RtnlEvent[] = [];
  for (const m of readMessages(buf, 0, n)) {
    switch (m.type) {
      case RTM.NEWLINK:
      case RTM.DELLINK:
        out.push({ kind: "link", op: m.type === RTM.NEWLINK ? "new" : "del", link: decodeLink(buf, m) });
        break;
      case RTM.NEWADDR:
      case RTM.DELADDR: {
        const addr = decodeAddr(buf, m);
        if (addr) out.push({ kind: "addr", op: m.type === RTM.NEWADDR ? "new" : "del", addr });
        break;
      }
      case RTM.NEWROUTE:
      case RTM.DELROUTE: {
        const route = decodeRoute(buf, m);
        if (route) out.push({ kind: "route", op: m.type === RTM.NEWROUTE ? "new" : "del", route });
        break;
      }
      case RTM.NEWNEIGH:
      case RTM.DELNEIGH: {
        const neigh = decodeNeigh(buf, m);
        if (neigh) out.push({ kind: "neigh", op: m.type === RTM.NEWNEIGH ? "new" : "del", neigh });
        break;
      }
    }
  }
  return out;
}

export class NetlinkEvents {
  private watchHandle: unknown;
  private closed = false;
  private readonly buf = new Uint8Array(4 * 1024 * 1024);

  private constructor(
    private readonly native: NativeNetlink,
    private readonly fd: number,
    private readonly onEvents: (events: RtnlEvent[]) => void,
  ) {
    this.watchHandle = native.watch(fd, () => this.drain());
  }

  /** Subscribes to `groups` (default: links, addresses and routes of both families). */
  static open(
    onEvents: (events: RtnlEvent[]) => void,
    opts: { netnsPath?: string; groups?: readonly number[]; native?: NativeNetlink } = {},
  ): NetlinkEvents {
    const native = opts.native ?? loadNative();
    const { fd } = openRawSocket(native, { ...(opts.netnsPath ? { netnsPath: opts.netnsPath } : {}) });
    for (const g of opts.groups ?? DEFAULT_GROUPS) {
      native.setsockoptInt(fd, SOL_NETLINK, NETLINK_OPT.ADD_MEMBERSHIP, g);
    }
    return new NetlinkEvents(native, fd, onEvents);
  }

  /** Reads whatever is queued now; also called by the readability watch. */
  drain(): void {
    for (;;) {
      if (this.closed) return;
      const [n, err] = this.native.recv(this.fd, this.buf, 64 * 1024);
      const events = n > 0 ? decodeEvents(this.buf, n) : [];
      if (err !== 0) events.push({ kind: "overrun" });
      if (events.length > 0) this.onEvents(events);
      if (n === 0 && err === 0) return;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.unwatch(this.watchHandle);
    this.native.close(this.fd);
  }
}
