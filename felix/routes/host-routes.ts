/**
 * The main table's routes that BGP next hops resolve through (model/recursive-next-hop.ts): every route
 * of felix's table except the ones felix programs from BGP (it must not resolve through itself),
 * mirrored from the route table's dumps and from netlink events, handed to computeDesired as plain data
 * with interfaces by name. It also says when a change touches a covering route of a next hop in use,
 * so the dataplane re-runs a pass only then (Calico's BIRD re-resolves on the same trigger).
 * No I/O of its own; the dataplane feeds it.
 */
import { cidrContainsIp, parseCidr, parseIp } from "../ip.js";
import type { HostRouteInput } from "../model/inputs.js";
import { IFF, RTN, RTNH_F } from "../netlink/constants.js";
import type { RtnlEvent } from "../netlink/events.js";
import type { Link } from "../netlink/link-codec.js";
import { type Route, routeKey } from "../netlink/route-codec.js";

const TYPES: ReadonlyMap<number, HostRouteInput["type"]> = new Map([
  [RTN.UNICAST, "unicast"],
  [RTN.BLACKHOLE, "blackhole"],
  [RTN.UNREACHABLE, "unreachable"],
  [RTN.PROHIBIT, "prohibit"],
  [RTN.THROW, "throw"],
]);

export class HostRoutes {
  private routes = new Map<string, Route>();
  private cached: readonly HostRouteInput[] | undefined;
  private cachedLinks = "";
  private watched: Uint8Array[] = [];

  constructor(
    private readonly table: number,
    /** felix's BGP protocol: those routes are recursive themselves and never resolved through. */
    private readonly bgpProtocol: number,
  ) {}

  /** Next hops whose covering route matters now (those the last pass resolved). */
  watch(nextHops: readonly string[]): void {
    this.watched = nextHops.map((n) => parseIp(n));
  }

  /** Replaces the mirror from a full dump; true when a change covers a watched next hop. */
  reset(dump: readonly Route[]): boolean {
    const next = new Map<string, Route>();
    for (const r of dump) if (this.wanted(r)) next.set(routeKey(r), r);
    let changed = next.size !== this.routes.size;
    let relevant = false;
    for (const [k, r] of next) {
      const had = this.routes.get(k);
      if (had !== undefined && same(had, r)) continue;
      changed = true;
      relevant ||= this.covers(r);
    }
    for (const [k, r] of this.routes) {
      if (next.has(k)) continue;
      changed = true;
      relevant ||= this.covers(r);
    }
    this.routes = next;
    if (changed) this.cached = undefined;
    return relevant;
  }

  /** Applies route notifications; true when one covers a watched next hop. */
  handleEvents(events: readonly RtnlEvent[]): boolean {
    let relevant = false;
    for (const e of events) {
      if (e.kind !== "route" || !this.wanted(e.route)) continue;
      const key = routeKey(e.route);
      if (e.op === "new") this.routes.set(key, e.route);
      else if (this.routes.get(key)?.oif === e.route.oif) this.routes.delete(key);
      else continue;
      this.cached = undefined;
      relevant ||= this.covers(e.route);
    }
    return relevant;
  }

  /** The mirror as computeDesired's input; the same array while nothing changed. */
  list(links: readonly Link[]): readonly HostRouteInput[] {
    const sig = links.map((l) => `${l.index}:${l.name}:${l.flags & IFF.UP}`).join(",");
    if (this.cached !== undefined && sig === this.cachedLinks) return this.cached;
    const byIndex = new Map(links.map((l) => [l.index, l]));
    const out: HostRouteInput[] = [];
    for (const r of this.routes.values()) {
      const link = r.oif === undefined ? undefined : byIndex.get(r.oif);
      // The kernel drops IPv4 routes through a device going down or away without a notification.
      if (r.oif !== undefined && (link === undefined || (link.flags & IFF.UP) === 0)) continue;
      out.push({
        dst: r.dst,
        type: TYPES.get(r.type)!,
        ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
        ...(link !== undefined ? { ifName: link.name } : {}),
        ...((r.flags & RTNH_F.ONLINK) !== 0 ? { onlink: true } : {}),
        ...(r.priority !== undefined ? { metric: r.priority } : {}),
        ...(r.multipath !== undefined ? { multipath: true } : {}),
      });
    }
    this.cached = out;
    this.cachedLinks = sig;
    return out;
  }

  get size(): number {
    return this.routes.size;
  }

  private wanted(r: Route): boolean {
    return r.table === this.table && r.protocol !== this.bgpProtocol && TYPES.has(r.type);
  }

  private covers(r: Route): boolean {
    if (this.watched.length === 0) return false;
    const c = parseCidr(r.dst);
    return this.watched.some((ip) => cidrContainsIp(c, ip));
  }
}

function same(a: Route, b: Route): boolean {
  return (
    a.type === b.type &&
    a.gateway === b.gateway &&
    a.oif === b.oif &&
    a.flags === b.flags &&
    a.priority === b.priority &&
    a.multipath === b.multipath
  );
}
