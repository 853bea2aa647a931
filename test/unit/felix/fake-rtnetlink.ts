/**
 * An in-memory kernel behind felix's `RtnetlinkApi`, for reconciler unit tests: routes keyed as the FIB
 * keys them, links by index, and the errors the kernel gives (ENODEV for a missing device, EEXIST for an
 * exclusive add of an existing key, ESRCH for deleting what is not there), and, when asked, the device it
 * fills in for a route written without one; for addresses EEXIST, EADDRNOTAVAIL and ENODEV as the
 * kernel gives them. Counts dumps and writes.
 */
import { NetlinkError } from "../../../felix/errors.js";
import type { Addr, AddrOp } from "../../../felix/netlink/addr-codec.js";
import type { Link, NewLinkSpec, SetLinkSpec } from "../../../felix/netlink/link-codec.js";
import type { Neigh, NeighOp } from "../../../felix/netlink/neigh-codec.js";
import { describeRoute, type Route, routeKey } from "../../../felix/netlink/route-codec.js";
import type { RouteWrite, RouteWriteFailure, RtnetlinkApi } from "../../../felix/netlink/rtnetlink.js";

export class FakeRtnetlink implements RtnetlinkApi {
  readonly routes = new Map<string, Route>();
  readonly links = new Map<number, Link>();
  readonly addrs: Addr[] = [];
  readonly neighs: Neigh[] = [];
  readonly counts = { dumps: 0, routeWrites: 0, writeCalls: 0, addrWrites: 0 };
  /**
   * The device the kernel picks for a route written without one (the gateway's interface; `lo` for an
   * IPv6 blackhole), stored and dumped as its oif. Unset: routes are stored as written.
   */
  chooseOif: ((r: Route) => number | undefined) | undefined = undefined;
  /** Refuse the next N route writes with this errno (e.g. ENOBUFS = 105). */
  failNext: { count: number; errno: number } = { count: 0, errno: 0 };
  private nextIndex = 2;

  addLink(name: string, extra: Partial<Link> = {}): Link {
    const link: Link = { index: this.nextIndex++, name, type: 1, flags: 1, mtu: 1500, ...extra };
    this.links.set(link.index, link);
    return link;
  }

  index(name: string): number {
    for (const l of this.links.values()) if (l.name === name) return l.index;
    throw new Error(`no link ${name}`);
  }

  putRoute(r: Route): void {
    this.routes.set(routeKey(r), r);
  }

  async dumpLinks(): Promise<Link[]> {
    this.counts.dumps++;
    return [...this.links.values()];
  }
  async dumpAddrs(): Promise<Addr[]> {
    this.counts.dumps++;
    return [...this.addrs];
  }
  async dumpRoutes(): Promise<Route[]> {
    this.counts.dumps++;
    return [...this.routes.values()];
  }
  async dumpNeighs(): Promise<Neigh[]> {
    return this.neighs.filter((n) => n.family !== "bridge");
  }
  async dumpFdb(index: number): Promise<Neigh[]> {
    return this.neighs.filter((n) => n.family === "bridge" && n.index === index);
  }

  async writeRoutes(writes: readonly RouteWrite[]): Promise<readonly RouteWriteFailure[]> {
    this.counts.writeCalls++;
    const failures: RouteWriteFailure[] = [];
    for (const w of writes) {
      this.counts.routeWrites++;
      const key = routeKey(w.route);
      const fail = (errno: number) =>
        failures.push({
          write: w,
          error: new NetlinkError(errno, `${w.op} route ${describeRoute(w.route)}`),
        });
      if (this.failNext.count > 0) {
        this.failNext.count--;
        fail(this.failNext.errno);
      } else if (w.op === "delete") {
        if (!this.routes.delete(key)) fail(3);
      } else if (w.route.oif !== undefined && !this.links.has(w.route.oif)) {
        fail(19);
      } else if (w.op === "add" && this.routes.has(key)) {
        fail(17);
      } else {
        const oif = w.route.oif ?? this.chooseOif?.(w.route);
        this.routes.set(key, oif === w.route.oif ? w.route : { ...w.route, oif });
      }
    }
    return failures;
  }

  async newLink(_spec: NewLinkSpec): Promise<void> {
    throw new Error("not in the fake");
  }
  async setLink(_index: number, _spec: SetLinkSpec): Promise<void> {
    throw new Error("not in the fake");
  }
  async delLink(): Promise<void> {
    throw new Error("not in the fake");
  }
  /** As the kernel: one address per (interface, address, prefix length); a replace keeps the old scope. */
  async addr(
    op: AddrOp,
    a: { index: number; address: string; prefixLen: number; scope?: number },
    ifName?: string,
  ): Promise<void> {
    this.counts.addrWrites++;
    const what = `${op} address ${a.address}/${a.prefixLen} dev ${ifName ?? `#${a.index}`}`;
    if (!this.links.has(a.index)) throw new NetlinkError(19, what);
    const at = this.addrs.findIndex(
      (x) => x.index === a.index && x.address === a.address && x.prefixLen === a.prefixLen,
    );
    if (op === "delete") {
      if (at < 0) throw new NetlinkError(99, what);
      this.addrs.splice(at, 1);
      return;
    }
    if (at >= 0) {
      if (op === "add") throw new NetlinkError(17, what);
      return;
    }
    this.addrs.push({
      family: a.address.includes(":") ? 6 : 4,
      index: a.index,
      address: a.address,
      prefixLen: a.prefixLen,
      scope: a.scope ?? 0,
      flags: 0x80,
    });
  }
  async neigh(_op: NeighOp): Promise<void> {
    throw new Error("not in the fake");
  }
  async fdb(_op: NeighOp): Promise<void> {
    throw new Error("not in the fake");
  }
}
