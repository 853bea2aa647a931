/**
 * The converging route table (style.md §4; Calico felix/routetable/route_table.go): holds the desired
 * routes of one kernel table, mirrors the kernel's (a full dump on start, on overrun and every
 * routeRefreshInterval, kept current from netlink events in between), and writes only the difference,
 * in batches. On start it adopts routes that are already right instead of flushing, so a restart with
 * correct state writes nothing. Unexpected routes on workload interfaces live out a grace period first
 * (the CNI plugin adds a pod's /32 before felix hears of the pod). Failed writes are retried; routes
 * that cannot exist yet (their interface is missing) wait for the interface's link event.
 */
import type { Logger } from "pino";
import type { Clock, TimerHandle } from "../clock.js";
import { DataplaneError, type NetlinkError } from "../errors.js";
import { IPIP_IFACE, isWorkloadIface, resolveConfig, VXLAN_IFACE } from "../model/compute-desired.js";
import type { DesiredRoute } from "../model/desired.js";
import type { FelixConfig } from "../model/inputs.js";
import { IFF } from "../netlink/constants.js";
import type { RtnlEvent } from "../netlink/events.js";
import type { Link } from "../netlink/link-codec.js";
import { describeRoute, type Route, routeKey } from "../netlink/route-codec.js";
import type { RouteWrite, RtnetlinkApi } from "../netlink/rtnetlink.js";
import { desiredKey, diffRoutes, type OwnershipPolicy, sameRoute } from "./route-diff.js";

const ESRCH = 3;
const RETRY_MS = 5_000;
/** Past this many changed keys, a pass diffs everything instead of a key list. */
const DIFF_ALL_ABOVE = 4096;

export interface RouteTableOptions {
  readonly nl: RtnetlinkApi;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config?: Partial<FelixConfig>;
  /** Tunnel devices whose routes are all felix's; default vxlan.calico and tunl0. */
  readonly specialIfaces?: readonly string[];
  /** Told every full dump of the kernel's routes (the dataplane mirrors the host's routes from it). */
  readonly onDump?: (routes: readonly Route[]) => void;
}

export interface ApplyResult {
  /** True when this pass started from a fresh dump of the kernel. */
  readonly full: boolean;
  readonly replaced: number;
  readonly deleted: number;
  /** Unexpected routes on workload interfaces still inside their grace period. */
  readonly waiting: number;
  /** Everything that could not be done, each naming its route and interface. */
  readonly errors: readonly (DataplaneError | NetlinkError)[];
}

export class RouteTable {
  private readonly cfg: FelixConfig;
  private readonly policy: OwnershipPolicy;
  private readonly exclusive: Set<number>;
  private desired = new Map<string, DesiredRoute>();
  private readonly desiredByIface = new Map<string, string[]>();
  private readonly actual = new Map<string, Route>();
  private readonly links = new Map<number, Link>();
  private readonly ifIndexByName = new Map<string, number>();
  private readonly strayFirstSeen = new Map<string, number>();
  private dirty = new Set<string>();
  /** Diff every key on the next pass (many changed at once; cheaper than tracking them). */
  private diffAll = false;
  private needFull = true;
  private hasDesired = false;
  private inputErrors: DataplaneError[] = [];
  private loggedErrors = new Set<string>();
  private running: Promise<ApplyResult> | undefined;
  private dumping: Promise<void> | undefined;
  /** A full dump happened since the last pass: that pass diffs everything. */
  private dumped = false;
  private again = false;
  private started = false;
  private timer: { handle: TimerHandle; due: number } | undefined;
  private refreshTimer: TimerHandle | undefined;

  constructor(private readonly opts: RouteTableOptions) {
    this.cfg = resolveConfig(opts.config);
    this.exclusive = new Set(
      this.cfg.routeProtocol !== this.cfg.deviceRouteProtocol ? [this.cfg.routeProtocol] : [],
    );
    this.policy = {
      table: this.cfg.routeTable,
      exclusiveProtocols: this.exclusive,
      isWorkloadIface: (n) => isWorkloadIface(n, this.cfg),
      specialIfaces: new Set(opts.specialIfaces ?? [VXLAN_IFACE, IPIP_IFACE]),
    };
  }

