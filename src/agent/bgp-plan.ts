/**
 * The BGP speaker configuration for this node, computed from the Calico resources the agent caches
 * (Node, BGPPeer, BGPConfiguration, BGPFilter, IPPool, block affinities, borrowed addresses, Secrets):
 * what confd renders into bird.cfg / bird_aggr.cfg / bird_ipam.cfg (calico-bgp-cni.md §1), as one
 * SpeakerConfig for both families. Identity and timers (§1.2-1.3, BIRD defaults: hold 240 s, connect
 * retry 5 s, error wait 5..30 s, GR 120 s; ADD-PATH receive as `add paths on`), sessions (bgp-peers.ts),
 * one import and one export policy per (filters, iBGP/eBGP) (bgp-filters.ts + bgp-exports.ts), and the
 * originated prefixes with LOCAL_PREF 2^31-1-1024 = 2147482623, as Calico v3.32+ exports local routes.
 * Choices: a session whose Secret or key is missing, or whose filter has a Reject rule we cannot
 * evaluate, is configured `shutdown: true` (it still shows in status) and listed in `problems`; a
 * resource too broken to give a session (bad peerIP, AS) is left out and listed. Nothing here throws
 * for bad resources. Pure: no clock, no I/O. Does not program the kernel (staticRoutes is for the agent).
 */
import type { Policy, Rule } from "../../bgp/policy/policy.js";
import type { PeerConfig, SpeakerConfig } from "../../bgp/speaker/config.js";
import { parseAsNumber } from "../api/asn.js";
import { BGP_DEFAULTS, type BGPConfigurationSpec, type CidrBlock } from "../api/bgpconfig.js";
import type { BGPFilterSpec } from "../api/bgpfilter.js";
import { parseDuration } from "../api/duration.js";
import type { IPPoolSpec } from "../api/ippool.js";
import type { Resource } from "../api/meta.js";
import { bitsOf, type Cidr, formatIp, networkOf, parseCidr, parseCidrOrIp, parseIp } from "../api/net.js";
import type { NodeSpec } from "../api/node.js";
import type { BGPPassword } from "../api/secret-ref.js";
import {
  type Advertisement,
  calicoExportRules,
  computeOriginate,
  resolveAdvertisements,
} from "./bgp-exports.js";
import { BIRD_INT_MAX, filterRules } from "./bgp-filters.js";
import { computeSessions, type NodeView, type Session } from "./bgp-peers.js";
import type { LocalWorkload, LocalWorkloadPeering } from "./local-workload-peers.js";
import { longLivedStaleTime } from "./peer-annotations.js";

export interface AffinityInput {
  readonly cidr: string;
  readonly node: string;
  /** BlockAffinity spec.state: "confirmed" | "pending" | "pendingDeletion" | undefined */
  readonly state?: string;
}

export interface BgpResourceSet {
  readonly nodeName: string;
  /** projectcalico.org/v3 Node resources (src/api/node.ts), including this node. */
  readonly nodes: readonly Resource[];
  readonly peers: readonly Resource[];
  /** BGPConfiguration: "default" and "node.<nodeName>" are the ones that apply. */
  readonly configs: readonly Resource[];
  readonly filters: readonly Resource[];
  readonly pools: readonly Resource[];
  /** All block affinities (this node's are the ones that matter for exports). */
  readonly affinities: readonly AffinityInput[];
  /** Addresses (no prefix length) of this node's workloads that lie in blocks NOT affine to this node (borrowed): exported as /32 or /128. */
  readonly borrowed: readonly string[];
  /** Secret data by Secret name (the agent reads Secrets from its own namespace); a missing name = Secret not found. */
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Per-service /32s and /128s this node announces (service-routes.ts), from Services and EndpointSlices. */
  readonly serviceAddresses?: readonly Cidr[];
  /** CALICO_ROUTER_ID as already resolved by startup (an IPv4 dotted quad); undefined = use the node's IPv4. */
  readonly routerId?: string;
  /** This node's WorkloadEndpoints (labels, addresses), for BGPPeer.localWorkloadSelector. */
  readonly localWorkloads?: readonly LocalWorkload[];
}

export interface PeerProblem {
  /** The session name (`Global_10_0_0_1`) or, when there is no session, the resource ("BGPPeer x"). */
  readonly name: string;
  /** The peer address when known, else "". */
  readonly address: string;
  readonly reason: string;
  /** shutdown: configured with `shutdown: true`; omitted: no session; ignored: a rule or field is left out. */
  readonly effect?: "shutdown" | "omitted" | "ignored";
}

export interface StaticRoute {
  readonly prefix: string;
  readonly via: string;
}

