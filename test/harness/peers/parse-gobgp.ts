/**
 * Pure parsers for GoBGP 3.x CLI JSON (`gobgp neighbor -j`, `gobgp global rib -a AFI -j`,
 * `gobgp neighbor X adj-in|adj-out -a AFI -j`). Path attributes arrive as a list of objects keyed by
 * the RFC attribute type code (1 ORIGIN, 2 AS_PATH, 3 NEXT_HOP, 4 MED, 5 LOCAL_PREF, 8 COMMUNITIES,
 * 9 ORIGINATOR_ID, 10 CLUSTER_LIST, 14 MP_REACH_NLRI, 32 LARGE_COMMUNITY).
 */
import type { BgpRoute, Family, Origin, PeerSession, PrefixCounts, SessionState } from "./types.js";

// gobgp's api.PeerState_SessionState enum.
const STATES: Record<number | string, SessionState> = {
  1: "Idle",
  2: "Connect",
  3: "Active",
  4: "OpenSent",
  5: "OpenConfirm",
  6: "Established",
  IDLE: "Idle",
  CONNECT: "Connect",
  ACTIVE: "Active",
  OPENSENT: "OpenSent",
  OPENCONFIRM: "OpenConfirm",
  ESTABLISHED: "Established",
};

interface GobgpPeer {
  conf?: { neighbor_address?: string; peer_asn?: number };
  state?: { neighbor_address?: string; peer_asn?: number; session_state?: number | string };
  afi_safis?: {
    config?: { family?: { afi?: number; safi?: number } };
    state?: {
      family?: { afi?: number; safi?: number };
      received?: number;
      accepted?: number;
      advertised?: number;
    };
  }[];
}

export function parseGobgpNeighbors(json: string): PeerSession[] {
  const data = JSON.parse(json) as GobgpPeer[];
  return data.map((p) => {
    const prefixes: Partial<Record<Family, PrefixCounts>> = {};
    for (const af of p.afi_safis ?? []) {
      const fam = af.state?.family ?? af.config?.family;
      if (fam?.safi !== 1) continue;
      const family: Family | undefined = fam.afi === 1 ? "ipv4" : fam.afi === 2 ? "ipv6" : undefined;
      if (family)
        prefixes[family] = { received: af.state?.accepted ?? 0, advertised: af.state?.advertised ?? 0 };
    }
    return {
      neighbor: p.conf?.neighbor_address ?? p.state?.neighbor_address ?? "",
      remoteAs: p.conf?.peer_asn ?? p.state?.peer_asn,
      state: STATES[p.state?.session_state ?? 1] ?? "Idle",
      prefixes,
    };
  });
}

interface GobgpAttr {
  type: number;
  value?: unknown;
  as_paths?: { segment_type: number; asns: number[] }[];
  nexthop?: string;
  metric?: number;
  communities?: number[];
  id?: string;
  cluster_list?: string[];
}

interface GobgpPath {
  nlri?: { prefix?: string };
  best?: boolean;
  attrs?: GobgpAttr[];
  "neighbor-ip"?: string;
}

const ORIGINS: Origin[] = ["igp", "egp", "incomplete"];

/** `{prefix: [path, ...]}` as printed by `global rib -j` and `adj-in|adj-out -j`. */
export function parseGobgpRib(json: string): BgpRoute[] {
  const text = json.trim();
  if (text === "" || text === "null") return [];
  const data = JSON.parse(text) as Record<string, GobgpPath[]>;
  const out: BgpRoute[] = [];
  for (const [prefix, paths] of Object.entries(data)) {
    for (const p of paths) out.push(toRoute(prefix, p));
  }
  return out;
}

function toRoute(prefix: string, p: GobgpPath): BgpRoute {
  let nextHop: string | undefined;
  let asPath: number[] = [];
  let origin: Origin | undefined;
  let med: number | undefined;
  let localPref: number | undefined;
  let communities: string[] = [];
  let largeCommunities: string[] = [];
  let originatorId: string | undefined;
  let clusterList: string[] | undefined;
  for (const a of p.attrs ?? []) {
    switch (a.type) {
      case 1:
        origin = ORIGINS[a.value as number];
        break;
      case 2:
        asPath = (a.as_paths ?? []).flatMap((s) => s.asns);
        break;
      case 3:
      case 14:
        nextHop = a.nexthop;
        break;
      case 4:
        med = a.metric;
        break;
      case 5:
        localPref = a.value as number;
        break;
      case 8:
        communities = (a.communities ?? []).map((c) => `${Math.floor(c / 65536)}:${c % 65536}`);
        break;
      case 9:
        originatorId = (a.id ?? a.value) as string;
        break;
      case 10:
        clusterList = a.cluster_list ?? (a.value as string[] | undefined);
        break;
      case 32:
        largeCommunities = ((a.value ?? []) as { ASN: number; LocalData1: number; LocalData2: number }[]).map(
          (c) => `${c.ASN}:${c.LocalData1}:${c.LocalData2}`,
        );
        break;
    }
  }
  return {
    prefix: p.nlri?.prefix ?? prefix,
    nextHop: nextHop === undefined || nextHop === "0.0.0.0" || nextHop === "::" ? undefined : nextHop,
    asPath,
    origin,
    ...(med !== undefined ? { med } : {}),
    ...(localPref !== undefined ? { localPref } : {}),
    communities,
    largeCommunities,
    ...(originatorId !== undefined ? { originatorId } : {}),
    ...(clusterList !== undefined ? { clusterList } : {}),
    best: p.best === true,
    ...(p["neighbor-ip"] !== undefined ? { from: p["neighbor-ip"] } : {}),
  };
}
