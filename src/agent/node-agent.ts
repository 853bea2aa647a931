/**
 * The node agent: calico-node's job (startup + confd + BIRD + Felix) in one process. Start: register the
 * Node, create default pools, list every kind it reads (cluster-cache.ts), give the node its tunnel
 * addresses, start felix and then the BGP speaker from the first complete view, so nothing is computed
 * from half a cluster. After that every datastore change recomputes the speaker's configuration
 * (bgp-plan.ts; applied with Speaker.reconfigure, which touches only the peers a change names) and
 * felix's cluster state (felix-state.ts); every best-path change updates the learned routes felix
 * programs. Felix takes ownership of BGP's routes (protocol 12) only once every session has sent its
 * End-of-RIB or a bound has passed, so a restarted agent adopts what the last one left instead of
 * flushing it. A datastore that goes away changes nothing here (the caches keep their view); I/O at
 * start is retried with backoff, reported, and readiness stays false. Stop: Cease to every peer and
 * leave the kernel routes in place (peers keep ours under graceful restart; see docs/agent.md).
 */

import { writeFile } from "node:fs/promises";
import type { Speaker as SpeakerType } from "../../bgp/speaker/speaker.js";
import { Speaker } from "../../bgp/speaker/speaker.js";
import type { PeerStatus } from "../../bgp/speaker/views.js";
import { Dataplane, type PassResult } from "../../felix/dataplane.js";
import type { FelixConfig } from "../../felix/model/inputs.js";
import type { Ipam } from "../../ipam/client.js";
import { cidrContains, cidrCovers, parseAddr, parseCidr } from "../../ipam/ip.js";
import type { BlockSpec } from "../../ipam/model.js";
import { borrowedAddresses as borrowedFromBlocks } from "../../ipam/usage.js";
import type { BGPConfigurationSpec, CidrBlock } from "../api/bgpconfig.js";
import type { BGPPeerSpec } from "../api/bgppeer.js";
import type { BlockAffinitySpec } from "../api/block-affinity.js";
import type { CalicoNodeStatusSpec } from "../api/calico-node-status.js";
import type { Resource } from "../api/meta.js";
import { type Cidr, parseCidrOrIp } from "../api/net.js";
import type { Datastore } from "../datastore/types.js";
import { type Clock, delay, type TimerHandle } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import {
  type AffinityInput,
  computeBgpPlan,
  EXCLUDE_FROM_LB_LABEL,
  type PeerProblem,
  type WorkloadPeeringAddress,
} from "./bgp-plan.js";
import type { BirdView } from "./bird-cli.js";
import { ClusterCache } from "./cluster-cache.js";
import {
  blockRouteMode,
  computeClusterState,
  type NetworkingBackend,
  workloadInputs,
} from "./felix-state.js";
import { LearnedRoutes } from "./learned-routes.js";
import { localWorkloadsOf } from "./local-workload-peers.js";
import {
  ensureDefaultPools,
  type NodeIdentity,
  reconcileTunnels,
  registerNode,
  tunnelNeeds,
} from "./node-registration.js";
import { nodeStatus, statusesDue } from "./node-status.js";
import { computeServiceRoutes, endpointSliceInput, serviceInput } from "./service-routes.js";

export interface AgentOptions {
  readonly ds: Datastore;
  readonly ipam: Ipam;
  readonly identity: NodeIdentity;
  readonly backend: NetworkingBackend;
  /** IPPools to create when the cluster has none of their family (empty with NO_DEFAULT_POOLS). */
  readonly defaultPools: readonly Resource[];
  /** CALICO_ROUTER_ID resolved (hash already applied). */
  readonly routerId?: string;
  /** Namespace of the Secrets BGPPeer passwords name (the agent's own). */
  readonly secretNamespace: string;
  /** CALICO_K8S_NODE_REF: this node's name in EndpointSlices when it differs from the Calico node name. */
  readonly kubernetesNodeName?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Program and open sockets in this namespace instead of the process's own (tests, lab). */
  readonly netnsPath?: string;
  readonly felixConfig?: Partial<FelixConfig>;
  /** Where the pod MTU is written for the CNI plugin (Calico: /var/lib/calico/mtu). */
  readonly mtuFile?: string;
  /** Longest wait for End-of-RIB before felix owns BGP routes (default 30 s; Calico #7144 asks for a bound). */
  readonly bgpSyncBoundMs?: number;
  /** Pause between datastore attempts at start: doubles from `initial` up to `max` (default 1..30 s). */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number };
  /** At most one recomputation per this many ms in a burst of datastore events (default 10 ms). */
  readonly debounceMs?: number;
}

