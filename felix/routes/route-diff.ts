/**
 * Desired routes against the kernel's, as a plan: what to replace, what to delete, which strays to wait
 * for. Ownership follows Calico (calico.md §2.4, ownershippol): a route is felix's when its protocol is
 * felix's own (80), or it leaves through a workload interface (any protocol; removeExternalRoutes) or a
 * tunnel device felix manages; kernel-protocol routes (from addresses) never are. Routes of other
 * protocols elsewhere (BIRD's 12, an operator's boot routes) are never touched, unless felix wants their
 * exact key, which it then takes over with a replace, as Felix's RouteReplace does.
 * Pure: the caller supplies interface indexes and the clock-dependent grace decision.
 */
import { DataplaneError } from "../errors.js";
import { ipFamily } from "../ip.js";
import type { DesiredRoute } from "../model/desired.js";
import { RT_SCOPE, RTN, RTNH_F, RTPROT } from "../netlink/constants.js";
import { type Route, routeKey } from "../netlink/route-codec.js";

export interface OwnershipPolicy {
  readonly table: number;
  /** Protocols only felix uses (80); any route with one of them is felix's. */
  readonly exclusiveProtocols: ReadonlySet<number>;
  /** Workload interface test (name prefix). */
  readonly isWorkloadIface: (name: string) => boolean;
  /** Tunnel devices felix manages (vxlan.calico, tunl0): every non-kernel route through them is felix's. */
  readonly specialIfaces: ReadonlySet<string>;
}

export type Ownership = "foreign" | "ours" | "stray";

/** Whether an existing route not in the desired set is felix's to delete now (ours) or after grace (stray). */
export function classifyRoute(r: Route, ifName: string | undefined, p: OwnershipPolicy): Ownership {
  if (r.table !== p.table || r.protocol === RTPROT.KERNEL) return "foreign";
  if (p.exclusiveProtocols.has(r.protocol)) return "ours";
  if (ifName !== undefined && p.specialIfaces.has(ifName)) return "ours";
  // A route the CNI plugin just added may precede the workload's arrival here: grace first.
  if (ifName !== undefined && p.isWorkloadIface(ifName)) return "stray";
  return "foreign";
}

const TYPE: Record<DesiredRoute["type"], number> = {
  unicast: RTN.UNICAST,
  blackhole: RTN.BLACKHOLE,
  local: RTN.LOCAL,
};

/** The kernel's default metric for IPv6 routes programmed without one (IP6_RT_PRIO_USER). */
const IPV6_DEFAULT_METRIC = 1024;

/** The exact route the kernel will hold (and dump back) for `d`, or the reason it cannot exist. */
export function toKernelRoute(
  d: DesiredRoute,
  table: number,
  ifIndex: (name: string) => number | undefined,
): Route | DataplaneError {
  let oif: number | undefined;
  if (d.ifName !== undefined) {
    oif = ifIndex(d.ifName);
    if (oif === undefined) {
      return new DataplaneError(
        "FELIX_NO_INTERFACE",
        `route ${d.dst} (${d.owner}): interface ${d.ifName} does not exist`,
        { route: d.dst, iface: d.ifName },
      );
    }
  }
  const family = ipFamily(d.dst);
  const type = TYPE[d.type];
  const scope =
    d.type === "local"
      ? RT_SCOPE.HOST
      : d.type === "unicast" && d.gateway === undefined
        ? RT_SCOPE.LINK
        : RT_SCOPE.UNIVERSE;
  const metric = family === 6 && d.metric === 0 ? IPV6_DEFAULT_METRIC : d.metric;
  // One fixed shape (absent fields undefined), as decodeRoute builds: cheap to compare and to keep.
  return {
    family,
    dst: d.dst,
    table,
    protocol: d.protocol,
    scope,
    type,
    tos: 0,
    flags: d.onlink ? RTNH_F.ONLINK : 0,
    gateway: d.gateway,
    oif,
    priority: metric !== 0 ? metric : undefined,
    prefsrc: undefined,
    mtu: d.mtu,
    multipath: undefined,
  };
}

/**
 * True when the kernel's route `have` is exactly what `want` asks for (flags the kernel adds ignored).
 * A route written without a device (`via <gateway>`: BGPPeer reachableBy, no-encap; an IPv6 blackhole)
 * comes back with the device the kernel chose (the gateway's interface, `lo`): any device matches it.
 * One that names a device matches only that device.
 */
export function sameRoute(want: Route, have: Route): boolean {
  return (
    want.type === have.type &&
    want.protocol === have.protocol &&
    want.scope === have.scope &&
    want.gateway === have.gateway &&
    (want.oif === undefined || want.oif === have.oif) &&
    (want.flags & RTNH_F.ONLINK) === (have.flags & RTNH_F.ONLINK) &&
    want.mtu === have.mtu &&
    want.prefsrc === have.prefsrc &&
    have.multipath === undefined
  );
}

/** A write the plan asks for; shaped as a RouteWrite so it goes to netlink as is. */
export interface PlannedRoute {
  readonly op: "replace" | "delete";
  readonly key: string;
  readonly route: Route;
  readonly owner?: string | undefined;
}

export interface RoutePlan {
  readonly replaces: readonly PlannedRoute[];
  readonly deletes: readonly PlannedRoute[];
  /** Unexpected routes on workload interfaces: deleted once their grace period is over. */
  readonly strays: readonly PlannedRoute[];
  readonly errors: readonly DataplaneError[];
}

export interface DiffContext {
  readonly policy: OwnershipPolicy;
  readonly ifIndex: (name: string) => number | undefined;
  readonly ifName: (index: number) => string | undefined;
}

/**
 * Diffs `desired` (keyed by route key after resolution) against `actual` (kernel routes by key). With
 * `onlyKeys`, looks at those keys only (a partial resync after events); otherwise at everything.
 */
export function diffRoutes(
  desired: ReadonlyMap<string, DesiredRoute>,
  actual: ReadonlyMap<string, Route>,
  ctx: DiffContext,
  onlyKeys?: Iterable<string>,
): RoutePlan {
  const replaces: PlannedRoute[] = [];
  const deletes: PlannedRoute[] = [];
  const strays: PlannedRoute[] = [];
  const errors: DataplaneError[] = [];
  const table = ctx.policy.table;

  const consider = (key: string): void => {
    const d = desired.get(key);
    const have = actual.get(key);
    if (d !== undefined) {
      const want = toKernelRoute(d, table, ctx.ifIndex);
      if (!(want instanceof DataplaneError)) {
        if (have === undefined || !sameRoute(want, have))
          replaces.push({ op: "replace", key, route: want, owner: d.owner });
        return;
      }
      errors.push(want);
    }
    if (have === undefined) return;
    const own = classifyRoute(have, have.oif === undefined ? undefined : ctx.ifName(have.oif), ctx.policy);
    if (own === "ours") deletes.push({ op: "delete", key, route: have });
    else if (own === "stray") strays.push({ op: "delete", key, route: have });
  };

  if (onlyKeys !== undefined) {
    for (const k of new Set(onlyKeys)) consider(k);
  } else {
    for (const k of desired.keys()) consider(k);
    for (const k of actual.keys()) if (!desired.has(k)) consider(k);
  }
  return { replaces, deletes, strays, errors };
}

/** Key of a desired route in `table`, matching `routeKey` of the kernel route it becomes. */
export function desiredKey(d: DesiredRoute, table: number): string {
  const metric = ipFamily(d.dst) === 6 && d.metric === 0 ? IPV6_DEFAULT_METRIC : d.metric;
  return routeKey({ table, dst: d.dst, tos: 0, priority: metric });
}
