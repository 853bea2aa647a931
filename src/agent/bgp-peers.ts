/**
 * Which BGP sessions this node has and how each is set up, as confd computes them
 * (confd/pkg/backends/calico/client.go `updatePeersV1`, bgp_processor.go `processPeers`; calico-bgp-cni.md
 * §1.4-1.6): the node-to-node mesh, global and node-specific BGPPeers (peerIP or peerSelector), the
 * automatic reverse peerings, with confd's precedence (global beats node-specific for the same IP and
 * port, explicit beats reverse), its names (`Mesh_`/`Global_`/`Node_<ip_>[_port_<N>]`), the
 * lexicographic passive rule and the route-reflector-client rule. The result is candidates with
 * everything resolved but the password and policies, which bgp-plan.ts adds. Peerings with this node's
 * own workloads (localWorkloadSelector) come from local-workload-peers.ts. Pure.
 */
import type { Family } from "../../bgp/rib/prefix-key.js";
import { parseAsNumber } from "../api/asn.js";
import type { BGPPeerSpec } from "../api/bgppeer.js";
import { parseDuration } from "../api/duration.js";
import { parseIpPort } from "../api/formats.js";
import type { Resource } from "../api/meta.js";
import { formatIp, parseIp } from "../api/net.js";
import type { BGPPassword } from "../api/secret-ref.js";
import { compileSelector, type Labels, type Selector } from "../api/selector/selector.js";
import type { PeerProblem } from "./bgp-plan.js";
import {
  computeLocalWorkloadSessions,
  type LocalWorkload,
  type LocalWorkloadPeering,
} from "./local-workload-peers.js";
import { type PeerExtensions, peerExtensions } from "./peer-annotations.js";

/** A Calico node as the session computation needs it. Addresses are canonical, without prefix length. */
export interface NodeView {
  readonly name: string;
  readonly labels: Labels;
  readonly v4?: string;
  readonly v6?: string;
  /** spec.bgp.asNumber; undefined = the global AS. */
  readonly asn?: number;
  readonly clusterId?: string;
  /** listenPort of BGPConfiguration node.<name>. */
  readonly listenPort?: number;
}

export interface PeerGlobals {
  readonly asn: number;
  readonly meshEnabled: boolean;
  /** listenPort of BGPConfiguration default. */
  readonly listenPort?: number;
  readonly meshPassword?: BGPPassword;
  readonly meshRestartSec?: number;
}

export type SessionKind = "Mesh" | "Global" | "Node" | "Local_Workload";

/** One session, resolved except for the password (a reference) and policies (filter names). */
export interface Session {
  readonly kind: SessionKind;
  readonly name: string;
  readonly family: Family;
  readonly address: string;
  readonly port?: number;
  readonly asn: number;
  readonly localAsn?: number;
  /** Our AS on this session: localAsn, else the node's. */
  readonly effectiveLocalAsn: number;
  readonly localAddress?: string;
  readonly ttlSecurityHops?: number;
  readonly passive: boolean;
  readonly routeReflectorClient: boolean;
  readonly nextHop?: "self" | "keep" | "auto";
  readonly restartTimeSec?: number;
  readonly keepaliveSec?: number;
  readonly allowOwnAs?: number;
  readonly filters: readonly string[];
  readonly password?: BGPPassword;
  readonly reachableBy?: string;
  /** "BGPPeer <name>" or "BGPConfiguration default" (mesh): where the settings come from. */
  readonly source: string;
  /** BFD, prefix limits, ADD-PATH send, role: from the BGPPeer's bgp.tabby.dev/ annotations. */
  readonly extensions?: PeerExtensions;
}

/** confd's backends.BGPPeer: a peering before it is placed on a node. */
interface Candidate {
  readonly ip: string;
  readonly family: Family;
  readonly port?: number;
  readonly asn: number;
  readonly localAsn?: number;
  readonly calicoNode: boolean;
  readonly rrClusterId?: string;
  /** numAllowedLocalASNumbers; confd carries it (and localASNumber) only for peerIP peerings. */
  readonly allowOwnAs?: number;
  readonly spec: BGPPeerSpec;
  readonly source: string;
}

export interface PeerInputs {
  readonly me: NodeView;
  readonly nodes: readonly NodeView[];
  readonly globals: PeerGlobals;
  readonly peers: readonly Resource[];
  /** This node's WorkloadEndpoints, for localWorkloadSelector peers. */
  readonly workloads?: readonly LocalWorkload[];
}

const familyOfIp = (ip: string): Family => (ip.includes(":") ? "ipv6" : "ipv4");
const addrOf = (n: NodeView, f: Family) => (f === "ipv4" ? n.v4 : n.v6);
const sessionName = (kind: string, ip: string, port?: number) =>
  `${kind}_${ip.replace(/[.:]/g, "_")}${port !== undefined ? `_port_${port}` : ""}`;

