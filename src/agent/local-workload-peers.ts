/**
 * BGP sessions from this node to its own workloads (BGPPeer.localWorkloadSelector, Calico v3.30+), as
 * Felix and confd build them: Felix's ActiveBGPPeerCalculator pairs each local WorkloadEndpoint with the
 * first BGPPeer, by name, that selects this node (`node`, `nodeSelector`, or all) and whose
 * localWorkloadSelector matches the endpoint's labels; confd (client.go localBGPPeerDataAsBGPPeers,
 * bgp_processor.go buildPeerFromData) then peers with the endpoint's first IPv4 and first IPv6 address as
 * `Local_Workload_<ip_>`: AS and local AS and filters from the BGPPeer, `passive on` (the workload dials),
 * no `source address` (the node answers from the address it was dialled at: normally
 * BGPConfiguration.localWorkloadPeeringIPV4/6, which Felix puts on the workload's host-side interface),
 * `ttl security off; multihop`, and the same export filter as any peer. Pure.
 * Does not choose the node's peering address (felix does) and copies none of the BGPPeer's other fields
 * (password, timers, next hop, ttlSecurity...): confd does not, and they are reported as ignored.
 */
import type { Family } from "../../bgp/rib/prefix-key.js";
import { parseAsNumber } from "../api/asn.js";
import type { BGPPeerSpec } from "../api/bgppeer.js";
import type { Resource } from "../api/meta.js";
import { formatIp, parseCidrOrIp } from "../api/net.js";
import { compileSelector, type Labels, type Selector } from "../api/selector/selector.js";
import type { WorkloadEndpointSpec } from "../api/workload-endpoint.js";
import type { NodeView, Session } from "./bgp-peers.js";
import type { PeerProblem } from "./bgp-plan.js";

/** One of this node's WorkloadEndpoints as the selection needs it. */
export interface LocalWorkload {
  /** `<namespace>/<name>`, for problems. */
  readonly name: string;
  /** metadata.labels: the pod's, plus projectcalico.org/namespace, /orchestrator, /serviceaccount. */
  readonly labels: Labels;
  /** spec.ipNetworks (`10.244.1.5/32`, `fd00::5/128`). */
  readonly ipNetworks: readonly string[];
  /** spec.interfaceName: the host side, where felix puts the node's peering address. */
  readonly ifName?: string;
}

export interface LocalWorkloadPeerInputs {
  readonly me: NodeView;
  /** This node's AS (spec.bgp.asNumber, else the global one). */
  readonly myAsn: number;
  /** BGPPeers with a localWorkloadSelector that select this node (node / nodeSelector already applied). */
  readonly peers: readonly { readonly name: string; readonly spec: BGPPeerSpec }[];
  readonly workloads: readonly LocalWorkload[];
}

/** Which BGPPeer a workload peers under (Felix's "active" BGPPeer of the endpoint). */
export interface LocalWorkloadPeering {
  readonly workload: string;
  readonly bgpPeer: string;
  readonly addresses: readonly string[];
  readonly ifName?: string;
}

/** Fields confd leaves out of a local workload peering (localBGPPeerDataAsBGPPeers copies only AS, local AS and filters). */
const NOT_USED = [
  "password",
  "sourceAddress",
  "maxRestartTime",
  "keepaliveTime",
  "nextHopMode",
  "keepOriginalNextHop",
  "numAllowedLocalASNumbers",
  "ttlSecurity",
  "reachableBy",
] as const satisfies readonly (keyof BGPPeerSpec)[];

/** The first address of each family in ipNetworks, as Felix's endpoint status records it. */
function firstAddresses(w: LocalWorkload, problem: (reason: string) => void): Map<Family, string> {
  const out = new Map<Family, string>();
  for (const net of w.ipNetworks) {
    const c = typeof net === "string" ? parseCidrOrIp(net) : undefined;
    if (c === undefined) {
      problem(`WorkloadEndpoint ${w.name}: spec.ipNetworks: ${JSON.stringify(net)} is not a CIDR`);
      continue;
    }
    const family: Family = c.family === 4 ? "ipv4" : "ipv6";
    if (!out.has(family)) out.set(family, formatIp({ family: c.family, value: c.addr }));
  }
  return out;
}

