/**
 * What felix is told about the cluster, in Calico's words (../shared/reference/calico.md §1-2): pools with
 * their encapsulation and natOutgoing, IPAM blocks and the node each is affine to, nodes with their
 * addresses and tunnel addresses, this node's local workload endpoints, and Felix's configuration with
 * Calico's defaults. Plain data; src/agent maps its resources onto these shapes. felix never imports src/.
 */

export type EncapMode = "Never" | "Always" | "CrossSubnet";

export interface PoolInput {
  readonly cidr: string;
  readonly vxlanMode?: EncapMode;
  readonly ipipMode?: EncapMode;
  readonly natOutgoing?: boolean;
  /** A disabled pool allocates nothing but still counts as "a Calico pool" for routing and NAT. */
  readonly disabled?: boolean;
}

export interface NodeInput {
  readonly name: string;
  /** `bgp.ipv4Address`: the node IP with its subnet's prefix length (`10.0.0.1/24`); CrossSubnet uses it. */
  readonly ipv4Address?: string;
  readonly ipv6Address?: string;
  /** `ipv4VXLANTunnelAddr`: the node's VTEP address (a /32 from a VXLAN pool). */
  readonly vxlanTunnelAddr?: string;
  /** `vxlanTunnelMACAddr`; when absent the MAC is derived from the node name (vtep-mac.ts). */
  readonly vxlanTunnelMac?: string;
  /** `ipv4IPIPTunnelAddr`: the address of tunl0. */
  readonly ipipTunnelAddr?: string;
}

/** An IPAM block and the node it is affine to. */
export interface BlockInput {
  readonly cidr: string;
  readonly node: string;
}

/** A local workload endpoint: its host-side interface (cali*), addresses and MAC. */
export interface WorkloadInput {
  /** For messages: `namespace/pod`. */
  readonly name?: string;
  readonly ifName: string;
  /** `ipNetworks` of the WorkloadEndpoint (`10.65.0.5/32`, or bare addresses). */
  readonly ipNetworks: readonly string[];
  /** The pod-side MAC, for the static ARP entry Calico installs. */
  readonly mac?: string;
  /**
   * Addresses of this node that the workload peers with over BGP (BGPConfiguration
   * localWorkloadPeeringIPV4/6 for a BGPPeer localWorkloadSelector match): bare IPs, at most one per
   * family, put on the host-side interface as a /32 or /128 with scope link (Calico's endpoint manager).
   */
  readonly peeringAddresses?: readonly string[];
}

/**
 * Which remote blocks felix routes from the datastore alone. "all": every block (no BGP on this node).
 * "encapsulated": blocks of VXLAN and IP-in-IP pools (Calico's `programClusterRoutes: Enabled`, the
 * v3.33 default; BGP programs no-encap pools). "vxlan": VXLAN pools only (BGP also programs IP-in-IP,
 * Calico's `programClusterRoutes: Disabled`).
 */
export type BlockRouteMode = "all" | "encapsulated" | "vxlan";

/** A best path learned over BGP, as the speaker holds it: where it goes and the next hop. */
export interface BgpRouteInput {
  readonly dst: string;
  readonly nextHop: string;
  /** Kernel metric; default `routeMetric`. Calico uses 2^31-1 - LOCAL_PREF. */
  readonly metric?: number;
}

/**
 * A route of this node's main table other than the ones felix programs from BGP: what a BGP next hop
 * off our links resolves through (recursive-next-hop.ts). Read from the kernel by the shell; interfaces
 * by name.
 */
export interface HostRouteInput {
  /** Canonical CIDR. */
  readonly dst: string;
  readonly type: "unicast" | "blackhole" | "unreachable" | "prohibit" | "throw";
  readonly gateway?: string;
  readonly ifName?: string;
  /** RTNH_F_ONLINK on the covering route: routes through it inherit it. */
  readonly onlink?: boolean;
  readonly metric?: number;
  /** More than one next hop (RTA_MULTIPATH): never resolved through. */
  readonly multipath?: boolean;
}

