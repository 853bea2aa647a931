/**
 * One shape for what BIRD, FRR and GoBGP report, so a test reads "is the session up, which routes came
 * in, which went out" the same way whatever the daemon. Parsed from their own tools (birdc text, vtysh
 * JSON, gobgp JSON) by the pure parse-*.ts modules; the daemon wrappers (bird.ts, frr.ts, gobgp.ts) run
 * the tools and implement `BgpDaemon`.
 */

export type Family = "ipv4" | "ipv6";

/** RFC 4271 §8.2.2 state names. */
export type SessionState = "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established";

export interface PrefixCounts {
  readonly received: number;
  readonly advertised: number;
}

export interface PeerSession {
  /** Neighbor address as configured (`10.0.0.2`, `fd00::2`). */
  readonly neighbor: string;
  readonly remoteAs: number | undefined;
  readonly state: SessionState;
  /** The daemon's own name for the session (BIRD protocol name), when it has one. */
  readonly name?: string;
  /** Last error as the daemon words it, if any. */
  readonly lastError?: string;
  /** Per family, when the daemon reports it. */
  readonly prefixes?: Partial<Record<Family, PrefixCounts>>;
}

export type Origin = "igp" | "egp" | "incomplete";

export interface BgpRoute {
  readonly prefix: string;
  /** Undefined for locally originated routes without a next hop (static blackholes, `network`). */
  readonly nextHop: string | undefined;
  /** AS numbers in path order; AS_SET members are included in place. */
  readonly asPath: readonly number[];
  readonly origin: Origin | undefined;
  readonly med?: number;
  readonly localPref?: number;
  /** RFC 1997 communities as `asn:value`. */
  readonly communities: readonly string[];
  /** RFC 8092 large communities as `global:local1:local2`. */
  readonly largeCommunities: readonly string[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** Selected as best (in the Loc-RIB / FIB sense of the daemon). */
  readonly best: boolean;
  /** Address of the neighbor it was learned from; undefined for local routes. */
  readonly from?: string;
}

export interface BgpDaemon {
  readonly kind: "bird" | "frr" | "gobgp";
  /** Pid of the BGP process (bgpd for FRR). */
  readonly pid: number;
  /** Where its logs go, for failure messages. */
  readonly logFile: string;
  sessions(): Promise<PeerSession[]>;
  /** The daemon's table for a family: every path it holds, `best` marking the selected one. */
  routes(family: Family): Promise<BgpRoute[]>;
  /** Paths accepted from `neighbor`. */
  received(neighbor: string, family: Family): Promise<BgpRoute[]>;
  /** What it sends to `neighbor`, as the daemon reports it (attributes before the wire's eBGP rewrites). */
  advertised(neighbor: string, family: Family): Promise<BgpRoute[]>;
  /** Starts originating a prefix (only daemons started from a `SpeakerSpec`). */
  announce(prefix: string): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  /** Polls until the session to `neighbor` is in `state` (default Established). */
  waitForSession(neighbor: string, opts?: { state?: SessionState; timeoutMs?: number }): Promise<PeerSession>;
  /** Polls until `prefix` is in the table (or, with `gone`, until it is not). */
  waitForRoute(
    family: Family,
    prefix: string,
    opts?: { gone?: boolean; timeoutMs?: number },
  ): Promise<BgpRoute | undefined>;
  /** SIGTERM by pid, SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
}

export const familyOf = (prefix: string): Family => (prefix.includes(":") ? "ipv6" : "ipv4");