export interface BgpPlan {
  /** undefined when this node has neither an IPv4 nor an IPv6 BGP address (BGP off, like confd's "IPv4 disabled on this node"). */
  readonly config: SpeakerConfig | undefined;
  /** Peers (and resources) that could not be configured as written; see PeerProblem.effect. */
  readonly problems: readonly PeerProblem[];
  /** BGPPeer.reachableBy: a /32 or /128 route to the peer via the gateway (confd's bird_aggr static). */
  readonly staticRoutes?: readonly StaticRoute[];
  /**
   * BGPConfiguration localWorkloadPeeringIPV4/6 on the host side of each workload that peers with this
   * node (Felix's endpoint manager puts it there, scope link): the address the workload dials.
   */
  readonly workloadPeeringAddresses?: readonly WorkloadPeeringAddress[];
}

export interface WorkloadPeeringAddress {
  readonly ifName: string;
  readonly address: string;
}

const NORMAL_ROUTE_PRIORITY = 1024;
export const EXCLUDE_FROM_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
/** BIRD 1.6 / Calico template timers (calico-bgp-cni.md §1.3). */
const TIMERS = {
  holdTimeSec: 240,
  connectRetrySec: 5,
  idleHoldSec: { initial: 5, max: 30 },
  gracefulRestart: { restartTimeSec: 120 },
} as const;

const strip = (text: string | undefined): { ok: string | undefined } | { bad: string } => {
  if (text === undefined || text === "") return { ok: undefined };
  const c = parseCidrOrIp(text);
  return c === undefined ? { bad: text } : { ok: formatIp({ family: c.family, value: c.addr }) };
};

function nodeViews(r: BgpResourceSet, problem: (p: PeerProblem) => void): NodeView[] {
  const listenPorts = new Map<string, number>();
  for (const c of r.configs) {
    const port = (c.spec as BGPConfigurationSpec | undefined)?.listenPort;
    if (c.metadata.name.startsWith("node.") && typeof port === "number" && port > 0)
      listenPorts.set(c.metadata.name.slice(5), port);
  }
  return r.nodes.map((n) => {
    const name = n.metadata.name;
    const bgp = (n.spec as NodeSpec | undefined)?.bgp ?? {};
    const where = `Node ${name}`;
    const addr = (field: "ipv4Address" | "ipv6Address", family: 4 | 6): string | undefined => {
      const a = strip(bgp[field]);
      const fam = "ok" in a && a.ok !== undefined && a.ok.includes(":") !== (family === 6);
      if ("bad" in a || fam) {
        problem({
          name: where,
          address: "",
          reason: `${where}: spec.bgp.${field}: ${JSON.stringify(bgp[field])} is not an IPv${family} address`,
          effect: "ignored",
        });
        return undefined;
      }
      return a.ok;
    };
    let asn: number | undefined;
    if (bgp.asNumber !== undefined && bgp.asNumber !== null) {
      const a = parseAsNumber(bgp.asNumber);
      if ("rule" in a)
        problem({
          name: where,
          address: "",
          reason: `${where}: spec.bgp.asNumber: ${a.rule}`,
          effect: "ignored",
        });
      else asn = a.asn;
    }
    const v4 = addr("ipv4Address", 4);
    const v6 = addr("ipv6Address", 6);
    const port = listenPorts.get(name);
    return {
      name,
      labels: n.metadata.labels ?? {},
      ...(v4 !== undefined ? { v4 } : {}),
      ...(v6 !== undefined ? { v6 } : {}),
      ...(asn !== undefined ? { asn } : {}),
      ...(bgp.routeReflectorClusterID ? { clusterId: bgp.routeReflectorClusterID } : {}),
      ...(port !== undefined ? { listenPort: port } : {}),
    };
  });
}

function secondsOf(
  raw: string | undefined,
  where: string,
  problem: (p: PeerProblem) => void,
): number | undefined {
  if (raw === undefined) return undefined;
  const ns = parseDuration(raw);
  if (ns === undefined || ns < 0n) {
    problem({
      name: where,
      address: "",
      reason: `${where}: ${JSON.stringify(raw)} is not a duration`,
      effect: "ignored",
    });
    return undefined;
  }
  return Math.round(Number(ns) / 1e9); // confd: int(math.Round(d.Seconds()))
}