export interface FelixConfig {
  /** `InterfacePrefix`: interfaces whose names start with one of these are workload interfaces. */
  readonly interfacePrefixes: readonly string[];
  /** `DeviceRouteProtocol` (3 = boot): protocol of workload routes. */
  readonly deviceRouteProtocol: number;
  /** Protocol of every other route felix owns (Calico's 80 while DeviceRouteProtocol is boot). */
  readonly routeProtocol: number;
  /** Metric of workload routes: 0 as Calico <= v3.30 and its CNI plugin; v3.31+ uses 1024. */
  readonly workloadRouteMetric: number;
  /** Metric of block routes (remote blocks, blackholes). */
  readonly routeMetric: number;
  readonly routeTable: number;
  readonly vxlanVni: number;
  readonly vxlanPort: number;
  /** 0 = auto: host MTU - 50. */
  readonly vxlanMtu: number;
  /** 0 = auto: host MTU - 20. */
  readonly ipipMtu: number;
  /** `RouteRefreshInterval`: full resync period; 0 disables. */
  readonly routeRefreshIntervalMs: number;
  /** Calico's routeCleanupGracePeriod: unexpected routes on workload interfaces survive this long. */
  readonly routeCleanupGracePeriodMs: number;
  /** `MTUIfacePattern`: interfaces considered for host MTU detection. */
  readonly mtuIfacePattern: RegExp;
  readonly blockRoutes: BlockRouteMode;
  /** Protocol of routes programmed from BGP (BIRD's 12, so a Calico node's routes are adopted as is). */
  readonly bgpRouteProtocol: number;
}

export const DEFAULT_CONFIG: FelixConfig = {
  interfacePrefixes: ["cali"],
  deviceRouteProtocol: 3,
  routeProtocol: 80,
  workloadRouteMetric: 0,
  routeMetric: 0,
  routeTable: 254,
  vxlanVni: 4096,
  vxlanPort: 4789,
  vxlanMtu: 0,
  ipipMtu: 0,
  routeRefreshIntervalMs: 90_000,
  routeCleanupGracePeriodMs: 10_000,
  mtuIfacePattern: /^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)/,
  blockRoutes: "all",
  bgpRouteProtocol: 12,
};

/** Everything computeDesired needs. `host` is what the shell learned from the kernel. */
export interface DesiredInputs {
  readonly thisNode: NodeInput;
  /** Every node (this one may be included); remote blocks find their node here. */
  readonly nodes: readonly NodeInput[];
  readonly pools: readonly PoolInput[];
  /** Blocks affine to this node and to the others. */
  readonly blocks: readonly BlockInput[];
  readonly workloads: readonly WorkloadInput[];
  /**
   * Best paths learned over BGP, programmed with `bgpRouteProtocol` where felix does not route the
   * destination from blocks itself. Undefined = not known yet (before the first BGP sync): routes of
   * that protocol already in the kernel are left alone; defined = felix owns that protocol.
   */
  readonly bgpRoutes?: readonly BgpRouteInput[];
  /**
   * BGPConfiguration localWorkloadPeeringIPV4/6 as configured, whether or not a workload peers now: a
   * /32 or /128 scope-link address of one of these on a workload interface is felix's, and removed when
   * no workload there wants it (after a restart too). Bare IPs.
   */
  readonly localWorkloadPeeringIPs?: readonly string[];
  /** Routes felix always owns (protocol `routeProtocol`): /32s and /128s to BGP peers via their reachableBy gateway. */
  readonly staticRoutes?: readonly BgpRouteInput[];
  readonly host: {
    /** The interface holding this node's IP (VXLAN parent, no-encap next hop device). */
    readonly parentIface?: string;
    readonly hostMtu: number;
    /**
     * The main table's routes, without felix's BGP ones: BGP next hops off this node's subnet are
     * resolved through them (`gateway recursive`). Undefined: not resolved, `via <next hop>` as given.
     */
    readonly routes?: readonly HostRouteInput[];
  };
  readonly config?: Partial<FelixConfig>;
}
