/**
 * Recursive next hops for routes learned over BGP, as BIRD's `gateway recursive` does it (Calico's
 * bgp_template, calico-bgp-cni.md §1.3; BIRD nest/rt-table.c rt_update_hostentry): a next hop that is
 * not on one of our links (an iBGP route reflector or a ToR passing a next hop on another subnet) is
 * looked up in this node's main table, longest prefix first, and the route is installed via the
 * IMMEDIATE gateway and device of the route that covers it. The kernel refuses `via <next hop>` for
 * such a next hop (ENETUNREACH). Rules, after BIRD: a next hop covered by a BGP route (itself
 * recursive) is not resolved through it; one covered by a blackhole, unreachable, prohibit or throw
 * route, or by nothing, is unresolvable. Pure; the shell supplies the kernel's routes (routes/host-routes.ts).
 * Does not pick among ECMP next hops (a multipath covering route is unresolvable) nor look at other tables.
 */
import { type Family, formatCidr, maskBytes, parseCidr } from "../ip.js";
import type { HostRouteInput } from "./inputs.js";

export type NextHopResolution =
  /** The next hop is on a link: program `via <next hop>` (on `ifName` when known). */
  | { readonly kind: "direct"; readonly via: string; readonly ifName?: string }
  /** Behind a router: program `via <gateway> dev <ifName>`, the covering route's own next hop. */
  | {
      readonly kind: "gateway";
      readonly via: string;
      readonly gateway: string;
      readonly ifName?: string;
      readonly onlink?: boolean;
    }
  /** Not programmed; `reason` says why, for the error felix reports. */
  | { readonly kind: "unresolvable"; readonly reason: string };

/** The routes a next hop resolves through, by canonical destination, plus the BGP destinations. */
export interface NextHopTable {
  readonly host: ReadonlyMap<string, HostRouteInput>;
  /** Destinations of routes learned over BGP: recursive themselves, never resolved through. */
  readonly recursive: ReadonlySet<string>;
  /** Prefix lengths present per family, longest first. */
  readonly lens: Readonly<Record<Family, readonly number[]>>;
}

interface HostIndex {
  readonly host: ReadonlyMap<string, HostRouteInput>;
  readonly lens: Record<Family, Set<number>>;
}

// The shell hands the same array while the kernel's routes are unchanged: index it once.
const hostIndexes = new WeakMap<readonly HostRouteInput[], HostIndex>();

function indexHost(routes: readonly HostRouteInput[]): HostIndex {
  const cached = hostIndexes.get(routes);
  if (cached !== undefined) return cached;
  const host = new Map<string, HostRouteInput>();
  const lens: Record<Family, Set<number>> = { 4: new Set(), 6: new Set() };
  for (const r of routes) {
    let dst: string;
    let family: Family;
    let len: number;
    try {
      const c = parseCidr(r.dst);
      dst = formatCidr(c);
      family = c.family;
      len = c.prefixLen;
    } catch {
      continue; // the kernel's own routes always parse; anything else is not worth a route
    }
    const had = host.get(dst);
    // Same destination, several metrics: the kernel forwards by the lowest.
    if (had !== undefined && (had.metric ?? 0) <= (r.metric ?? 0)) continue;
    host.set(dst, { ...r, dst });
    lens[family].add(len);
  }
  const index = { host, lens };
  hostIndexes.set(routes, index);
  return index;
}

/** Builds the lookup table from the host's routes and the (canonical) destinations learned over BGP. */
export function indexNextHopTable(
  hostRoutes: readonly HostRouteInput[],
  recursive: Iterable<string> = [],
): NextHopTable {
  const h = indexHost(hostRoutes);
  const rec = new Set<string>();
  const lens: Record<Family, Set<number>> = { 4: new Set(h.lens[4]), 6: new Set(h.lens[6]) };
  for (const dst of recursive) {
    const slash = dst.lastIndexOf("/");
    if (slash < 0) continue;
    rec.add(dst);
    lens[dst.includes(":") ? 6 : 4].add(Number(dst.slice(slash + 1)));
  }
  const desc = (s: Set<number>): number[] => [...s].sort((a, b) => b - a);
  return { host: h.host, recursive: rec, lens: { 4: desc(lens[4]), 6: desc(lens[6]) } };
}

const isLinkLocal6 = (ip: Uint8Array): boolean =>
  ip.length === 16 && ip[0] === 0xfe && (ip[1]! & 0xc0) === 0x80;

/** Where the kernel route for a BGP next hop `nextHop` (address bytes) must point. */
export function resolveNextHop(nextHop: Uint8Array, t: NextHopTable): NextHopResolution {
  const family: Family = nextHop.length === 4 ? 4 : 6;
  // fe80::/64 exists once per interface: which link is meant is not in the table. As given.
  if (isLinkLocal6(nextHop)) return { kind: "direct", via: "fe80::/64" };
  for (const len of t.lens[family]) {
    const dst = formatCidr({ family, addr: maskBytes(nextHop, len), prefixLen: len });
    const r = t.host.get(dst);
    // A host route beats a BGP route of the same prefix: it is what the kernel holds besides ours.
    if (r !== undefined) return fromCovering(r);
    if (t.recursive.has(dst)) {
      return { kind: "unresolvable", reason: `it resolves only through BGP route ${dst}, itself recursive` };
    }
  }
  return { kind: "unresolvable", reason: "no route in the main table covers it" };
}

function fromCovering(r: HostRouteInput): NextHopResolution {
  if (r.type !== "unicast")
    return { kind: "unresolvable", reason: `it is covered by ${r.type} route ${r.dst}` };
  if (r.multipath) {
    return {
      kind: "unresolvable",
      reason: `it is covered by multipath route ${r.dst} (ECMP is not resolved)`,
    };
  }
  const dev = r.ifName !== undefined ? { ifName: r.ifName } : {};
  if (r.gateway === undefined) return { kind: "direct", via: r.dst, ...dev };
  return { kind: "gateway", via: r.dst, gateway: r.gateway, ...dev, ...(r.onlink ? { onlink: true } : {}) };
}
