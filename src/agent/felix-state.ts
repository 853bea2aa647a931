/**
 * What felix is told, computed from the agent's caches (calico.md §2): pools with their encapsulation,
 * IPAM blocks with the node each is affine to (plus /32s and /128s of addresses another node borrowed
 * from a block, from the allocation's `node` attribute, as Felix's route resolver does), nodes with
 * their addresses, tunnel addresses and VTEP MACs, this node's workload endpoints (with the peering
 * address of those that are local BGP peers, from the BGP plan, and BGPConfiguration default's
 * localWorkloadPeeringIPV4/6 as the addresses felix owns on their interfaces), and the routes the
 * BGP speaker learned. Which remote blocks felix routes on its own follows the networking backend:
 * with BGP (`bird`) felix routes the encapsulated pools (Calico's programClusterRoutes: Enabled) and
 * BGP the rest; without it (`vxlan`, `none`) felix routes every block from the datastore. Pure.
 */
import type { ClusterState } from "../../felix/dataplane.js";
import type {
  BgpRouteInput,
  BlockInput,
  BlockRouteMode,
  NodeInput,
  PoolInput,
  WorkloadInput,
} from "../../felix/model/inputs.js";
import { formatAddr, nthAddr, parseCidr } from "../../ipam/ip.js";
import type { BGPConfigurationSpec } from "../api/bgpconfig.js";
import type { IPAMBlockSpec } from "../api/ipam-block.js";
import type { IPPoolSpec } from "../api/ippool.js";
import type { Resource } from "../api/meta.js";
import type { NodeSpec } from "../api/node.js";
import type { WorkloadEndpointSpec } from "../api/workload-endpoint.js";

export type NetworkingBackend = "bird" | "vxlan" | "none";

export interface FelixInputs {
  readonly nodeName: string;
  readonly nodes: readonly Resource[];
  readonly pools: readonly Resource[];
  readonly blocks: readonly Resource[];
  /** WorkloadEndpoints; only this node's are used. */
  readonly workloads: readonly Resource[];
  /** Undefined until the speaker's initial sync is done (see felix's DesiredInputs.bgpRoutes). */
  readonly bgpRoutes: readonly BgpRouteInput[] | undefined;
  /** The BGP plan's routes to peers via their reachableBy gateway. */
  readonly staticRoutes?: readonly BgpRouteInput[];
  /** The BGP plan's workloadPeeringAddresses: the node's peering address per local BGP peer's interface. */
  readonly workloadPeeringAddresses?: readonly { readonly ifName: string; readonly address: string }[];
  /** BGPConfigurations; `default`'s localWorkloadPeeringIPV4/6 are the addresses felix owns on cali*s. */
  readonly bgpConfigurations?: readonly Resource[];
}

export function blockRouteMode(backend: NetworkingBackend): BlockRouteMode {
  return backend === "bird" ? "encapsulated" : "all";
}

export function nodeInput(r: Resource): NodeInput {
  const s = (r.spec ?? {}) as NodeSpec;
  return {
    name: r.metadata.name,
    ...(s.bgp?.ipv4Address ? { ipv4Address: s.bgp.ipv4Address } : {}),
    ...(s.bgp?.ipv6Address ? { ipv6Address: s.bgp.ipv6Address } : {}),
    ...(s.ipv4VXLANTunnelAddr ? { vxlanTunnelAddr: s.ipv4VXLANTunnelAddr } : {}),
    ...(s.vxlanTunnelMACAddr ? { vxlanTunnelMac: s.vxlanTunnelMACAddr } : {}),
    ...(s.bgp?.ipv4IPIPTunnelAddr ? { ipipTunnelAddr: s.bgp.ipv4IPIPTunnelAddr } : {}),
  };
}

function poolInput(r: Resource): PoolInput {
  const s = (r.spec ?? {}) as IPPoolSpec;
  return {
    cidr: typeof s.cidr === "string" ? s.cidr : `(IPPool ${r.metadata.name} has no spec.cidr)`,
    ...(s.vxlanMode ? { vxlanMode: s.vxlanMode } : {}),
    ...(s.ipipMode ? { ipipMode: s.ipipMode } : {}),
    ...(s.natOutgoing ? { natOutgoing: true } : {}),
    ...(s.disabled ? { disabled: true } : {}),
  };
}

