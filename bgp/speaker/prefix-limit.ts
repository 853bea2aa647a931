/**
 * Per-peer, per-family prefix limits, as BIRD's `import limit N action warn|restart|disable` and FRR's
 * `maximum-prefix N [threshold] [restart M] [warning-only]`: a warning (logged once per crossing) from a
 * share of the limit on, and over the limit Cease / Maximum Number of Prefixes Reached with the RFC 4486
 * §4 data (AFI, SAFI, the limit), then a restart after a delay, a shutdown, or only a warning.
 * What is counted: the peer's paths accepted by import policy (FRR's default, BIRD's `import limit`),
 * because that is what the node keeps and programs; routes the policy rejects cost nothing past the
 * UPDATE. With ADD-PATH every accepted path counts. The checks are pure (`checkPrefixLimit`); the
 * guard below keeps one peer's memory, trip and restart timer on the speaker's clock. It does not count
 * (the speaker asks the Loc-RIB) and does not decide what the session does otherwise.
 */
import { CeaseSub } from "../codec/constants.js";
import { encodeMaxPrefixesData } from "../codec/notification.js";
import type { Family } from "../rib/prefix-key.js";
import type { Clock } from "../session/session.js";
import type { MaxPrefixes } from "./config.js";

export const PREFIX_LIMIT_DEFAULTS = {
  warningPercent: 75,
  action: "restart",
  restartAfterSeconds: 60,
} as const;

export type PrefixLimitAction = NonNullable<MaxPrefixes["action"]>;

export interface ResolvedLimit {
  readonly limit: number;
  /** The count from which the warning shows: ceil(limit × warningPercent / 100). */
  readonly warningAt: number;
  readonly action: PrefixLimitAction;
  readonly restartAfterSeconds: number;
}

export function resolveLimit(m: MaxPrefixes): ResolvedLimit {
  const pct = m.warningPercent ?? PREFIX_LIMIT_DEFAULTS.warningPercent;
  return {
    limit: m.limit,
    warningAt: Math.max(1, Math.ceil((m.limit * pct) / 100)),
    action: m.action ?? PREFIX_LIMIT_DEFAULTS.action,
    restartAfterSeconds: m.restartAfterSeconds ?? PREFIX_LIMIT_DEFAULTS.restartAfterSeconds,
  };
}

/** What has been said about one family already, so that each crossing is logged once. */
export interface LimitMemory {
  readonly warned: boolean;
  readonly exceeded: boolean;
}

export const FRESH: LimitMemory = { warned: false, exceeded: false };

/**
 * The count against the limit: "exceeded" the first time it goes over (count > limit, as FRR and
 * BIRD), "warning" the first time it reaches `warningAt`; falling below either re-arms it. Pure.
 */
export function checkPrefixLimit(
  count: number,
  l: ResolvedLimit,
  m: LimitMemory,
): { memory: LimitMemory; event?: "warning" | "exceeded" } {
  if (count > l.limit)
    return m.exceeded ? { memory: m } : { memory: { warned: true, exceeded: true }, event: "exceeded" };
  if (count >= l.warningAt)
    return m.warned
      ? { memory: { warned: true, exceeded: false } }
      : { memory: { warned: true, exceeded: false }, event: "warning" };
  return { memory: FRESH };
}

const AFI: Record<Family, number> = { ipv4: 1, ipv6: 2 };
const SAFI_UNICAST = 1;
const prefixes = (n: number) => `${n} prefix${n === 1 ? "" : "es"}`;

/** "prefix limit: 1001 prefixes from the peer (ipv4 unicast), limit 1000". */
export function describeExceeded(family: Family, count: number, limit: number): string {
  return `prefix limit: ${prefixes(count)} from the peer (${family} unicast), limit ${limit}`;
}

export function describeWarning(family: Family, count: number, l: ResolvedLimit): string {
  return `prefix limit warning: ${prefixes(count)} from the peer (${family} unicast), warning at ${l.warningAt}, limit ${l.limit}`;
}

/** The NOTIFICATION data of RFC 4486 §4 for a family's limit. */
export function maxPrefixesNotificationData(family: Family, limit: number): Uint8Array {
  return encodeMaxPrefixesData({ afi: AFI[family], safi: SAFI_UNICAST, limit });
}

export interface PrefixLimitStatus {
  readonly family: Family;
  readonly limit: number;
  readonly warningAt: number;
  readonly action: PrefixLimitAction;
  readonly restartAfterSeconds: number;
  /** Accepted prefixes from the peer now (what is counted). */
  readonly count: number;
  /** `exceeded` also while the session rests after a trip (its count is 0 then). */
  readonly state: "ok" | "warning" | "exceeded";
  /** Times the limit was exceeded in this family (every trip; every crossing with `warn`). */
  readonly trips: number;
}

/** How the guard reaches the session and the log. */
export interface GuardHooks {
  /** Accepted paths of the peer in a family. */
  count(family: Family): number;
  /** Send Cease / Maximum Number of Prefixes Reached with `data` and go Idle (Session.cease). */
  cease(subcode: number, data: Uint8Array, detail: string): void;
  /** Start the session again once the restart time has passed. */
  start(): void;
  log(level: "info" | "warn", msg: string, fields: Record<string, unknown>): void;
}

interface Trip {
  readonly family: Family;
  readonly count: number;
  readonly limit: number;
  readonly action: PrefixLimitAction;
  /** Monotonic ms at which the session starts again (action restart). */
  readonly restartAt?: number;
  readonly timer?: { cancel(): void };
}