  /** Starts the periodic full resync and applies whenever something changes. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.scheduleRefresh();
    this.schedule(0);
  }

  stop(): void {
    this.started = false;
    this.timer?.handle.cancel();
    this.timer = undefined;
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
  }

  /** Replaces the desired routes; only keys whose route changed are looked at again. */
  setDesired(routes: readonly DesiredRoute[]): void {
    this.hasDesired = true;
    const next = new Map<string, DesiredRoute>();
    const errors: DataplaneError[] = [];
    for (const r of routes) {
      const key = desiredKey(r, this.cfg.routeTable);
      const had = next.get(key);
      if (had !== undefined) {
        errors.push(
          new DataplaneError(
            "FELIX_ROUTE_CONFLICT",
            `route ${r.dst} wanted twice: by ${had.owner} and by ${r.owner}; keeping the first`,
            { route: r.dst, ...(r.ifName ? { iface: r.ifName } : {}) },
          ),
        );
        continue;
      }
      next.set(key, r);
    }
    if (!this.needFull && !this.diffAll) {
      for (const [k, r] of next) {
        const old = this.desired.get(k);
        if (old === undefined || !sameDesired(old, r)) this.dirty.add(k);
        if (this.dirty.size > DIFF_ALL_ABOVE) break;
      }
      for (const k of this.desired.keys()) if (!next.has(k)) this.dirty.add(k);
      if (this.dirty.size > DIFF_ALL_ABOVE) this.diffAll = true;
    }
    this.desired = next;
    this.desiredByIface.clear();
    for (const [k, r] of next) {
      if (r.ifName === undefined) continue;
      const keys = this.desiredByIface.get(r.ifName);
      if (keys === undefined) this.desiredByIface.set(r.ifName, [k]);
      else keys.push(k);
    }
    this.inputErrors = errors;
    this.schedule(0);
  }

  /**
   * Whether routes of `protocol` not in the desired set are felix's to delete. The agent owns BGP's
   * protocol only once it knows the learned routes, so a restart keeps the routes the last run left.
   */
  ownProtocol(protocol: number, owned: boolean): void {
    if (this.exclusive.has(protocol) === owned) return;
    if (owned) this.exclusive.add(protocol);
    else this.exclusive.delete(protocol);
    this.diffAll = true;
    this.schedule(0);
  }

  /** Forces the next pass to start from a fresh dump (also done by the refresh timer). */
  requestFullResync(): void {
    this.needFull = true;
    this.schedule(0);
  }

  /** Feeds netlink notifications: keeps the mirror current and marks what to look at again. */
  handleEvents(events: readonly RtnlEvent[]): void {
    for (const e of events) {
      if (e.kind === "overrun") {
        this.needFull = true;
      } else if (e.kind === "link") {
        this.onLink(e.op, e.link);
      } else if (e.kind === "route" && e.route.table === this.cfg.routeTable) {
        const key = routeKey(e.route);
        if (e.op === "new") this.actual.set(key, e.route);
        else if (isDeletionOf(this.actual.get(key), e.route)) this.actual.delete(key);
        if (this.diffAll) continue;
        this.dirty.add(key);
        if (this.dirty.size > DIFF_ALL_ABOVE) this.diffAll = true;
      }
    }
    this.schedule(0);
  }

  /** Brings the interface mirror up to date from a fresh link dump (after felix created a device). */
  syncLinks(links: readonly Link[]): void {
    const seen = new Set<number>();
    for (const l of links) {
      seen.add(l.index);
      const old = this.links.get(l.index);
      if (old === undefined || old.name !== l.name || old.flags !== l.flags) this.onLink("new", l);
    }
    for (const l of [...this.links.values()]) if (!seen.has(l.index)) this.onLink("del", l);
  }

  private onLink(op: "new" | "del", link: Link): void {
    const old = this.links.get(link.index);
    if (old !== undefined && old.name !== link.name) this.ifIndexByName.delete(old.name);
    const gone = op === "del" || (link.flags & IFF.UP) === 0;
    if (op === "del") {
      this.links.delete(link.index);
      if (this.ifIndexByName.get(link.name) === link.index) this.ifIndexByName.delete(link.name);
    } else {
      this.links.set(link.index, link);
      this.ifIndexByName.set(link.name, link.index);
    }
    // The kernel drops routes through a device that goes down or away without notifying (IPv4).
    for (const [k, r] of this.actual) {
      if (r.oif !== link.index) continue;
      if (gone) this.actual.delete(k);
      this.dirty.add(k);
    }
    const keys = this.desiredByIface.get(link.name) ?? [];
    if (keys.length > DIFF_ALL_ABOVE) this.diffAll = true;
    else for (const k of keys) this.dirty.add(k);
  }