export interface AgentCounters {
  recomputes: number;
  reconfigures: number;
  sessionResets: number;
  felixPasses: number;
  routeWrites: number;
  startAttempts: number;
}

export interface AgentStatus {
  readonly node: string;
  readonly phase: "starting" | "running" | "stopping" | "stopped";
  readonly live: boolean;
  readonly ready: boolean;
  /** Why not ready, in words. */
  readonly notReady: readonly string[];
  readonly lastStartError?: string;
  readonly backend: NetworkingBackend;
  readonly peers: readonly PeerStatus[];
  readonly problems: readonly PeerProblem[];
  readonly bgpSynced: boolean;
  readonly learnedRoutes: number;
  readonly felix?: {
    readonly passes: number;
    readonly routes: number;
    readonly lastErrors: readonly string[];
    readonly podMtu: number;
  };
  readonly datastore: { readonly events: number; readonly errors: number };
  readonly counters: AgentCounters;
}

/** Reported as the BGP daemon version in CalicoNodeStatus. */
export const AGENT_VERSION = "tabby 0.1.0";

const isCode = (e: unknown, code: string): boolean => (e as { code?: string }).code === code;

export class NodeAgent {
  private phase: AgentStatus["phase"] = "starting";
  private cache: ClusterCache | undefined;
  private dataplane: Dataplane | undefined;
  private speaker: SpeakerType | undefined;
  private readonly learned = new LearnedRoutes();
  /** When the last recomputation started (clock.now()), for the throttle in schedule(). */
  private lastPassAt = Number.NEGATIVE_INFINITY;
  /** Routes to BGP peers via their reachableBy gateway, from the last BGP plan. */
  private staticRoutes: { dst: string; nextHop: string }[] = [];
  /** localWorkloadPeeringIPV4/6 per local BGP peer's interface, from the last BGP plan; felix programs them. */
  private workloadPeeringAddresses: readonly WorkloadPeeringAddress[] = [];
  private bgpSynced = false;
  private syncDeadline = 0;
  private syncTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;
  private readonly startedAt: number;
  private lastReconfiguredAt: number | undefined;
  private problems: readonly PeerProblem[] = [];
  private loggedProblems = new Set<string>();
  private secrets = new Map<string, Readonly<Record<string, string>>>();
  private secretsStale = true;
  private tunnelsStale = true;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private lastPass: PassResult | undefined;
  private writtenMtu: number | undefined;
  private lastStartError: string | undefined;
  readonly counters: AgentCounters = {
    recomputes: 0,
    reconfigures: 0,
    sessionResets: 0,
    felixPasses: 0,
    routeWrites: 0,
    startAttempts: 0,
  };

  constructor(private readonly opts: AgentOptions) {
    this.startedAt = opts.clock.wallTime();
  }