/** `host:<node>` affinities only; virtual owners route nowhere. */
export function blockNode(affinity: string | undefined): string | undefined {
  return affinity?.startsWith("host:") ? affinity.slice(5) : undefined;
}

/** The address of ordinal `i` of `cidr`, for IPv4 and IPv6. */
export function ordinalAddress(cidr: string, i: number): string {
  const c = parseCidr(cidr);
  if (c === undefined) throw new Error(`bad block CIDR ${cidr}`);
  return formatAddr(nthAddr(c, i));
}

function blockInputs(blocks: readonly Resource[]): BlockInput[] {
  const out: BlockInput[] = [];
  for (const b of blocks) {
    const s = (b.spec ?? {}) as IPAMBlockSpec;
    const owner = blockNode(typeof s.affinity === "string" ? s.affinity : undefined);
    if (owner === undefined || typeof s.cidr !== "string") continue;
    out.push({ cidr: s.cidr, node: owner });
    const host = s.cidr.includes(":") ? 128 : 32;
    // felix names a bad CIDR; its allocations cannot be placed.
    if (!Array.isArray(s.allocations) || parseCidr(s.cidr) === undefined) continue;
    s.allocations.forEach((a, i) => {
      if (a === null || a === undefined) return;
      const node = s.attributes?.[a]?.secondary?.node;
      if (node !== undefined && node !== "" && node !== owner) {
        out.push({ cidr: `${ordinalAddress(s.cidr, i)}/${host}`, node });
      }
    });
  }
  return out;
}

export function workloadInputs(
  nodeName: string,
  weps: readonly Resource[],
  peering: readonly { readonly ifName: string; readonly address: string }[] = [],
): WorkloadInput[] {
  const peeringByIface = new Map<string, string[]>();
  for (const p of peering) peeringByIface.set(p.ifName, [...(peeringByIface.get(p.ifName) ?? []), p.address]);
  const out: WorkloadInput[] = [];
  for (const w of weps) {
    const s = (w.spec ?? {}) as WorkloadEndpointSpec;
    if (s.node !== nodeName || typeof s.interfaceName !== "string" || !Array.isArray(s.ipNetworks)) continue;
    if (s.ipNetworks.length === 0) continue;
    out.push({
      name: `${w.metadata.namespace ?? ""}/${s.pod || s.workload || w.metadata.name}`,
      ifName: s.interfaceName,
      ipNetworks: s.ipNetworks ?? [],
      ...(s.mac ? { mac: s.mac } : {}),
      ...(peeringByIface.has(s.interfaceName)
        ? { peeringAddresses: peeringByIface.get(s.interfaceName)! }
        : {}),
    });
  }
  return out;
}

export function computeClusterState(x: FelixInputs): ClusterState {
  const nodes = x.nodes.map(nodeInput);
  const me = nodes.find((n) => n.name === x.nodeName) ?? { name: x.nodeName };
  const dflt = (x.bgpConfigurations?.find((c) => c.metadata.name === "default")?.spec ??
    {}) as BGPConfigurationSpec;
  // Validation refuses anything else; felix names what does not parse.
  const peeringIPs = [dflt.localWorkloadPeeringIPV4, dflt.localWorkloadPeeringIPV6].filter(
    (ip): ip is string => typeof ip === "string" && ip !== "",
  );
  return {
    thisNode: me,
    nodes,
    pools: x.pools.map(poolInput),
    blocks: blockInputs(x.blocks),
    workloads: workloadInputs(x.nodeName, x.workloads, x.workloadPeeringAddresses),
    ...(x.bgpRoutes !== undefined ? { bgpRoutes: x.bgpRoutes } : {}),
    ...(x.staticRoutes !== undefined && x.staticRoutes.length > 0 ? { staticRoutes: x.staticRoutes } : {}),
    ...(peeringIPs.length > 0 ? { localWorkloadPeeringIPs: peeringIPs } : {}),
  };
}