/** This node's WorkloadEndpoints (spec.node), as the selection reads them. */
export function localWorkloadsOf(nodeName: string, weps: readonly Resource[]): LocalWorkload[] {
  const out: LocalWorkload[] = [];
  for (const w of weps) {
    const s = (w.spec ?? {}) as WorkloadEndpointSpec;
    if (s.node !== nodeName || !Array.isArray(s.ipNetworks)) continue;
    out.push({
      name: `${w.metadata.namespace ?? ""}/${w.metadata.name}`,
      labels: w.metadata.labels ?? {},
      ipNetworks: s.ipNetworks,
      ...(typeof s.interfaceName === "string" ? { ifName: s.interfaceName } : {}),
    });
  }
  return out;
}

export function computeLocalWorkloadSessions(x: LocalWorkloadPeerInputs): {
  sessions: Session[];
  problems: PeerProblem[];
  peerings: LocalWorkloadPeering[];
} {
  const problems: PeerProblem[] = [];
  const problem = (name: string, reason: string, effect: PeerProblem["effect"], address = "") =>
    problems.push({ name, address, reason, effect });

  // Usable BGPPeers in Felix's order (by name): the first one matching a workload is its peer.
  const usable: {
    name: string;
    res: string;
    spec: BGPPeerSpec;
    asn: number;
    localAsn?: number;
    sel: Selector;
  }[] = [];
  for (const { name, spec } of [...x.peers].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    const res = `BGPPeer ${name}`;
    let sel: Selector;
    try {
      sel = compileSelector(spec.localWorkloadSelector ?? "");
    } catch (e) {
      problem(res, `${res}: spec.localWorkloadSelector: ${(e as Error).message}`, "omitted");
      continue;
    }
    const asn =
      spec.asNumber === undefined || spec.asNumber === null ? undefined : parseAsNumber(spec.asNumber);
    if (asn === undefined || ("asn" in asn && asn.asn === 0)) {
      problem(res, `${res}: spec.asNumber: is required when localWorkloadSelector is set`, "omitted");
      continue;
    }
    if ("rule" in asn) {
      problem(res, `${res}: spec.asNumber: ${asn.rule}`, "omitted");
      continue;
    }
    let localAsn: number | undefined;
    if (spec.localASNumber !== undefined && spec.localASNumber !== null) {
      const a = parseAsNumber(spec.localASNumber);
      if ("rule" in a) {
        problem(res, `${res}: spec.localASNumber: ${a.rule}`, "omitted");
        continue;
      }
      if (a.asn !== 0) localAsn = a.asn;
    }
    // Calico's CRD forbids these next to localWorkloadSelector; confd, given them, peers with the workloads.
    for (const field of ["peerIP", "peerSelector"] as const) {
      if (spec[field])
        problem(
          res,
          `${res}: spec.${field}: must be empty when localWorkloadSelector is set; ignored`,
          "ignored",
        );
    }
    for (const field of NOT_USED) {
      const v: unknown = spec[field];
      if (v !== undefined && v !== null && v !== false && v !== "")
        problem(
          res,
          `${res}: spec.${field}: not used for local workload peerings (as in confd); ignored`,
          "ignored",
        );
    }
    usable.push({ name, res, spec, asn: asn.asn, ...(localAsn !== undefined ? { localAsn } : {}), sel });
  }

  const sessions: Session[] = [];
  const peerings: LocalWorkloadPeering[] = [];
  if (usable.length === 0) return { sessions, problems, peerings };
  const workloads = [...x.workloads].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const w of workloads) {
    const p = usable.find((u) => u.sel.matches(w.labels));
    if (p === undefined) continue;
    const addresses = firstAddresses(w, (reason) => problem(p.res, reason, "ignored"));
    const used: string[] = [];
    for (const [family, ip] of addresses) {
      if ((family === "ipv4" ? x.me.v4 : x.me.v6) === undefined) continue; // BGP off for that family here
      const effectiveLocalAsn = p.localAsn ?? x.myAsn;
      used.push(ip);
      sessions.push({
        kind: "Local_Workload",
        name: `Local_Workload_${ip.replace(/[.:]/g, "_")}`,
        family,
        address: ip,
        asn: p.asn,
        ...(p.localAsn !== undefined ? { localAsn: p.localAsn } : {}),
        effectiveLocalAsn,
        passive: true,
        // confd's rule, with no cluster id on the workload's side.
        routeReflectorClient: x.me.clusterId !== undefined && p.asn === effectiveLocalAsn,
        filters: p.spec.filters ?? [],
        source: p.res,
      });
    }
    if (used.length > 0)
      peerings.push({
        workload: w.name,
        bgpPeer: p.name,
        addresses: used,
        ...(w.ifName !== undefined ? { ifName: w.ifName } : {}),
      });
  }
  return { sessions, problems, peerings };
}
