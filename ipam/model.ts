/**
 * The shapes IPAM reads and writes, field for field as projectcalico.org/v3 stores them (calico.md
 * §1.1, §1.6-1.10; api/pkg/apis/projectcalico/v3/{ipamblocks,blockaffinity,ipamhandle,ipamconfig,
 * ipreservation,ippool}.go), declared here because ipam/ never imports src/ (design.md); src/api's types
 * are structurally the same. Also the attribute keys and handle conventions of libcalico-go
 * (model/block.go, design/ipam/ipam-core-library.md) and IPAMConfiguration's defaults as the library
 * applies them. Pure data.
 */

export interface AllocationAttribute {
  handle_id?: string;
  /** Calico's ActiveOwnerAttrs (JSON name `secondary`): pod, namespace, node, type, timestamp. */
  secondary?: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  releasedAt?: string;
}

export interface BlockSpec {
  cidr: string;
  /** `host:<node>` or `virtual:<name>`; absent = unaffine. */
  affinity?: string;
  affinityClaimTime?: string;
  /** One entry per ordinal: null when free, else an index into `attributes`. */
  allocations: (number | null)[];
  /** Free ordinals, FIFO: allocate from the head, release to the tail (reuse delay). */
  unallocated: number[];
  attributes: AllocationAttribute[];
  /** Bumped on every write of the block. */
  sequenceNumber: number;
  /** Ordinal (as a string) -> the block's sequence number when it was allocated (ABA check on release). */
  sequenceNumberForAllocation?: Record<string, number>;
  deleted: boolean;
  strictAffinity: boolean;
}

export type AffinityState = "" | "pending" | "confirmed" | "pendingDeletion";

export interface AffinitySpec {
  state: AffinityState;
  node: string;
  type?: "host" | "virtual";
  cidr: string;
  deleted: boolean;
}

export interface HandleSpec {
  handleID: string;
  /** Block CIDR -> how many addresses this handle holds there. */
  block: Record<string, number>;
  deleted: boolean;
}

export type AllowedUse = "Workload" | "Tunnel" | "LoadBalancer";

/** The IPPool fields IPAM reads (ippool.go), with clientv3's defaults applied by `resolvePool`. */
export interface PoolSpec {
  cidr: string;
  vxlanMode?: "Never" | "Always" | "CrossSubnet";
  ipipMode?: "Never" | "Always" | "CrossSubnet";
  disabled?: boolean;
  blockSize?: number;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: AllowedUse[];
  assignmentMode?: "Automatic" | "Manual";
}

export interface Pool {
  readonly name: string;
  readonly spec: PoolSpec;
}

export interface IpamConfigSpec {
  strictAffinity: boolean;
  maxBlocksPerHost?: number;
  autoAllocateBlocks: boolean;
}

/** IPAMConfiguration as the library uses it: the CRD defaults when the singleton is absent. */
export interface IpamConfig {
  readonly strictAffinity: boolean;
  readonly autoAllocateBlocks: boolean;
  /** 0 means "no limit given"; the per-host cap then defaults to 20 (ipam.go autoAssign). */
  readonly maxBlocksPerHost: number;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = {
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
};

export function resolveIpamConfig(spec: Partial<IpamConfigSpec> | undefined): IpamConfig {
  return {
    strictAffinity: spec?.strictAffinity ?? false,
    autoAllocateBlocks: spec?.autoAllocateBlocks ?? true,
    maxBlocksPerHost: spec?.maxBlocksPerHost ?? 0,
  };
}

/** Calico's default when neither the request nor IPAMConfiguration sets maxBlocksPerHost (issue #9462). */
export const DEFAULT_MAX_BLOCKS_PER_HOST = 20;

/** Allocation attribute keys (libcalico-go/lib/backend/model/block.go). */
export const ATTR = {
  pod: "pod",
  namespace: "namespace",
  node: "node",
  type: "type",
  service: "service",
  timestamp: "timestamp",
} as const;

/** Values of the `type` attribute for node tunnel addresses (model/block.go). */
export type TunnelType =
  | "ipipTunnelAddress"
  | "vxlanTunnelAddress"
  | "vxlanV6TunnelAddress"
  | "wireguardTunnelAddress"
  | "wireguardV6TunnelAddress";

/** The handle of Windows' per-block reserved addresses (ipam_block.go WindowsReservedHandle). */
export const WINDOWS_RESERVED_HANDLE = "windows-reserved-ipam-handle";

/**
 * Addresses reserved at the start and end of every new block (ipam_types.go HostReservedAttr). Linux
 * reserves none; Windows reserves the first 3 and the last 1 (network, gateway, DNS, broadcast).
 */
export interface HostReservedAttr {
  readonly startOfBlock: number;
  readonly endOfBlock: number;
  readonly handle: string;
  readonly note: string;
}

export const WINDOWS_HOST_RESERVED: HostReservedAttr = {
  startOfBlock: 3,
  endOfBlock: 1,
  handle: WINDOWS_RESERVED_HANDLE,
  note: "windows host rsvd",
};

/** `host:<node>`, the block affinity string (ipam_block.go affinityMatches). */
export function hostAffinity(node: string): string {
  return `host:${node}`;
}

/** The node of a `host:<node>` affinity, or undefined for virtual or no affinity. */
export function affinityHost(affinity: string | undefined): string | undefined {
  return affinity?.startsWith("host:") ? affinity.slice(5) : undefined;
}

/** Calico's sanitizeHandle: handles written by a broken host-local migration carry `\r...` (cni-plugin#821). */
export function sanitizeHandle(handle: string): string {
  return handle.split("\r")[0]!;
}
