/**
 * Pure parsers for FRR's vtysh JSON (FRR 8.4): `show bgp neighbors json`, `show bgp <afi> unicast json`,
 * `... neighbors X routes|advertised-routes json` and the per-prefix detail `show bgp <afi> unicast P json`.
 * FRR's list views omit communities; `parseFrrPrefixDetail` reads them from the per-prefix view.
 */
import type { BgpRoute, Family, Origin, PeerSession, PrefixCounts, SessionState } from "./types.js";

const STATES: Record<string, SessionState> = {
  Idle: "Idle",
  Connect: "Connect",
  Active: "Active",
  OpenSent: "OpenSent",
  OpenConfirm: "OpenConfirm",
  Established: "Established",
  // FRR-specific transitional states are "not up yet".
  Clearing: "Idle",
  Deleted: "Idle",
};

interface FrrNeighbor {
  remoteAs?: number;
  bgpState?: string;
  lastNotificationReason?: string;
  lastResetDueTo?: string;
  connectionsDropped?: number;
  addressFamilyInfo?: Record<string, { acceptedPrefixCounter?: number; sentPrefixCounter?: number }>;
}

const AF_KEYS: Record<string, Family> = { ipv4Unicast: "ipv4", ipv6Unicast: "ipv6" };

export function parseFrrNeighbors(json: string): PeerSession[] {
  const data = JSON.parse(json) as Record<string, FrrNeighbor>;
  return Object.entries(data).map(([neighbor, n]) => {
    const prefixes: Partial<Record<Family, PrefixCounts>> = {};
    for (const [key, af] of Object.entries(n.addressFamilyInfo ?? {})) {
      const family = AF_KEYS[key];
      if (family)
        prefixes[family] = { received: af.acceptedPrefixCounter ?? 0, advertised: af.sentPrefixCounter ?? 0 };
    }
    // lastResetDueTo starts as "Waiting for peer OPEN" on a fresh session: only a real drop makes it news.
    const lastError =
      n.lastNotificationReason ?? ((n.connectionsDropped ?? 0) > 0 ? n.lastResetDueTo : undefined);
    return {
      neighbor,
      remoteAs: n.remoteAs,
      state: STATES[n.bgpState ?? ""] ?? "Idle",
      ...(lastError ? { lastError } : {}),
      prefixes,
    };
  });
}

interface FrrListPath {
  bestpath?: boolean;
  network?: string;
  prefix?: string;
  prefixLen?: number;
  path?: string;
  origin?: string;
  metric?: number;
  locPrf?: number;
  peerId?: string;
  nexthops?: { ip?: string; scope?: string }[];
}

const ORIGINS: Record<string, Origin> = {
  IGP: "igp",
  EGP: "egp",
  incomplete: "incomplete",
  "?": "incomplete",
};

/** `show bgp <afi> unicast json` and `... neighbors X routes json`: `{routes: {prefix: [path, ...]}}`. */
export function parseFrrRouteTable(json: string): BgpRoute[] {
  const data = JSON.parse(json) as { routes?: Record<string, FrrListPath[]> };
  const out: BgpRoute[] = [];
  for (const [prefix, paths] of Object.entries(data.routes ?? {})) {
    for (const p of paths) {
      const nh = p.nexthops?.find((n) => n.scope !== "link-local")?.ip;
      out.push({
        prefix,
        nextHop: nh === undefined || nh === "0.0.0.0" || nh === "::" ? undefined : nh,
        asPath: parseAsPathString(p.path ?? ""),
        origin: p.origin === undefined ? undefined : ORIGINS[p.origin],
        ...(p.metric !== undefined ? { med: p.metric } : {}),
        ...(p.locPrf !== undefined ? { localPref: p.locPrf } : {}),
        communities: [],
        largeCommunities: [],
        best: p.bestpath === true,
        ...(p.peerId !== undefined && p.peerId !== "(unspec)" ? { from: p.peerId } : {}),
      });
    }
  }
  return out;
}

interface FrrAdvertised {
  network?: string;
  nextHop?: string;
  path?: string;
  bgpOriginCode?: string;
  metric?: number;
  locPrf?: number;
}

/** `show bgp <afi> unicast neighbors X advertised-routes json`. */
export function parseFrrAdvertised(json: string): BgpRoute[] {
  const data = JSON.parse(json) as { advertisedRoutes?: Record<string, FrrAdvertised> };
  return Object.entries(data.advertisedRoutes ?? {}).map(([prefix, r]) => ({
    prefix,
    nextHop: r.nextHop === undefined || r.nextHop === "0.0.0.0" || r.nextHop === "::" ? undefined : r.nextHop,
    asPath: parseAsPathString(r.path ?? ""),
    origin:
      r.bgpOriginCode === "i"
        ? "igp"
        : r.bgpOriginCode === "e"
          ? "egp"
          : r.bgpOriginCode === "?"
            ? "incomplete"
            : undefined,
    ...(r.metric !== undefined ? { med: r.metric } : {}),
    ...(r.locPrf !== undefined ? { localPref: r.locPrf } : {}),
    communities: [],
    largeCommunities: [],
    best: true,
  }));
}

interface FrrDetailPath {
  aspath?: { segments?: { type: string; list: number[] }[] };
  origin?: string;
  med?: number;
  metric?: number;
  locPrf?: number;
  localpref?: number;
  community?: { string?: string; list?: string[] };
  largeCommunity?: { string?: string; list?: string[] };
  originatorId?: string;
  clusterList?: { list?: string[] };
  bestpath?: { overall?: boolean };
  nexthops?: { ip?: string; scope?: string }[];
  peer?: { peerId?: string };
}

/** `show bgp <afi> unicast <prefix> json`: every path with all attributes. */
export function parseFrrPrefixDetail(json: string): BgpRoute[] {
  const data = JSON.parse(json) as { prefix?: string; paths?: FrrDetailPath[] };
  if (data.prefix === undefined) return [];
  return (data.paths ?? []).map((p) => {
    const nh = p.nexthops?.find((n) => n.scope !== "link-local")?.ip;
    const med = p.med ?? p.metric;
    const lp = p.locPrf ?? p.localpref;
    const peer = p.peer?.peerId;
    return {
      prefix: data.prefix!,
      nextHop: nh === undefined || nh === "0.0.0.0" || nh === "::" ? undefined : nh,
      asPath: (p.aspath?.segments ?? []).flatMap((s) => s.list),
      origin: p.origin === undefined ? undefined : ORIGINS[p.origin],
      ...(med !== undefined ? { med } : {}),
      ...(lp !== undefined ? { localPref: lp } : {}),
      communities: splitList(p.community),
      largeCommunities: splitList(p.largeCommunity),
      ...(p.originatorId !== undefined ? { originatorId: p.originatorId } : {}),
      ...(p.clusterList?.list !== undefined ? { clusterList: p.clusterList.list } : {}),
      best: p.bestpath?.overall === true,
      ...(peer !== undefined && peer !== "(unspec)" ? { from: peer } : {}),
    };
  });
}

function splitList(c: { string?: string; list?: string[] } | undefined): string[] {
  if (c === undefined) return [];
  if (c.list !== undefined) return c.list;
  return (c.string ?? "").split(/\s+/).filter((s) => s !== "");
}

/** "65001 {65003,65004} 65005" → [65001, 65003, 65004, 65005]. */
function parseAsPathString(s: string): number[] {
  return s.match(/\d+/g)?.map(Number) ?? [];
}