function seconds(raw: string | undefined): number | undefined | { rule: string } {
  if (raw === undefined) return undefined;
  const ns = parseDuration(raw);
  if (ns === undefined || ns < 0n) return { rule: `${JSON.stringify(raw)} is not a duration such as 120s` };
  return Math.round(Number(ns) / 1e9); // confd: int(math.Round(d.Seconds()))
}

export function computeSessions(x: PeerInputs): {
  sessions: Session[];
  problems: PeerProblem[];
  /** Which workloads peer with this node, under which BGPPeer. */
  localWorkloadPeerings: LocalWorkloadPeering[];
} {
  const { me, nodes, globals } = x;
  const problems: PeerProblem[] = [];
  const problem = (name: string, reason: string, effect: PeerProblem["effect"], address = "") =>
    problems.push({ name, address, reason, effect });
  const nodeAsn = (n: NodeView) => n.asn ?? globals.asn;
  const listenPortOf = (n: NodeView) => n.listenPort ?? globals.listenPort;
  const nodeIps = new Set(nodes.flatMap((n) => [n.v4, n.v6].filter((a) => a !== undefined)));

  const selectors = new Map<string, Selector | undefined>();
  const select = (text: string, res: string, field: string): Selector | undefined => {
    const key = `${res}\0${field}`;
    if (!selectors.has(key)) {
      try {
        selectors.set(key, compileSelector(text));
      } catch (e) {
        selectors.set(key, undefined);
        problem(res, `${res}: ${field}: ${(e as Error).message}`, "omitted");
      }
    }
    return selectors.get(key);
  };
  const matching = (text: string, res: string, field: string): NodeView[] => {
    const s = select(text, res, field);
    return s === undefined ? [] : nodes.filter((n) => s.matches(n.labels));
  };

  // confd nodeAsBGPPeers: the sessions to a Calico node picked by peerSelector (or by reverse peering).
  const fromNode = (n: NodeView, families: readonly Family[], spec: BGPPeerSpec, source: string) =>
    families.flatMap((f): Candidate[] => {
      const ip = addrOf(n, f);
      if (ip === undefined) return [];
      const port = listenPortOf(n);
      return [
        {
          ip,
          family: f,
          ...(port !== undefined ? { port } : {}),
          asn: nodeAsn(n),
          calicoNode: false, // confd leaves calico_node unset here, so these are never made passive
          ...(n.clusterId !== undefined ? { rrClusterId: n.clusterId } : {}),
          spec,
          source,
        },
      ];
    });

  // confd nodesWithIPPortAndAS: the Calico nodes a peerIP (and asNumber, port) designates.
  const nodesAt = (ip: string, asn: number, port: number | undefined) =>
    nodes.filter(
      (n) =>
        (n.v4 === ip || n.v6 === ip) &&
        nodeAsn(n) === asn &&
        (port === undefined || (listenPortOf(n) ?? 179) === port),
    );

  const peerAsn = (spec: BGPPeerSpec, res: string): number | undefined => {
    if (spec.asNumber === undefined || spec.asNumber === null) return undefined;
    const a = parseAsNumber(spec.asNumber);
    if ("rule" in a) {
      problem(res, `${res}: spec.asNumber: ${a.rule}`, "omitted");
      return undefined;
    }
    return a.asn;
  };

  const fromPeerIp = (spec: BGPPeerSpec, res: string): Candidate[] => {
    const hp = parseIpPort(spec.peerIP ?? "");
    const ip = hp === undefined ? undefined : parseIp(hp.ip);
    if (hp === undefined || ip === undefined) {
      problem(
        res,
        `${res}: spec.peerIP: ${JSON.stringify(spec.peerIP)} is not an IP, IPv4:port or [IPv6]:port`,
        "omitted",
      );
      return [];
    }
    const text = formatIp(ip);
    const asn = peerAsn(spec, res);
    if (asn === undefined) {
      if (spec.asNumber === undefined)
        problem(res, `${res}: spec.asNumber: is required with peerIP`, "omitted", text);
      return [];
    }
    if (spec.reachableBy) {
      const gw = parseIp(spec.reachableBy);
      if (gw === undefined || gw.family !== ip.family) {
        problem(
          res,
          `${res}: spec.reachableBy: ${JSON.stringify(spec.reachableBy)} is not an IPv${ip.family} address`,
          "omitted",
          text,
        );
        return [];
      }
    }
    let localAsn: number | undefined;
    if (spec.localASNumber !== undefined && spec.localASNumber !== null) {
      const a = parseAsNumber(spec.localASNumber);
      if ("rule" in a) {
        problem(res, `${res}: spec.localASNumber: ${a.rule}`, "omitted", text);
        return [];
      }
      if (a.asn !== 0) localAsn = a.asn;
    }
    // No port given and the peer is a Calico node: dial its listen port (confd).
    const port =
      hp.port ??
      (() => {
        const n = nodesAt(text, asn, undefined)[0];
        return n === undefined ? undefined : listenPortOf(n);
      })();
    return [
      {
        ip: text,
        family: familyOfIp(text),
        ...(port !== undefined ? { port } : {}),
        asn,
        ...(localAsn !== undefined ? { localAsn } : {}),
        ...((spec.numAllowedLocalASNumbers ?? 0) > 0 ? { allowOwnAs: spec.numAllowedLocalASNumbers } : {}),
        calicoNode: nodeIps.has(text),
        spec,
        source: res,
      },
    ];
  };

  const candidatesOf = (spec: BGPPeerSpec, res: string): Candidate[] => {
    if (spec.peerSelector) {
      return matching(spec.peerSelector, res, "spec.peerSelector").flatMap((n) =>
        fromNode(n, ["ipv4", "ipv6"], spec, res),
      );
    }
    return fromPeerIp(spec, res);
  };

  const peers = [...x.peers].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const annotationsOf = new Map(peers.map((p) => [`BGPPeer ${p.metadata.name}`, p.metadata.annotations]));
  const specOf = (p: Resource) => (p.spec ?? {}) as BGPPeerSpec;
  const emitted = new Map<string, { kind: "Global" | "Node"; c: Candidate }>();
  const keyOf = (kind: string, c: Candidate) => `${kind}|${c.ip}|${c.port ?? 0}`;
  const emit = (kind: "Global" | "Node", c: Candidate) => {
    const key = keyOf(kind, c);
    if (emitted.has(key)) return; // the first wins: explicit peerings come before reverse ones
    if (kind === "Node" && emitted.has(keyOf("Global", c))) return; // global wins
    emitted.set(key, { kind, c });
  };
  const extensionsOf = (c: Candidate, name: string): { extensions?: PeerExtensions } => {
    const ext = peerExtensions(annotationsOf.get(c.source), c.family, (reason) =>
      problem(name, `${c.source}: ${reason}`, "ignored", c.ip),
    );
    return Object.keys(ext).length > 0 ? { extensions: ext } : {};
  };
  const localPeers: { name: string; spec: BGPPeerSpec }[] = [];
  const appliesToMe = (spec: BGPPeerSpec, res: string): boolean => {
    if (spec.node) return spec.node === me.name;
    if (spec.nodeSelector)
      return select(spec.nodeSelector, res, "spec.nodeSelector")?.matches(me.labels) ?? false;
    return true;
  };

  for (const globalPass of [true, false]) {
    for (const p of peers) {
      const spec = specOf(p);
      const res = `BGPPeer ${p.metadata.name}`;
      if (globalPass !== (!spec.node && !spec.nodeSelector)) continue;
      if (!appliesToMe(spec, res)) continue;
      if (spec.localWorkloadSelector) {
        // confd: a localWorkloadSelector wins over peerIP / peerSelector (the CRD forbids both).
        localPeers.push({ name: p.metadata.name, spec });
        continue;
      }
      for (const c of candidatesOf(spec, res)) emit(globalPass ? "Global" : "Node", c);
    }
  }

  // Reverse peerings (reversePeering Auto): when a BGPPeer's remote side designates this node, this
  // node peers back with the nodes on its local side.
  for (const p of peers) {
    const spec = specOf(p);
    const res = `BGPPeer ${p.metadata.name}`;
    if (spec.reversePeering === "Manual" || spec.localWorkloadSelector) continue;
    let families: Family[];
    if (spec.peerSelector) {
      if (!(select(spec.peerSelector, res, "spec.peerSelector")?.matches(me.labels) ?? false)) continue;
      families = ["ipv4", "ipv6"];
    } else {
      const hp = parseIpPort(spec.peerIP ?? "");
      const ip = hp === undefined ? undefined : parseIp(hp.ip);
      if (hp === undefined || ip === undefined) continue;
      const text = formatIp(ip);
      const parsed = spec.asNumber === undefined ? { asn: globals.asn } : parseAsNumber(spec.asNumber);
      const asn = "asn" in parsed ? parsed.asn : undefined; // a bad one is reported by the first pass
      if (asn === undefined || !nodesAt(text, asn, hp.port).some((n) => n.name === me.name)) continue;
      families = [familyOfIp(text)];
    }
    const locals = spec.nodeSelector
      ? matching(spec.nodeSelector, res, "spec.nodeSelector")
      : spec.node
        ? nodes.filter((n) => n.name === spec.node)
        : nodes;
    for (const n of locals) for (const c of fromNode(n, families, spec, res)) emit("Node", c);
  }

  const sessions: Session[] = [];
  const myAsn = nodeAsn(me);

  for (const { kind, c } of emitted.values()) {
    const mine = addrOf(me, c.family);
    if (mine === undefined || c.ip === mine) continue; // that family is off here / our own address
    const spec = c.spec;
    const effectiveLocalAsn = c.localAsn ?? myAsn;
    const ebgp = c.asn !== effectiveLocalAsn;
    const restart = seconds(spec.maxRestartTime);
    const keepalive = seconds(spec.keepaliveTime);
    const name = sessionName(kind, c.ip, c.port);
    const bad = [
      ["spec.maxRestartTime", restart],
      ["spec.keepaliveTime", keepalive],
    ].find(([, v]) => typeof v === "object");
    if (bad !== undefined) {
      problem(name, `${c.source}: ${bad[0]}: ${(bad[1] as { rule: string }).rule}`, "omitted", c.ip);
      continue;
    }
    let nextHop: Session["nextHop"];
    if (spec.nextHopMode === "Self") nextHop = "self";
    else if (spec.nextHopMode === "Keep") nextHop = "keep";
    else if (spec.nextHopMode === "Auto") nextHop = "auto";
    else if (spec.keepOriginalNextHop && ebgp) nextHop = "keep"; // confd: legacy flag only for eBGP
    const ttl = spec.ttlSecurity ?? 0;
    sessions.push({
      kind,
      name,
      family: c.family,
      address: c.ip,
      ...(c.port !== undefined ? { port: c.port } : {}),
      asn: c.asn,
      ...(c.localAsn !== undefined ? { localAsn: c.localAsn } : {}),
      effectiveLocalAsn,
      ...((spec.sourceAddress ?? "UseNodeIP") === "UseNodeIP" ? { localAddress: mine } : {}),
      ...(ttl > 0 ? { ttlSecurityHops: ttl } : {}),
      // confd: Global_ peers that are Calico nodes follow the mesh's passive rule; Node_ peers never.
      passive: kind === "Global" && c.calicoNode && c.ip > mine,
      routeReflectorClient:
        me.clusterId !== undefined && c.asn === effectiveLocalAsn && c.rrClusterId !== me.clusterId,
      ...(nextHop !== undefined ? { nextHop } : {}),
      ...(typeof restart === "number" ? { restartTimeSec: restart } : {}),
      ...(typeof keepalive === "number" ? { keepaliveSec: keepalive } : {}),
      ...(c.allowOwnAs !== undefined ? { allowOwnAs: c.allowOwnAs } : {}),
      filters: spec.filters ?? [],
      ...(spec.password?.secretKeyRef !== undefined ? { password: spec.password } : {}),
      ...(spec.reachableBy ? { reachableBy: spec.reachableBy } : {}),
      source: c.source,
      ...extensionsOf(c, name),
    });
  }

  // The node-to-node mesh: not on a route reflector, and never to one.
  if (globals.meshEnabled && me.clusterId === undefined) {
    for (const n of nodes) {
      if (n.name === me.name || n.clusterId !== undefined) continue;
      for (const family of ["ipv4", "ipv6"] as const) {
        const ip = addrOf(n, family);
        const mine = addrOf(me, family);
        if (ip === undefined || mine === undefined || ip === mine) continue;
        const port = listenPortOf(n);
        sessions.push({
          kind: "Mesh",
          name: sessionName("Mesh", ip),
          family,
          address: ip,
          ...(port !== undefined ? { port } : {}),
          asn: nodeAsn(n),
          effectiveLocalAsn: myAsn,
          localAddress: mine,
          passive: ip > mine, // calico-bgp-cni.md §1.5: string comparison, not numeric
          routeReflectorClient: false,
          ...(globals.meshRestartSec !== undefined ? { restartTimeSec: globals.meshRestartSec } : {}),
          filters: [],
          ...(globals.meshPassword?.secretKeyRef !== undefined ? { password: globals.meshPassword } : {}),
          source: "BGPConfiguration default",
        });
      }
    }
  }

  const local = computeLocalWorkloadSessions({
    me,
    myAsn,
    peers: localPeers,
    workloads: x.workloads ?? [],
  });
  sessions.push(...local.sessions);
  problems.push(...local.problems);

  // The speaker keys peers by address: keep one session per address (global, node, local workload, mesh).
  const rank: Record<SessionKind, number> = { Global: 0, Node: 1, Local_Workload: 2, Mesh: 3 };
  sessions.sort((a, b) => rank[a.kind] - rank[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kept = new Map<string, Session>();
  for (const s of sessions) {
    const first = kept.get(s.address);
    if (first === undefined) kept.set(s.address, s);
    else
      problem(
        s.name,
        `${s.source}: ${s.name} duplicates ${first.name}: one session per peer address; ${first.name} is kept`,
        "omitted",
        s.address,
      );
  }
  const out = [...kept.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { sessions: out, problems, localWorkloadPeerings: local.peerings };
}