  get nodeName(): string {
    return this.opts.identity.name;
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  /** Retries `step` on datastore I/O errors with backoff; other errors are the caller's. */
  private async withRetry<T>(what: string, step: () => Promise<T>): Promise<T> {
    const { initialMs, maxMs } = this.opts.retry ?? { initialMs: 1000, maxMs: 30_000 };
    let pause = initialMs;
    for (;;) {
      this.counters.startAttempts++;
      try {
        return await step();
      } catch (e) {
        if (this.phase === "stopping" || this.phase === "stopped") throw e;
        const transient =
          isCode(e, "DATASTORE_IO") || isCode(e, "DATASTORE_CONFLICT") || isCode(e, "IPAM_DATASTORE");
        if (!transient) throw e;
        this.lastStartError = `${what}: ${(e as Error).message}`;
        this.log.warn({ err: e, retryInMs: pause }, `${what} failed; datastore not reachable, retrying`);
        await delay(this.opts.clock, pause);
        pause = Math.min(maxMs, pause * 2);
      }
    }
  }

  async start(): Promise<void> {
    const { ds, identity } = this.opts;
    await this.withRetry("register node", () => registerNode(ds, identity));
    this.log.info({ ipv4: identity.ipv4, ipv6: identity.ipv6, asn: identity.asn }, "node registered");
    if (this.opts.defaultPools.length > 0) {
      await this.withRetry("default pools", () => ensureDefaultPools(ds, this.opts.defaultPools, this.log));
    }
    const cache = new ClusterCache(ds, {
      // confd's route generator reads Services from the Kubernetes API; other datastores have none.
      services: ds.type === "kubernetes" && this.opts.backend === "bird",
      clock: this.opts.clock,
      logger: this.log,
      onChange: (kind) => {
        if (kind === "CalicoNodeStatus") return; // read by the status loop; our own writes land here too
        if (kind === "IPPool") this.tunnelsStale = true;
        if (kind === "BGPPeer") this.secretsStale = true;
        this.schedule();
      },
    });
    await this.withRetry("initial datastore sync", () => cache.sync());
    this.cache = cache;
    await this.reconcileTunnelsNow();
    this.lastStartError = undefined;
    this.dataplane = new Dataplane({
      logger: this.log.child({ component: "felix" }),
      clock: this.opts.clock,
      config: { blockRoutes: blockRouteMode(this.opts.backend), ...this.opts.felixConfig },
      ...(this.opts.netnsPath !== undefined ? { netnsPath: this.opts.netnsPath } : {}),
      onPass: (r) => this.onFelixPass(r),
    });
    this.syncDeadline = this.opts.clock.now() + (this.opts.bgpSyncBoundMs ?? 30_000);
    await this.recompute();
    this.dataplane.start();
    this.phase = "running";
    this.watchBgpSync();
    this.reportNodeStatus();
  }

  /** Fills the CalicoNodeStatus resources that ask for this node, each on its own period. */
  private reportNodeStatus(): void {
    if (this.phase !== "running") return;
    const cache = this.cache;
    const now = this.opts.clock.wallTime();
    const due = cache === undefined ? [] : statusesDue(cache.list("CalicoNodeStatus"), this.nodeName, now);
    void (async () => {
      for (const r of due) {
        const s = this.status();
        const status = nodeStatus(r.spec as CalicoNodeStatusSpec, {
          nodeName: this.nodeName,
          ready: s.ready,
          ...(this.speaker !== undefined ? { routerId: this.speaker.cfg.routerId } : {}),
          startedAt: this.startedAt,
          ...(this.lastReconfiguredAt !== undefined ? { lastReconfiguredAt: this.lastReconfiguredAt } : {}),
          peers: s.peers,
          routes: {
            ipv4: this.speaker?.ribEntries("ipv4") ?? [],
            ipv6: this.speaker?.ribEntries("ipv6") ?? [],
          },
          now,
          version: AGENT_VERSION,
        });
        const write = this.opts.ds.updateStatus?.bind(this.opts.ds) ?? this.opts.ds.update.bind(this.opts.ds);
        try {
          await write({ ...r, status });
        } catch (e) {
          // A conflict or an outage: the next tick tries again with what the cache has by then.
          this.log.debug({ err: e, resource: r.metadata.name }, "CalicoNodeStatus not written");
        }
      }
    })().finally(() => {
      this.statusTimer = this.opts.clock.setTimer(1000, () => this.reportNodeStatus());
    });
  }

  private async reconcileTunnelsNow(): Promise<void> {
    const cache = this.cache;
    if (cache === undefined || !this.tunnelsStale) return;
    this.tunnelsStale = false;
    const me = cache.get("Node", this.nodeName);
    const needs = tunnelNeeds(cache.list("IPPool"), me?.metadata.labels ?? {}, this.opts.backend);
    try {
      await reconcileTunnels(this.opts.ds, this.opts.ipam, this.nodeName, needs);
    } catch (e) {
      // A pool we cannot allocate from is reported; the node works on without that tunnel address.
      this.tunnelsStale = isCode(e, "DATASTORE_IO");
      this.log.error({ err: e, ...needs }, "tunnel addresses not assigned");
    }
  }

  /**
   * A throttle, not a delay: a change after a quiet spell is computed at once (a new block reaches
   * the peers without waiting), and a burst of changes costs at most one pass per debounceMs.
   */
  private schedule(): void {
    if (this.timer !== undefined || this.phase === "stopping" || this.phase === "stopped") return;
    const wait = Math.max(0, this.lastPassAt + (this.opts.debounceMs ?? 10) - this.opts.clock.now());
    this.timer = this.opts.clock.setTimer(wait, () => {
      this.timer = undefined;
      void this.recompute();
    });
  }

  /** One recomputation; concurrent calls share it and one more follows. */
  recompute(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.lastPassAt = this.opts.clock.now();
    this.running = this.pass()
      .catch((e: unknown) => this.log.error({ err: e }, "recompute failed"))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule();
        }
      });
    return this.running;
  }

  private async pass(): Promise<void> {
    const cache = this.cache;
    if (cache === undefined) return;
    this.counters.recomputes++;
    await this.reconcileTunnelsNow();
    await this.refreshSecrets(cache.list("BGPPeer"));
    const workloads = cache.list("WorkloadEndpoint");
    // A block whose pool is gone is not announced (Calico's calicoctl releases those affinities when
    // the pool is deleted; the agent does not wait for that to stop attracting traffic to it).
    // Resources come from outside: a field of the wrong type must not stop every recomputation.
    const text = (v: unknown) => (typeof v === "string" ? v : "");
    const pools = cache
      .list("IPPool")
      .flatMap((p) => parseCidr(text((p.spec as { cidr?: unknown })?.cidr)) ?? []);
    const inPool = (cidr: string) => {
      const c = parseCidr(text(cidr));
      return c !== undefined && pools.some((p) => cidrCovers(p, c));
    };
    const affinities: AffinityInput[] = cache
      .list("BlockAffinity")
      .map((a) => {
        const s = a.spec as BlockAffinitySpec;
        return { cidr: s.cidr, node: s.node, ...(s.state ? { state: s.state } : {}) };
      })
      .filter((a) => inPool(a.cidr));
    if (this.opts.backend === "bird") {
      const plan = computeBgpPlan({
        nodeName: this.nodeName,
        nodes: cache.list("Node"),
        peers: cache.list("BGPPeer"),
        configs: cache.list("BGPConfiguration"),
        filters: cache.list("BGPFilter"),
        pools: cache.list("IPPool"),
        affinities,
        borrowed: borrowedAddresses(this.nodeName, workloads, affinities, cache.list("IPAMBlock")).filter(
          (ip) => inPool(`${ip}/${ip.includes(":") ? 128 : 32}`),
        ),
        secrets: this.secrets,
        serviceAddresses: this.serviceAddresses(cache),
        localWorkloads: localWorkloadsOf(this.nodeName, workloads),
        ...(this.opts.routerId !== undefined ? { routerId: this.opts.routerId } : {}),
      });
      this.reportProblems(plan.problems);
      this.staticRoutes = (plan.staticRoutes ?? []).map((r) => ({ dst: r.prefix, nextHop: r.via }));
      this.workloadPeeringAddresses = plan.workloadPeeringAddresses ?? [];
      await this.applyBgp(plan.config);
    }
    this.pushFelix();
  }

  /** Per-service /32s and /128s for this node (service-routes.ts), from the default BGPConfiguration's ranges. */
  private serviceAddresses(cache: ClusterCache): Cidr[] {
    const services = cache.list("Service");
    if (services.length === 0) return [];
    const spec = (cache.get("BGPConfiguration", "default")?.spec ?? {}) as BGPConfigurationSpec;
    const ranges = (list: readonly CidrBlock[] | undefined) =>
      (list ?? []).flatMap((b) => parseCidrOrIp(b.cidr ?? "") ?? []);
    const me = cache.get("Node", this.nodeName);
    return computeServiceRoutes(
      services.map(serviceInput),
      cache.list("EndpointSlice").flatMap((s) => endpointSliceInput(s) ?? []),
      {
        nodeName: this.opts.kubernetesNodeName ?? this.nodeName,
        excluded: me?.metadata.labels?.[EXCLUDE_FROM_LB_LABEL] === "true",
        clusterCidrs: ranges(spec.serviceClusterIPs),
        externalCidrs: ranges(spec.serviceExternalIPs),
        loadBalancerCidrs: ranges(spec.serviceLoadBalancerIPs),
        aggregate: spec.serviceLoadBalancerAggregation !== "Disabled",
      },
    ).map((r) => r.cidr);
  }

  private async applyBgp(config: ReturnType<typeof computeBgpPlan>["config"]): Promise<void> {
    if (config === undefined) {
      if (this.speaker !== undefined) {
        await this.speaker.stop("BGP disabled on this node");
        this.speaker = undefined;
      }
      return;
    }
    if (this.speaker === undefined) {
      const bgpLog = this.log.child({ component: "bgp" });
      const speaker = new Speaker(config, {
        clock: this.opts.clock,
        ...(this.opts.netnsPath !== undefined ? { netnsPath: this.opts.netnsPath } : {}),
        log: (level, msg, fields) => bgpLog[level](fields, msg),
      });
      speaker.onBestChange((_f, key, best) => {
        if (this.learned.update(key, best)) this.pushFelixSoon();
      });
      await speaker.start();
      this.speaker = speaker;
      return;
    }
    const r = await this.speaker.reconfigure(config);
    if (
      r.added.length + r.removed.length + r.reset.length + r.updated.length + r.originated + r.withdrawn >
      0
    ) {
      this.counters.reconfigures++;
      this.lastReconfiguredAt = this.opts.clock.wallTime();
      this.counters.sessionResets += r.reset.length;
      this.log.info(
        {
          added: r.added,
          removed: r.removed,
          reset: r.reset,
          updated: r.updated,
          originated: r.originated,
          withdrawn: r.withdrawn,
        },
        "BGP configuration changed",
      );
    }
  }

  private felixTimer: TimerHandle | undefined;
  private pushFelixSoon(): void {
    if (this.felixTimer !== undefined) return;
    this.felixTimer = this.opts.clock.setTimer(0, () => {
      this.felixTimer = undefined;
      this.pushFelix();
    });
  }

  private pushFelix(): void {
    const cache = this.cache;
    if (cache === undefined || this.dataplane === undefined) return;
    this.dataplane.setState(
      computeClusterState({
        nodeName: this.nodeName,
        nodes: cache.list("Node"),
        pools: cache.list("IPPool"),
        blocks: cache.list("IPAMBlock"),
        workloads: cache.list("WorkloadEndpoint"),
        bgpRoutes: this.opts.backend !== "bird" || this.bgpSynced ? this.learned.list() : undefined,
        staticRoutes: this.staticRoutes,
        workloadPeeringAddresses: this.workloadPeeringAddresses,
        bgpConfigurations: cache.list("BGPConfiguration"),
      }),
    );
  }

  /** Polls session state once a second until every session has sent End-of-RIB, or the bound passes. */
  private watchBgpSync(): void {
    if (this.bgpSynced || this.phase !== "running") return;
    const peers = this.speaker?.peerStatus() ?? [];
    const live = peers.filter((p) => p.state === "Established");
    const done =
      this.opts.backend !== "bird" ||
      (this.speaker !== undefined &&
        peers.length > 0 &&
        peers.every((p) => p.state === "Established") &&
        live.every((p) => p.families.every((f) => p.endOfRibReceived.includes(f))));
    if (done || this.opts.clock.now() >= this.syncDeadline) {
      this.bgpSynced = true;
      this.log.info(
        { learned: this.learned.size, byEndOfRib: done },
        done ? "BGP initial sync complete" : "BGP initial sync bound reached; programming what is known",
      );
      this.pushFelix();
      return;
    }
    this.syncTimer = this.opts.clock.setTimer(1000, () => this.watchBgpSync());
  }

  private onFelixPass(r: PassResult): void {
    this.lastPass = r;
    this.counters.felixPasses++;
    this.counters.routeWrites += r.routes.replaced + r.routes.deleted;
    const mtu = r.desired.podMtu;
    if (this.opts.mtuFile !== undefined && mtu !== this.writtenMtu) {
      this.writtenMtu = mtu;
      writeFile(this.opts.mtuFile, `${mtu}\n`).catch((e: unknown) =>
        this.log.error({ err: e, file: this.opts.mtuFile }, "cannot write the MTU file"),
      );
    }
  }

  private async refreshSecrets(peers: readonly Resource[]): Promise<void> {
    if (!this.secretsStale) return;
    this.secretsStale = false;
    const names = new Set<string>();
    for (const p of peers) {
      const ref = (p.spec as BGPPeerSpec).password?.secretKeyRef;
      if (ref?.name) names.add(ref.name);
    }
    for (const c of this.cache?.list("BGPConfiguration") ?? []) {
      const ref = (c.spec as { nodeMeshPassword?: { secretKeyRef?: { name?: string } } }).nodeMeshPassword
        ?.secretKeyRef;
      if (ref?.name) names.add(ref.name);
    }
    const next = new Map<string, Readonly<Record<string, string>>>();
    for (const name of names) {
      if (this.opts.ds.readSecret === undefined) continue;
      try {
        next.set(name, await this.opts.ds.readSecret(this.opts.secretNamespace, name));
      } catch (e) {
        if (!isCode(e, "DATASTORE_NOT_FOUND")) {
          // Keep the last known value: a datastore hiccup must not take a session down.
          const had = this.secrets.get(name);
          if (had !== undefined) next.set(name, had);
          this.secretsStale = true;
        }
      }
    }
    this.secrets = next;
  }

  private reportProblems(problems: readonly PeerProblem[]): void {
    this.problems = problems;
    const now = new Set(problems.map((p) => `${p.name}: ${p.reason}`));
    for (const p of problems) {
      const key = `${p.name}: ${p.reason}`;
      if (!this.loggedProblems.has(key)) this.log.warn({ peer: p.address, session: p.name }, p.reason);
    }
    this.loggedProblems = now;
  }

  status(): AgentStatus {
    const peers = this.speaker?.peerStatus() ?? [];
    const notReady: string[] = [];
    if (this.phase !== "running") notReady.push(`agent ${this.phase}`);
    if (this.lastStartError !== undefined) notReady.push(this.lastStartError);
    if (this.lastPass === undefined) notReady.push("felix has not programmed the dataplane yet");
    if (this.opts.backend === "bird") {
      // Calico's readiness check (node/pkg/health/bird) looks at Mesh_, Global_ and Node_ sessions only:
      // a workload that has not dialled yet does not make the node unready.
      const down = peers
        .filter((p) => p.state !== "Established" && !p.name.startsWith("Local_Workload_"))
        .map((p) => p.name);
      if (down.length > 0) notReady.push(`BGP not established with ${down.join(", ")}`);
    }
    const pass = this.lastPass;
    return {
      node: this.nodeName,
      phase: this.phase,
      live: this.phase !== "stopped",
      ready: notReady.length === 0,
      notReady,
      ...(this.lastStartError !== undefined ? { lastStartError: this.lastStartError } : {}),
      backend: this.opts.backend,
      peers,
      problems: this.problems,
      bgpSynced: this.bgpSynced,
      learnedRoutes: this.learned.size,
      ...(pass !== undefined
        ? {
            felix: {
              passes: this.counters.felixPasses,
              routes: pass.desired.routes.length,
              lastErrors: pass.errors.map((e) => e.message),
              podMtu: pass.desired.podMtu,
            },
          }
        : {}),
      datastore: { events: this.cache?.events ?? 0, errors: this.cache?.errors ?? 0 },
      counters: { ...this.counters },
    };
  }

  get bgp(): SpeakerType | undefined {
    return this.speaker;
  }

  /** What the BIRD control socket of one family shows (bird-control.ts): its sessions and Loc-RIB. */
  birdView(family: "ipv4" | "ipv6"): BirdView {
    const speaker = this.speaker;
    const sessions = (speaker?.peerStatus() ?? []).filter(
      (p) => p.address.includes(":") === (family === "ipv6"),
    );
    return {
      routerId: speaker?.cfg.routerId ?? this.opts.routerId,
      bootedAt: this.startedAt,
      reconfiguredAt: this.lastReconfiguredAt ?? this.startedAt,
      gracefulRestartWaiting: sessions.filter(
        (p) => p.state === "Established" && !p.families.every((f) => p.endOfRibReceived.includes(f)),
      ).length,
      sessions,
      routes: (prefix) => speaker?.ribEntries(family, prefix) ?? [],
    };
  }

  /** SIGTERM: Cease to every peer; kernel routes stay (docs/agent.md says why). */
  async stop(message = "node agent shutting down"): Promise<void> {
    if (this.phase === "stopped") return;
    this.phase = "stopping";
    this.timer?.cancel();
    this.syncTimer?.cancel();
    this.statusTimer?.cancel();
    this.felixTimer?.cancel();
    this.cache?.close();
    await this.running;
    await this.speaker?.stop(message);
    this.dataplane?.close();
    this.phase = "stopped";
  }
}