  /** One reconcile pass; concurrent calls share the running pass and queue one more after it. */
  apply(): Promise<ApplyResult> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = this.applyOnce().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.schedule(0);
      }
    });
    this.running = run;
    return run;
  }

  /**
   * Does a due full dump now instead of in the next pass (which then diffs everything without dumping
   * again), so that a caller about to compute from the kernel's routes (onDump) sees them fresh. A no-op
   * while a pass runs: that pass or the one queued after it dumps.
   */
  async refreshMirror(): Promise<void> {
    if (this.running === undefined && this.needFull && this.dumping === undefined) {
      this.dumping = this.dump().finally(() => {
        this.dumping = undefined;
      });
    }
    await this.dumping;
  }

  private async dump(): Promise<void> {
    const { nl } = this.opts;
    this.needFull = false;
    this.dirty.clear();
    let links: Link[];
    let routes: Route[];
    try {
      links = await nl.dumpLinks();
      routes = await nl.dumpRoutes(0);
    } catch (e) {
      this.needFull = true;
      throw e;
    }
    this.links.clear();
    this.ifIndexByName.clear();
    for (const l of links) {
      this.links.set(l.index, l);
      this.ifIndexByName.set(l.name, l.index);
    }
    this.actual.clear();
    for (const r of routes) {
      if (r.table !== this.cfg.routeTable) continue;
      const key = routeKey(r);
      if (!this.actual.has(key)) this.actual.set(key, r);
    }
    this.dumped = true;
    this.opts.onDump?.(routes);
  }

  private async applyOnce(): Promise<ApplyResult> {
    const { nl, logger, clock } = this.opts;
    await this.dumping?.catch(() => undefined); // started by refreshMirror; if it failed, needFull again
    if (this.needFull) await this.dump();
    const full = this.dumped;
    this.dumped = false;
    const keys = full || this.diffAll ? undefined : this.dirty;
    this.dirty = new Set();
    this.diffAll = false;
    const plan = diffRoutes(
      this.desired,
      this.actual,
      {
        policy: this.policy,
        ifIndex: (n) => this.ifIndexByName.get(n),
        ifName: (i) => this.links.get(i)?.name,
      },
      keys,
    );

    // Grace period for unexpected routes on workload interfaces (Calico routeCleanupGracePeriod).
    const now = clock.now();
    const writes: RouteWrite[] = [];
    const strayKeys = new Set<string>();
    let nextDue: number | undefined;
    let waiting = 0;
    for (const s of plan.strays) {
      const k = s.key;
      strayKeys.add(k);
      const first = this.strayFirstSeen.get(k) ?? now;
      this.strayFirstSeen.set(k, first);
      if (now - first >= this.cfg.routeCleanupGracePeriodMs) {
        writes.push(s);
      } else {
        waiting++;
        const due = first + this.cfg.routeCleanupGracePeriodMs;
        nextDue = nextDue === undefined ? due : Math.min(nextDue, due);
      }
    }
    for (const k of [...this.strayFirstSeen.keys()]) {
      if (!strayKeys.has(k) && (keys === undefined || keys.has(k))) this.strayFirstSeen.delete(k);
    }
    for (const d of plan.deletes) writes.push(d);
    for (const r of plan.replaces) writes.push(r);

    const describe = (w: RouteWrite): string => `${this.describe(w.route)}${w.owner ? ` (${w.owner})` : ""}`;
    const failures = writes.length > 0 ? await nl.writeRoutes(writes, describe) : [];
    const failed = new Set<RouteWrite>();
    const errors: (DataplaneError | NetlinkError)[] = [...this.inputErrors, ...plan.errors];
    let retry = false;
    for (const f of failures) {
      if (f.write.op === "delete" && f.error.errno === ESRCH) continue; // already gone: fine
      failed.add(f.write);
      errors.push(f.error);
      this.dirty.add(f.write.key ?? routeKey(f.write.route));
      retry = true;
    }
    let replaced = 0;
    let deleted = 0;
    for (const w of writes) {
      if (failed.size > 0 && failed.has(w)) continue;
      const k = w.key ?? routeKey(w.route);
      if (w.op === "delete") {
        this.actual.delete(k);
        this.strayFirstSeen.delete(k);
        deleted++;
      } else {
        // The kernel's notification of this write may have been read first: keep its copy, which names
        // the device the kernel chose for a route written without one (link-down and deletion need it).
        const seen = this.actual.get(k);
        if (seen === undefined || !sameRoute(w.route, seen)) this.actual.set(k, w.route);
        replaced++;
      }
    }
    if (retry) nextDue = Math.min(nextDue ?? Number.POSITIVE_INFINITY, now + RETRY_MS);
    if (nextDue !== undefined) {
      for (const s of plan.strays) this.dirty.add(s.key);
      this.schedule(nextDue - now);
    }
    const written = writes
      .filter((w) => !failed.has(w))
      .slice(0, 10)
      .map((w) => `${w.op} ${describe(w)}`);
    this.logOutcome(full, replaced, deleted, errors, written);
    if (writes.length > 0 || full) {
      logger.debug({ full, replaced, deleted, waiting, errors: errors.length }, "route table applied");
    }
    return { full, replaced, deleted, waiting, errors };
  }

  private logOutcome(
    full: boolean,
    replaced: number,
    deleted: number,
    errors: readonly Error[],
    written: readonly string[],
  ): void {
    const now = new Set(errors.map((e) => e.message));
    for (const e of errors) {
      if (this.loggedErrors.has(e.message)) continue;
      const subject = e instanceof DataplaneError ? e.subject : {};
      this.opts.logger.warn({ ...subject, code: (e as { code?: string }).code, full }, e.message);
    }
    this.loggedErrors = now;
    // The first few writes by name: an operator asking "why did this route change" finds it here.
    if (replaced + deleted > 0)
      this.opts.logger.info({ replaced, deleted, full, routes: written }, "routes programmed");
  }

  private describe(r: Route): string {
    return describeRoute(r, (i) => this.links.get(i)?.name);
  }

  private schedule(ms: number): void {
    if (!this.started) return;
    const due = this.opts.clock.now() + ms;
    if (this.timer !== undefined && this.timer.due <= due) return;
    this.timer?.handle.cancel();
    // Nothing is known until the first setDesired: a pass then would delete every route we own
    // (a restarted agent must adopt what the last one left, not flush it).
    if (!this.hasDesired) return;
    const handle = this.opts.clock.setTimer(ms, () => {
      this.timer = undefined;
      this.apply().catch((e: unknown) => {
        this.opts.logger.error({ err: e }, "route table apply failed; full resync next");
        this.needFull = true;
        this.schedule(RETRY_MS);
      });
    });
    this.timer = { handle, due };
  }

  private scheduleRefresh(): void {
    const every = this.cfg.routeRefreshIntervalMs;
    if (!this.started || every <= 0) return;
    this.refreshTimer = this.opts.clock.setTimer(every, () => {
      this.needFull = true;
      this.schedule(0);
      this.scheduleRefresh();
    });
  }

  /** Routes in the mirror, for status and tests. */
  snapshot(): Route[] {
    return [...this.actual.values()];
  }
}

/**
 * Whether a deletion notification is of the route the mirror holds at its key, not of another route that
 * shared the key (IPv6 keeps one per device). The mirror's copy of a route felix wrote without a device
 * and whose own notification never came has no oif: the gateway tells it apart then.
 */
function isDeletionOf(mirror: Route | undefined, deleted: Route): boolean {
  if (mirror === undefined) return false;
  if (mirror.oif === undefined) return mirror.gateway === deleted.gateway;
  return mirror.oif === deleted.oif;
}

function sameDesired(a: DesiredRoute, b: DesiredRoute): boolean {
  return (
    a.type === b.type &&
    a.protocol === b.protocol &&
    a.ifName === b.ifName &&
    a.gateway === b.gateway &&
    !a.onlink === !b.onlink &&
    a.metric === b.metric &&
    a.mtu === b.mtu
  );
}
