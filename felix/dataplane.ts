/**
 * felix's entry point: makes one node's kernel match the cluster. Each pass reads the node's links and
 * addresses (parent interface, host MTU), computes the desired state (model/compute-desired.ts), then
 * converges the tunnel devices, the route table, the workload interfaces and their peering addresses,
 * the ARP/FDB entries and the natOutgoing table, in that order (routes need their devices). Netlink
 * events trigger partial passes, a timer (routeRefreshInterval) full ones. BGP next hops off this node's subnet resolve through the
 * kernel's other routes (routes/host-routes.ts), and a change to a route covering one re-runs the pass.
 * Bad input is reported by name and the rest still applied.
 * `netnsPath` lets one process program another namespace (tests, the lab); in production it is unset.
 */
import type { Logger } from "pino";
import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import type { DataplaneError, NetlinkError } from "./errors.js";
import { formatIp, parseIp } from "./ip.js";
import { LinkAddresses, type LinkAddrResult } from "./managers/link-addresses.js";
import { NatOutgoing, type NftRunner, nftRunner } from "./managers/nat-outgoing.js";
import { syncNeighbours } from "./managers/neighbours.js";
import { globalSysctls, procSysctls, type Sysctls } from "./managers/sysctl.js";
import { ensureIpip, ensureVxlan } from "./managers/tunnel-devices.js";
import { WorkloadIfaces } from "./managers/workload-ifaces.js";
import { computeDesired, isWorkloadIface, resolveConfig, VXLAN_IFACE } from "./model/compute-desired.js";
import type { DesiredState } from "./model/desired.js";
import type { DesiredInputs, FelixConfig } from "./model/inputs.js";
import { computeHostMtu, FALLBACK_HOST_MTU } from "./model/mtu.js";
import type { Addr } from "./netlink/addr-codec.js";
import { NetlinkEvents, type RtnlEvent } from "./netlink/events.js";
import type { Link } from "./netlink/link-codec.js";
import { Rtnetlink, type RtnetlinkApi } from "./netlink/rtnetlink.js";
import { HostRoutes } from "./routes/host-routes.js";
import { type ApplyResult, RouteTable } from "./routes/route-table.js";

/** The cluster as felix sees it; `host` is learned from the kernel, `config` is given at open. */
export type ClusterState = Omit<DesiredInputs, "host" | "config">;

export interface DataplaneOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly config?: Partial<FelixConfig>;
  /** Program the namespace at this path (e.g. /run/netns/node1) instead of the process's own. */
  readonly netnsPath?: string;
  /** Overrides for tests: a netlink fake, an nft runner, a sysctl writer. */
  readonly nl?: RtnetlinkApi;
  readonly nft?: NftRunner;
  readonly sysctls?: Sysctls;
  /** Called after every pass (the agent writes the MTU file and tracks readiness from it). */
  readonly onPass?: (result: PassResult) => void;
}

export interface PassResult {
  readonly desired: DesiredState;
  readonly routes: ApplyResult;
  /** Local workload peering addresses added to and removed from workload interfaces. */
  readonly linkAddresses: Omit<LinkAddrResult, "errors">;
  /** Every problem of this pass, each naming its route, interface or input. */
  readonly errors: readonly (DataplaneError | NetlinkError | Error)[];
}

export class Dataplane {
  readonly routeTable: RouteTable;
  /** The main table's non-BGP routes, that BGP next hops off our subnet resolve through. */
  private readonly hostRoutes: HostRoutes;
  private readonly cfg: FelixConfig;
  private readonly clock: Clock;
  private readonly nl: RtnetlinkApi;
  private readonly ownsNl: Rtnetlink | undefined;
  private readonly nat: NatOutgoing;
  private readonly workloadIfaces: WorkloadIfaces;
  private readonly linkAddresses: LinkAddresses;
  private readonly sysctls: Sysctls;
  private state: ClusterState | undefined;
  private events: NetlinkEvents | undefined;
  private globalDone = false;
  private forceNat = false;
  private running: Promise<PassResult> | undefined;
  private again = false;
  private timer: TimerHandle | undefined;
  private refresh: TimerHandle | undefined;
  private started = false;
  private loggedErrors = new Set<string>();
  /** Result of the most recent pass, for status. */
  last: PassResult | undefined;

  constructor(private readonly opts: DataplaneOptions) {
    this.cfg = resolveConfig(opts.config);
    this.clock = opts.clock ?? systemClock;
    const socketOpts = opts.netnsPath ? { netnsPath: opts.netnsPath } : {};
    this.ownsNl = opts.nl === undefined ? Rtnetlink.open(socketOpts) : undefined;
    this.nl = opts.nl ?? this.ownsNl!;
    this.nat = new NatOutgoing(opts.nft ?? nftRunner(opts.netnsPath));
    this.sysctls = opts.sysctls ?? procSysctls(opts.netnsPath);
    this.workloadIfaces = new WorkloadIfaces(this.sysctls, opts.logger);
    this.linkAddresses = new LinkAddresses(this.nl, (n) => isWorkloadIface(n, this.cfg), opts.logger);
    this.hostRoutes = new HostRoutes(this.cfg.routeTable, this.cfg.bgpRouteProtocol);
    this.routeTable = new RouteTable({
      nl: this.nl,
      clock: this.clock,
      logger: opts.logger.child({ component: "route-table" }),
      config: this.cfg,
      // A covering route of a BGP next hop changed while nobody was told (refresh, overrun): re-resolve.
      onDump: (routes) => {
        if (this.hostRoutes.reset(routes)) this.schedule();
      },
    });
  }

  /** The cluster changed: recompute and converge (on the next tick when started). */
  setState(state: ClusterState): void {
    this.state = state;
    this.schedule();
  }