/**
 * This node's workload addresses that are not inside one of its own affine blocks: from its
 * WorkloadEndpoints, and from the blocks' allocations whose `node` attribute names this node (what
 * Felix routes by), which also covers workloads with no WorkloadEndpoint (a runtime without
 * Kubernetes on the Kubernetes datastore). Calico's BIRD finds the same addresses as the kernel routes
 * to its workloads.
 */
export function borrowedAddresses(
  nodeName: string,
  weps: readonly Resource[],
  affinities: readonly AffinityInput[],
  blocks: readonly Resource[] = [],
): string[] {
  const mine = affinities.filter((a) => a.node === nodeName).map((a) => a.cidr);
  const out = new Set<string>();
  for (const w of workloadInputs(nodeName, weps)) {
    for (const net of w.ipNetworks) {
      const ip = net.split("/")[0]!;
      if (!mine.some((c) => cidrHolds(c, ip))) out.add(ip);
    }
  }
  for (const b of blocks) {
    let found: ReturnType<typeof borrowedFromBlocks>["borrowed"];
    try {
      found = borrowedFromBlocks([b.spec as BlockSpec]).borrowed;
    } catch {
      continue; // A malformed block is felix's to report; it holds nothing to announce.
    }
    for (const x of found)
      if (x.borrowingNode === nodeName && !mine.some((c) => cidrHolds(c, x.address))) out.add(x.address);
  }
  return [...out];
}

function cidrHolds(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const a = parseAddr(ip);
  return c !== undefined && a !== undefined && cidrContains(c, a);
}
