/**
 * What the speaker shows of itself: per-peer status (state, since when, prefixes received, accepted and
 * advertised, the last error in words, message counters, prefix limits) and Loc-RIB paths, as plain data for
 * `tabby bgp peers` / `rib`, the status socket and metrics.
 */
import type { BfdPeerStatus } from "../bfd/binding.js";
import { formatAsPath } from "../codec/as-path.js";
import { communityToString } from "../codec/json.js";
import type { Path } from "../rib/loc-rib.js";
import type { Family } from "../rib/prefix-key.js";
import { keyToString } from "../rib/prefix-key.js";
import type { PrefixLimitStatus } from "./prefix-limit.js";

const ORIGIN_NAMES = ["igp", "egp", "incomplete"] as const;

export interface PrefixCounts {
  received: number;
  accepted: number;
  advertised: number;
}

export interface PeerStatus {
  readonly name: string;
  readonly address: string;
  readonly asn: number;
  readonly type: "ibgp" | "ebgp";
  readonly state: string;
  /** Wall-clock ms of the last state change. */
  readonly since: number;
  readonly routerId?: string;
  readonly hostname?: string;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly families: Family[];
  readonly prefixes: Record<Family, PrefixCounts>;
  readonly stale: number;
  readonly lastError?: string;
  readonly messages: { sent: Record<string, number>; received: Record<string, number> };
  readonly flaps: number;
  readonly passive: boolean;
  readonly routeReflectorClient: boolean;
  /** Families whose End-of-RIB arrived on the current session (cleared when it goes down). */
  readonly endOfRibReceived: Family[];
  /** The prefix limits in force (maxPrefixes), per family, and where the accepted count stands. */
  readonly prefixLimits?: PrefixLimitStatus[];
  /**
   * A prefix limit that matters now, in words: "prefix limit: 1001 prefixes from the peer (ipv4
   * unicast), limit 1000; restarting in 60 s", or the warning while the session is up.
   */
  readonly prefixLimit?: string;
  /** BFD (when configured): state, negotiated TX interval and detection time, why it last went down. */
  readonly bfd?: BfdPeerStatus;
}

export type { BfdPeerStatus, PrefixLimitStatus };

export interface RibPath {
  readonly prefix: string;
  readonly best: boolean;
  readonly from: string;
  readonly fromName: string;
  readonly nextHop: string;
  readonly asPath: string;
  readonly origin: "igp" | "egp" | "incomplete";
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: string[];
  readonly largeCommunities: string[];
  readonly originatorId?: string;
  readonly clusterList: string[];
  readonly stale: boolean;
  readonly pathId?: number;
}

export function toRibPath(p: Path, best: boolean, fromName: string): RibPath {
  const a = p.attrs;
  const large: string[] = [];
  for (let i = 0; i < a.largeCommunities.length; i += 3)
    large.push(`${a.largeCommunities[i]}:${a.largeCommunities[i + 1]}:${a.largeCommunities[i + 2]}`);
  return {
    prefix: keyToString(p.key),
    best,
    from: p.peer.type === "local" ? "local" : p.peer.address,
    fromName,
    nextHop: a.nextHop === "" ? "self" : a.nextHop,
    asPath: formatAsPath(a.asPath),
    origin: ORIGIN_NAMES[a.origin] ?? "incomplete",
    ...(a.med !== undefined ? { med: a.med } : {}),
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    communities: a.communities.map(communityToString),
    largeCommunities: large,
    ...(a.originatorId !== undefined ? { originatorId: a.originatorId } : {}),
    clusterList: [...a.clusterList],
    stale: p.stale,
    ...(p.pathId !== 0 ? { pathId: p.pathId } : {}),
  };
}