/** A Secret key's value, or why there is none (undefined reason = optional and absent). */
function resolvePassword(
  ref: BGPPassword | undefined,
  secrets: BgpResourceSet["secrets"],
): { password?: string; reason?: string } {
  const sel = ref?.secretKeyRef;
  if (sel === undefined) return {};
  const name = sel.name ?? "";
  const data = secrets.get(name);
  if (data === undefined) return sel.optional ? {} : { reason: `Secret ${name} not found` };
  const value = Object.hasOwn(data, sel.key) ? data[sel.key] : undefined;
  if (value === undefined) return sel.optional ? {} : { reason: `key ${sel.key} not in Secret ${name}` };
  return { password: value };
}

const cidrsOf = (blocks: readonly CidrBlock[] | undefined): string[] =>
  (blocks ?? []).map((b) => b.cidr ?? "").filter((c) => c !== "");

export function computeBgpPlan(r: BgpResourceSet): BgpPlan {
  const problems: PeerProblem[] = [];
  const problem = (p: PeerProblem) => problems.push(p);
  const configNamed = (n: string) =>
    (r.configs.find((c) => c.metadata.name === n)?.spec ?? undefined) as BGPConfigurationSpec | undefined;
  const dflt = configNamed("default") ?? {};
  const longLived = longLivedStaleTime(
    r.configs.find((c) => c.metadata.name === "default")?.metadata.annotations,
    (reason) => problem({ name: "BGPConfiguration default", address: "", reason, effect: "ignored" }),
  );
  const mine = configNamed(`node.${r.nodeName}`);

  let globalAsn: number = BGP_DEFAULTS.asNumber;
  if (dflt.asNumber !== undefined && dflt.asNumber !== null) {
    const a = parseAsNumber(dflt.asNumber);
    if ("rule" in a)
      problem({
        name: "BGPConfiguration default",
        address: "",
        reason: `BGPConfiguration default: spec.asNumber: ${a.rule}; using ${globalAsn}`,
        effect: "ignored",
      });
    else globalAsn = a.asn;
  }

  const nodes = nodeViews(r, problem);
  const me = nodes.find((n) => n.name === r.nodeName);
  if (me === undefined) {
    problem({
      name: `Node ${r.nodeName}`,
      address: "",
      reason: `Node ${r.nodeName} not found`,
      effect: "omitted",
    });
    return { config: undefined, problems };
  }
  if (me.v4 === undefined && me.v6 === undefined) return { config: undefined, problems };
  const routerId = r.routerId ?? me.v4;
  if (routerId === undefined) {
    problem({
      name: `Node ${r.nodeName}`,
      address: "",
      reason: `Node ${r.nodeName} has no IPv4 address and no router id was given (CALICO_ROUTER_ID)`,
      effect: "omitted",
    });
    return { config: undefined, problems };
  }
  const asn = me.asn ?? globalAsn;
  const listenPort = me.listenPort ?? (dflt.listenPort || undefined);

  const meshRestartSec = secondsOf(
    dflt.nodeMeshMaxRestartTime,
    "BGPConfiguration default: spec.nodeMeshMaxRestartTime",
    problem,
  );
  const {
    sessions,
    problems: sessionProblems,
    localWorkloadPeerings,
  } = computeSessions({
    me,
    nodes,
    globals: {
      asn: globalAsn,
      meshEnabled: dflt.nodeToNodeMeshEnabled ?? BGP_DEFAULTS.nodeToNodeMeshEnabled,
      ...(dflt.listenPort ? { listenPort: dflt.listenPort } : {}),
      ...(dflt.nodeMeshPassword !== undefined ? { meshPassword: dflt.nodeMeshPassword } : {}),
      ...(meshRestartSec !== undefined ? { meshRestartSec } : {}),
    },
    peers: r.peers,
    ...(r.localWorkloads !== undefined ? { workloads: r.localWorkloads } : {}),
  });
  problems.push(...sessionProblems);
  const workloadPeeringAddresses = peeringAddresses(dflt, localWorkloadPeerings, problem);

  // What calico_export_to_bgp_peers needs.
  const families = new Set([me.v4 && 4, me.v6 && 6].filter((f): f is 4 | 6 => typeof f === "number"));
  const parsed = (text: string, where: string): Cidr | undefined => {
    const c = parseCidr(text);
    if (c === undefined) {
      problem({
        name: where,
        address: "",
        reason: `${where}: ${JSON.stringify(text)} is not a CIDR`,
        effect: "ignored",
      });
      return undefined;
    }
    return networkOf(c);
  };
  const pools = r.pools.flatMap((p) => {
    const spec = p.spec as IPPoolSpec;
    const cidr = parsed(spec.cidr ?? "", `IPPool ${p.metadata.name}: spec.cidr`);
    return cidr === undefined ? [] : [{ cidr, disableBGPExport: spec.disableBGPExport === true }];
  });
  const blocks = r.affinities
    .filter(
      (a) => a.node === r.nodeName && (a.state === undefined || a.state === "" || a.state === "confirmed"),
    )
    .flatMap((a) => parsed(a.cidr, `block affinity ${a.cidr}`) ?? []);
  const services: Cidr[] = [];
  const single = (c: Cidr) => c.prefixLen === bitsOf(c.family);
  if (me.labels[EXCLUDE_FROM_LB_LABEL] !== "true") {
    const add = (list: readonly CidrBlock[] | undefined, field: string, keep: (c: Cidr) => boolean) => {
      for (const t of cidrsOf(list)) {
        const c = parsed(t, `BGPConfiguration default: spec.${field}`);
        if (c !== undefined && keep(c)) services.push(c);
      }
    };
    // confd routes.go: single external / LB IPs are advertised per service only, not from every node.
    add(dflt.serviceClusterIPs, "serviceClusterIPs", () => true);
    add(dflt.serviceExternalIPs, "serviceExternalIPs", (c) => !single(c));
    if (dflt.serviceLoadBalancerAggregation !== "Disabled")
      add(dflt.serviceLoadBalancerIPs, "serviceLoadBalancerIPs", (c) => !single(c));
  }
  services.push(...(r.serviceAddresses ?? []));
  const reflected =
    me.clusterId === undefined
      ? []
      : [...cidrsOf(dflt.serviceLoadBalancerIPs), ...cidrsOf(dflt.serviceExternalIPs)].flatMap(
          (t) => parseCidr(t) ?? [],
        );
  const calicoRules = calicoExportRules({
    pools,
    blocks,
    serviceRoutes: services,
    reflectedRanges: reflected.map(networkOf),
  });

  const filters = new Map(r.filters.map((f) => [f.metadata.name, (f.spec ?? {}) as BGPFilterSpec]));
  const policies: Record<string, Policy> = {};
  const policyFor = (s: Session, direction: "import" | "export") => {
    const sameAs = s.asn === s.effectiveLocalAsn;
    const name = [
      direction,
      sameAs ? "ibgp" : "ebgp",
      ...(s.filters.length > 0 ? [s.filters.join(",")] : []),
    ].join(":");
    const rules: Rule[] = [];
    const issues: { reason: string; effect: "ignored" | "shutdown" }[] = [];
    for (const f of s.filters) {
      const spec = filters.get(f);
      if (spec === undefined) {
        issues.push({ reason: `BGPFilter ${f} not found; skipped (as confd does)`, effect: "ignored" });
        continue;
      }
      const out = filterRules(f, spec, direction, sameAs);
      rules.push(...out.rules);
      issues.push(...out.issues);
    }
    if (direction === "export") rules.push(...calicoRules);
    policies[name] ??= { name, rules, defaultAction: direction === "import" ? "accept" : "reject" };
    return { name, issues };
  };

  const peers: PeerConfig[] = [];
  const staticRoutes: StaticRoute[] = [];
  for (const s of sessions) {
    const pw = resolvePassword(s.password, r.secrets);
    const imp = policyFor(s, "import");
    const exp = policyFor(s, "export");
    const reasons: string[] = [];
    if (pw.reason !== undefined) {
      const field = s.kind === "Mesh" ? "spec.nodeMeshPassword" : "spec.password";
      reasons.push(`${s.source}: ${field}: ${pw.reason}`);
    }
    const seen = new Set<string>();
    for (const i of [...imp.issues, ...exp.issues]) {
      if (seen.has(i.reason)) continue;
      seen.add(i.reason);
      if (i.effect === "shutdown") reasons.push(`${s.source}: ${i.reason}`);
      else
        problem({ name: s.name, address: s.address, reason: `${s.source}: ${i.reason}`, effect: "ignored" });
    }
    for (const reason of reasons) problem({ name: s.name, address: s.address, reason, effect: "shutdown" });
    if (s.reachableBy !== undefined)
      staticRoutes.push({ prefix: `${s.address}/${s.family === "ipv4" ? 32 : 128}`, via: s.reachableBy });
    peers.push({
      name: s.name,
      address: s.address,
      asn: s.asn,
      ...(s.localAsn !== undefined ? { localAsn: s.localAsn } : {}),
      ...(s.port !== undefined ? { port: s.port } : {}),
      ...(s.localAddress !== undefined ? { localAddress: s.localAddress } : {}),
      ...(pw.password !== undefined ? { password: pw.password } : {}),
      // BIRD `multihop` (TTL 64) unless GTSM; the mesh always multihop.
      ...(s.ttlSecurityHops !== undefined ? { ttlSecurityHops: s.ttlSecurityHops } : { ttl: 64 }),
      passive: s.passive,
      routeReflectorClient: s.routeReflectorClient,
      ...(s.nextHop !== undefined ? { nextHop: s.nextHop } : {}),
      ...(s.restartTimeSec !== undefined ? { restartTimeSec: s.restartTimeSec } : {}),
      ...(s.keepaliveSec !== undefined ? { keepaliveSec: s.keepaliveSec } : {}),
      ...(s.allowOwnAs !== undefined ? { allowOwnAs: s.allowOwnAs } : {}),
      families: [s.family],
      importPolicy: imp.name,
      exportPolicy: exp.name,
      addPathReceive: true,
      ...s.extensions,
      ...(reasons.length > 0 ? { shutdown: true } : {}),
    });
  }

  // Originate: confirmed blocks, borrowed addresses, service ranges, for the families BGP runs here.
  const borrowed = r.borrowed.flatMap((a) => {
    const c = parseCidrOrIp(a);
    if (c === undefined || a.includes("/")) {
      problem({
        name: "borrowed",
        address: a,
        reason: `borrowed address ${JSON.stringify(a)} is not an IP`,
        effect: "ignored",
      });
      return [];
    }
    return [c];
  });
  let advertisements: Advertisement[] = [];
  // confd: node.<name>'s prefixAdvertisements replace the default's (even an empty list).
  const advSource = mine?.prefixAdvertisements !== undefined ? mine : dflt;
  const where = advSource === mine ? `BGPConfiguration node.${r.nodeName}` : "BGPConfiguration default";
  const adv = resolveAdvertisements(advSource, where);
  advertisements = adv.advertisements;
  for (const reason of adv.issues) problem({ name: where, address: "", reason, effect: "ignored" });
  const priority = (f: 4 | 6) =>
    (f === 4 ? dflt.ipv4NormalRoutePriority : dflt.ipv6NormalRoutePriority) ?? NORMAL_ROUTE_PRIORITY;
  const originate = computeOriginate({
    prefixes: [...blocks, ...borrowed, ...services].filter((c) => families.has(c.family)),
    advertisements,
    localPref: { 4: BIRD_INT_MAX - priority(4), 6: BIRD_INT_MAX - priority(6) },
  });

  const bindNodeIp = dflt.bindMode === "NodeIP";
  const config: SpeakerConfig = {
    routerId,
    asn,
    ...(me.clusterId !== undefined ? { clusterId: me.clusterId } : {}),
    listen: {
      // One speaker for both families: with NodeIP we can bind only one address, the IPv4 one if any.
      address: bindNodeIp ? (me.v4 ?? me.v6!) : me.v6 !== undefined ? "::" : "0.0.0.0",
      port: listenPort ?? BGP_DEFAULTS.listenPort,
    },
    peers,
    policies,
    originate,
    ...TIMERS,
    ...(longLived !== undefined
      ? { gracefulRestart: { ...TIMERS.gracefulRestart, longLivedStaleTimeSec: longLived } }
      : {}),
    hostname: r.nodeName,
  };
  return {
    config,
    problems,
    ...(staticRoutes.length > 0 ? { staticRoutes } : {}),
    ...(workloadPeeringAddresses.length > 0 ? { workloadPeeringAddresses } : {}),
  };
}