/** One peer's prefix limits: memory per family, the trip that keeps the session down, its restart timer. */
export class PrefixLimitGuard {
  private limits: Partial<Record<Family, ResolvedLimit>> = {};
  private memory: Record<Family, LimitMemory> = { ipv4: FRESH, ipv6: FRESH };
  private readonly trips: Record<Family, number> = { ipv4: 0, ipv6: 0 };
  private trip: Trip | undefined;

  constructor(
    config: Partial<Record<Family, MaxPrefixes>> | undefined,
    private readonly clock: Clock,
    private readonly hooks: GuardHooks,
  ) {
    this.setLimits(config);
  }

  private setLimits(config: Partial<Record<Family, MaxPrefixes>> | undefined): void {
    this.limits = {};
    for (const f of ["ipv4", "ipv6"] as const) {
      const m = config?.[f];
      if (m !== undefined) this.limits[f] = resolveLimit(m);
    }
  }

  /** True while a trip keeps the session down (until its restart time, a reconfigure or a start). */
  get tripped(): boolean {
    return this.trip !== undefined;
  }

  /** After routes came in on an Established session: warn, and over a limit act. */
  check(families: Iterable<Family> = ["ipv4", "ipv6"]): void {
    for (const f of families) {
      const l = this.limits[f];
      if (l === undefined || this.trip !== undefined) continue;
      const count = this.hooks.count(f);
      const r = checkPrefixLimit(count, l, this.memory[f]);
      this.memory[f] = r.memory;
      if (r.event === "warning") {
        this.hooks.log("warn", describeWarning(f, count, l), {
          family: f,
          count,
          warningAt: l.warningAt,
          limit: l.limit,
        });
      } else if (r.event === "exceeded") {
        this.exceeded(f, count, l);
      }
    }
  }

  private exceeded(f: Family, count: number, l: ResolvedLimit): void {
    this.trips[f]++;
    const detail = describeExceeded(f, count, l.limit);
    const fields = { family: f, count, limit: l.limit, action: l.action };
    if (l.action === "warn") {
      this.hooks.log("warn", `${detail}; session kept (action warn)`, fields);
      return;
    }
    let trip: Trip = { family: f, count, limit: l.limit, action: l.action };
    if (l.action === "restart") {
      const ms = l.restartAfterSeconds * 1000;
      const timer = this.clock.setTimer(ms, () => {
        if (this.trip !== trip) return;
        this.trip = undefined;
        this.hooks.log("info", "prefix limit: restart time over, connecting again", { family: f });
        this.hooks.start();
      });
      trip = { ...trip, restartAt: this.clock.now() + ms, timer };
    }
    this.trip = trip;
    this.hooks.log(
      "warn",
      `${detail}; ${l.action === "restart" ? `restarting in ${l.restartAfterSeconds} s` : "shutting the session down (action shutdown)"}`,
      fields,
    );
    this.hooks.cease(CeaseSub.MaxPrefixes, maxPrefixesNotificationData(f, l.limit), detail);
  }

  /** The session went down: warnings re-arm for the next session. */
  sessionDown(): void {
    this.memory = { ipv4: FRESH, ipv6: FRESH };
  }

  /** Forgets a trip (operator start or shutdown, peer removed): no restart timer stays behind. */
  clear(): void {
    this.trip?.timer?.cancel();
    this.trip = undefined;
  }

  /**
   * New limits from a reconfigure, without resetting the session: warnings re-arm, an Established
   * session is checked against the new limits at once (and trips if it is over them), and a session
   * resting after a trip starts again. Returns true when it started the session.
   */
  reconfigure(config: Partial<Record<Family, MaxPrefixes>> | undefined, established: boolean): boolean {
    this.setLimits(config);
    this.memory = { ipv4: FRESH, ipv6: FRESH };
    if (this.trip !== undefined) {
      this.clear();
      this.hooks.log("info", "prefix limit changed: connecting again", {});
      this.hooks.start();
      return true;
    }
    if (established) this.check();
    return false;
  }

  /** Where each configured family stands. */
  status(): PrefixLimitStatus[] {
    const out: PrefixLimitStatus[] = [];
    for (const f of ["ipv4", "ipv6"] as const) {
      const l = this.limits[f];
      if (l === undefined) continue;
      const count = this.hooks.count(f);
      const state =
        this.trip?.family === f || count > l.limit ? "exceeded" : count >= l.warningAt ? "warning" : "ok";
      out.push({ family: f, ...l, count, state, trips: this.trips[f] });
    }
    return out;
  }

  /** While a trip keeps the session down: "restarting in 42 s", or that it stays down. */
  downWords(): string | undefined {
    const t = this.trip;
    if (t === undefined) return undefined;
    if (t.restartAt === undefined) return "down until reconfigured or started (action shutdown)";
    return `restarting in ${Math.max(0, Math.ceil((t.restartAt - this.clock.now()) / 1000))} s`;
  }

  /** Why the limits matter now, in words for `tabby bgp peers`; undefined when nothing is near a limit. */
  words(established: boolean): string | undefined {
    const t = this.trip;
    if (t !== undefined) return `${describeExceeded(t.family, t.count, t.limit)}; ${this.downWords()}`;
    if (!established) return undefined;
    for (const s of this.status()) {
      if (s.state === "exceeded")
        return `${describeExceeded(s.family, s.count, s.limit)}; session kept (action warn)`;
      if (s.state === "warning") return describeWarning(s.family, s.count, this.limits[s.family]!);
    }
    return undefined;
  }

  /** Exceedings per family since the peer was added, for the metrics counter. */
  tripCounts(): Record<Family, number> {
    return { ...this.trips };
  }
}
