/**
 * The speaker's configuration as data (what `tabby bgp run`'s YAML and, later, the node agent produce):
 * identity, listener, peers with their transport, timers, route-reflection and next-hop settings,
 * policies by name, per-family prefix limits, prefixes to originate, graceful restart. Defaults follow BIRD/Calico practice and
 * RFC 8212 (eBGP peers without a policy exchange nothing). Validation that needs no I/O lives here.
 */
import type { BfdConfig } from "../bfd/binding.js";
import type { Policy } from "../policy/policy.js";
import type { Family } from "../rib/prefix-key.js";
import type { Role } from "../rib/roles.js";

/** ADD-PATH send: every path, or the best N (BIRD's `add paths tx`, FRR's `addpath-tx-best-selected N`). */
export type AddPathSend = "all" | { readonly best: number };

export interface PeerConfig {
  /** Peer address; also the key of the peer. */
  readonly address: string;
  readonly asn: number;
  /** Our AS on this session instead of the speaker's (BIRD `local as`, Calico `localASNumber`). */
  readonly localAsn?: number;
  /** Name shown in status (default: the address). */
  readonly name?: string;
  readonly port?: number;
  /** Source address for our connection (and the next hop we announce on this session). */
  readonly localAddress?: string;
  /** RFC 2385 TCP MD5 key. */
  readonly password?: string;
  /** eBGP multihop TTL; default 1 for eBGP (directly connected), 64 for iBGP. */
  readonly ttl?: number;
  /** RFC 5082 GTSM: send TTL 255 and require at least 255 - (hops - 1); `true` means 1 hop. */
  readonly ttlSecurityHops?: number;
  readonly passive?: boolean;
  readonly routeReflectorClient?: boolean;
  /** next-hop handling on export: self, keep, or auto (self for eBGP, keep for iBGP). */
  readonly nextHop?: "self" | "keep" | "auto";
  /** Our next hop for the other family when exchanging it over this session (e.g. IPv6 routes over IPv4). */
  readonly nextHopSelf?: Partial<Record<Family, string>>;
  readonly holdTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly connectRetrySec?: number;
  readonly families?: readonly Family[];
  readonly importPolicy?: string;
  readonly exportPolicy?: string;
  /** Accept routes whose AS_PATH contains our AS up to this many times (default 0). */
  readonly allowOwnAs?: number;
  /** Receive ADD-PATH paths from this peer. */
  readonly addPathReceive?: boolean;
  /**
   * Send this peer several paths per prefix (RFC 7911) where it can receive them: every path we may
   * advertise to it ("all"), or the best N by the decision process.
   */
  readonly addPathSend?: AddPathSend;
  readonly gracefulRestart?: boolean;
  /** RFC 4724 restart time we announce to this peer (default: the speaker's). */
  readonly restartTimeSec?: number;
  /** Start administratively down. */
  readonly shutdown?: boolean;
  /**
   * Our BGP role towards this eBGP peer (RFC 9234): announced as a capability, checked against the
   * peer's, and the Only to Customer route-leak rules applied (rib/roles.ts).
   */
  readonly role?: Role;
  /** Refuse a peer that announces no role (BIRD `require roles`, FRR `strict-mode`). */
  readonly roleStrict?: boolean;
  /** Per family, the most prefixes we accept from this peer (prefix-limit.ts; BIRD `import limit`, FRR `maximum-prefix`). */
  readonly maxPrefixes?: Partial<Record<Family, MaxPrefixes>>;
  /**
   * RFC 5880/5881 BFD bound to this session (RFC 5882, bgp/bfd/): BGP goes down when BFD goes from Up to
   * Down. Defaults 300 ms / 300 ms / 3, as BIRD and FRR. Single hop, no authentication.
   */
  readonly bfd?: BfdConfig;
}

/**
 * A prefix limit: what the peer may have in our Adj-RIB-In for one family, counted after import policy
 * (accepted paths, as FRR's `maximum-prefix` counts by default and BIRD's `import limit`).
 */
export interface MaxPrefixes {
  /** The upper bound; one more accepted prefix trips the limit. */
  readonly limit: number;
  /** Log a warning (once) and show it in status from this share of `limit` on (default 75, as FRR). */
  readonly warningPercent?: number;
  /**
   * Over the limit: `restart` sends Cease / Maximum Number of Prefixes Reached (RFC 4486) and reconnects
   * after `restartAfterSeconds`; `shutdown` does the same and stays down until reconfigured or started;
   * `warn` only logs and shows it. Default `restart`.
   */
  readonly action?: "restart" | "shutdown" | "warn";
  /** Default 60 s (BIRD's minimum `error wait time`; FRR's `restart` takes minutes). */
  readonly restartAfterSeconds?: number;
}

export interface OriginateConfig {
  readonly prefix: string;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
}

export interface SpeakerConfig {
  readonly routerId: string;
  readonly asn: number;
  /** Route-reflector cluster id (default: the router id). */
  readonly clusterId?: string;
  /** Where to listen for peers; undefined = do not listen (active only). */
  readonly listen?: { readonly address: string; readonly port?: number };
  readonly peers: readonly PeerConfig[];
  readonly policies?: Readonly<Record<string, Policy>>;
  readonly originate?: readonly OriginateConfig[];
  /**
   * Graceful restart (RFC 4724) in both roles; with `longLivedStaleTimeSec`, long-lived graceful
   * restart too (RFC 9494): after the restart time a peer's routes stay, marked LLGR_STALE and least
   * preferred, for the stale time the peer asked for (at most this long), and ours are kept as long by
   * peers that help.
   */
  readonly gracefulRestart?: { readonly restartTimeSec: number; readonly longLivedStaleTimeSec?: number };
  readonly holdTimeSec?: number;
  readonly connectRetrySec?: number;
  readonly idleHoldSec?: { readonly initial: number; readonly max: number };
  /** Our hostname for the FQDN capability. */
  readonly hostname?: string;
}

export const DEFAULT_HOLD_TIME_SEC = 90;