/** Where felix puts BGPConfiguration default's localWorkloadPeeringIPV4/6: each peering workload's interface, per family it peers in. */
function peeringAddresses(
  dflt: BGPConfigurationSpec,
  peerings: readonly LocalWorkloadPeering[],
  problem: (p: PeerProblem) => void,
): WorkloadPeeringAddress[] {
  const out: WorkloadPeeringAddress[] = [];
  for (const [family, field] of [
    [4, "localWorkloadPeeringIPV4"],
    [6, "localWorkloadPeeringIPV6"],
  ] as const) {
    const users = peerings.filter((p) => p.addresses.some((a) => a.includes(":") === (family === 6)));
    if (users.length === 0) continue;
    const where = `BGPConfiguration default: spec.${field}`;
    const text = dflt[field];
    const ip = text ? parseIp(text) : undefined;
    if (ip === undefined || ip.family !== family) {
      problem({
        name: "BGPConfiguration default",
        address: "",
        reason: text
          ? `${where}: ${JSON.stringify(text)} is not an IPv${family} address`
          : `${where}: not set, so local workloads can reach this node only at its own addresses`,
        effect: "ignored",
      });
      continue;
    }
    for (const p of users) if (p.ifName !== undefined) out.push({ ifName: p.ifName, address: formatIp(ip) });
  }
  return out;
}
