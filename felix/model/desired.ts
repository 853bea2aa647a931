/**
 * What felix wants the kernel to hold, as data: routes (keyed as the kernel keys them), workload
 * interface settings, the tunnel devices, ARP/NDP and FDB entries, and the natOutgoing sets. Produced by
 * compute-desired.ts, consumed by the reconcilers. Interfaces are names here; the shell maps them to
 * ifindexes when it programs.
 */
import type { DataplaneError } from "../errors.js";
import type { NextHopResolution } from "./recursive-next-hop.js";

export type RouteType = "unicast" | "blackhole" | "local";

export interface DesiredRoute {
  /** Canonical CIDR. */
  readonly dst: string;
  readonly type: RouteType;
  readonly protocol: number;
  readonly ifName?: string;
  readonly gateway?: string;
  /** RTNH_F_ONLINK: the gateway is reachable on ifName without a covering route (tunnels). */
  readonly onlink?: boolean;
  readonly metric: number;
  readonly mtu?: number;
  /** Who wants it, for logs and errors: `workload default/web-1 on cali1234`, `remote block ... (vxlan)`. */
  readonly owner: string;
}

export interface DesiredWorkloadIface {
  readonly ifName: string;
  readonly name?: string;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/**
 * An address on a workload's host-side interface: the node's local workload peering address (Calico's
 * linkaddrs manager), `<address>/32` or `/128` with scope link.
 */
export interface DesiredLinkAddress {
  readonly ifName: string;
  /** Canonical, without a prefix. */
  readonly address: string;
  readonly prefixLen: 32 | 128;
  /** Who wants it, for logs: `local BGP peer default/speaker on cali1234`. */
  readonly owner: string;
}

export interface DesiredVxlan {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly parentIface?: string;
  /** Source address of the tunnel: the node IP. */
  readonly localIp: string;
  readonly mac: string;
  readonly mtu: number;
  /** The VTEP address, assigned /32. */
  readonly address: string;
}

export interface DesiredIpip {
  readonly name: "tunl0";
  readonly mtu: number;
  readonly address?: string;
}

/** A permanent ARP/NDP entry. */
export interface DesiredNeighbour {
  readonly ifName: string;
  readonly dst: string;
  readonly lladdr: string;
}

/** A permanent FDB entry on a VXLAN device: inner MAC -> outer destination. */
export interface DesiredFdb {
  readonly ifName: string;
  readonly lladdr: string;
  readonly dst: string;
}

export interface DesiredNat {
  /** Pools whose traffic to the outside is masqueraded (`natOutgoing: true`). */
  readonly masqPools4: readonly string[];
  readonly masqPools6: readonly string[];
  /** Every pool, enabled or not: destinations inside them are never masqueraded. */
  readonly allPools4: readonly string[];
  readonly allPools6: readonly string[];
}

export interface DesiredState {
  readonly routes: readonly DesiredRoute[];
  readonly workloads: readonly DesiredWorkloadIface[];
  /** Peering addresses on workload interfaces, sorted by interface, IPv4 first. */
  readonly linkAddresses: readonly DesiredLinkAddress[];
  /**
   * Addresses felix owns on workload interfaces besides those it wants now (the configured
   * localWorkloadPeeringIPs), canonical: /32 or /128 scope-link copies of them are removed where unwanted.
   */
  readonly ownedLinkAddresses: readonly string[];
  readonly vxlan?: DesiredVxlan;
  readonly ipip?: DesiredIpip;
  readonly neighbours: readonly DesiredNeighbour[];
  readonly fdb: readonly DesiredFdb[];
  readonly nat: DesiredNat;
  /** MTU for new pods: the smallest of the enabled encapsulations', else the host's (calico.md §2.14). */
  readonly podMtu: number;
  /**
   * BGP next hops off this node's subnet and what each resolved to through the host's routes; the
   * shell re-runs the computation when a route covering one of them changes.
   */
  readonly nextHops: readonly { readonly nextHop: string; readonly resolution: NextHopResolution }[];
  /** Parts of the input that could not be turned into state; everything else is still in here. */
  readonly errors: readonly DataplaneError[];
}