  /** Subscribes to netlink events and starts the periodic refresh. */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.nl === undefined) {
      this.events = NetlinkEvents.open((evs) => this.onEvents(evs), {
        ...(this.opts.netnsPath ? { netnsPath: this.opts.netnsPath } : {}),
      });
    }
    this.routeTable.start();
    this.scheduleRefresh();
    this.schedule();
  }

  close(): void {
    this.started = false;
    this.timer?.cancel();
    this.refresh?.cancel();
    this.routeTable.stop();
    this.events?.close();
    this.ownsNl?.close();
  }

  private onEvents(evs: RtnlEvent[]): void {
    this.routeTable.handleEvents(evs);
    // A route covering a BGP next hop changed: re-resolve (BIRD's hostentry update, `gateway recursive`).
    if (this.hostRoutes.handleEvents(evs)) this.schedule();
    // Interfaces and addresses feed the desired state (parent, MTU, workload ifaces): recompute.
    if (evs.some((e) => e.kind === "link" || e.kind === "addr" || e.kind === "overrun")) this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.timer !== undefined) return;
    this.timer = this.clock.setTimer(0, () => {
      this.timer = undefined;
      this.apply().catch((e: unknown) => this.opts.logger.error({ err: e }, "dataplane pass failed"));
    });
  }

  private scheduleRefresh(): void {
    const every = this.cfg.routeRefreshIntervalMs;
    if (!this.started || every <= 0) return;
    this.refresh = this.clock.setTimer(every, () => {
      this.forceNat = true;
      this.schedule();
      this.scheduleRefresh();
    });
  }

  /** One full pass; concurrent callers share it and one more pass follows. */
  apply(): Promise<PassResult> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    const run = this.pass().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    });
    this.running = run;
    return run;
  }

  private async pass(): Promise<PassResult> {
    const state = this.state;
    if (state === undefined) throw new Error("Dataplane.apply before setState");
    const log = this.opts.logger;
    const errors: (DataplaneError | NetlinkError | Error)[] = [];
    let links = await this.nl.dumpLinks();
    const addrs = await this.nl.dumpAddrs(0);
    // The host's routes come from the route table's dump (on start and after an overrun) and events.
    try {
      await this.routeTable.refreshMirror();
    } catch (e) {
      errors.push(e as Error);
    }
    const host = { ...this.learnHost(state, links, addrs), routes: this.hostRoutes.list(links) };
    const desired = computeDesired({ ...state, host, config: this.cfg });
    this.hostRoutes.watch(desired.nextHops.map((n) => n.nextHop));
    errors.push(...desired.errors);

    if (!this.globalDone) {
      try {
        const v6 = desired.workloads.some((w) => w.ipv6);
        for (const [path, value] of globalSysctls({ ipv6: v6 })) await this.sysctls.set(path, value);
        this.globalDone = true;
      } catch (e) {
        errors.push(e as Error);
      }
    }

    const vx = await ensureVxlan(this.nl, links, addrs, desired.vxlan, log);
    const ip = await ensureIpip(this.nl, links, addrs, desired.ipip, log);
    errors.push(...vx.errors, ...ip.errors);
    if (vx.changed || ip.changed) links = await this.nl.dumpLinks();

    this.routeTable.syncLinks(links);
    this.routeTable.ownProtocol(this.cfg.bgpRouteProtocol, state.bgpRoutes !== undefined);
    this.routeTable.setDesired(desired.routes);
    const routes = await this.routeTable.apply();
    errors.push(...routes.errors);

    errors.push(...(await this.workloadIfaces.apply(desired.workloads, links)));
    const { errors: addrErrors, ...linkAddresses } = await this.linkAddresses.apply(desired, links, addrs);
    errors.push(...addrErrors);
    const neigh = await syncNeighbours(
      this.nl,
      links,
      desired,
      (n) => n === VXLAN_IFACE || isWorkloadIface(n, this.cfg),
    );
    errors.push(...neigh.errors);

    try {
      await this.nat.apply(desired.nat, this.forceNat);
      this.forceNat = false;
    } catch (e) {
      errors.push(e as Error);
    }

    this.report(errors.filter((e) => !routes.errors.includes(e as never))); // the route table logs its own
    const result: PassResult = { desired, routes, linkAddresses, errors };
    this.last = result;
    this.opts.onPass?.(result);
    return result;
  }

  /** Parent interface = the one holding this node's IP; host MTU as Calico detects it. */
  private learnHost(
    state: ClusterState,
    links: readonly Link[],
    addrs: readonly Addr[],
  ): DesiredInputs["host"] {
    const mtu = computeHostMtu(links, this.cfg.mtuIfacePattern) ?? FALLBACK_HOST_MTU;
    const text = state.thisNode.ipv4Address ?? state.thisNode.ipv6Address;
    let parentIface: string | undefined;
    if (text !== undefined) {
      try {
        const ip = formatIp(parseIp(text.split("/")[0]!));
        const a = addrs.find((x) => x.address === ip);
        parentIface = a && links.find((l) => l.index === a.index)?.name;
      } catch {
        // computeDesired reports the unparsable address.
      }
    }
    return { hostMtu: mtu, ...(parentIface !== undefined ? { parentIface } : {}) };
  }

  private report(errors: readonly Error[]): void {
    const now = new Set(errors.map((e) => e.message));
    for (const e of errors) {
      if (this.loggedErrors.has(e.message)) continue;
      const subject = (e as { subject?: object }).subject ?? {};
      this.opts.logger.warn({ ...subject, code: (e as { code?: string }).code }, e.message);
    }
    this.loggedErrors = now;
  }
}
