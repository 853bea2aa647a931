/**
 * ipam/ as a library: Calico's block IPAM (host affinity, two-phase claims, borrowing, handles, release
 * with sequence numbers, leak check and repair) over any compare-and-swap store that implements
 * store.ts. Nothing here imports src/; tabby's src/ipam adapts its datastores to it.
 */

export type { AssignedAddress } from "./assign.js";
export { assignFromBlock, newBlock, releaseFromBlock, validateBlock } from "./block.js";
export {
  type CheckInput,
  type CheckReport,
  checkIpam,
  DEFAULT_LEAK_GRACE_MS,
  type WorkloadInfo,
} from "./check.js";
export {
  type AddressInfo,
  type AssignIpRequest,
  type AutoAssignRequest,
  type AutoAssignResult,
  Ipam,
  type IpamOptions,
} from "./client.js";
export { type Clock, systemClock } from "./clock.js";
export { IpamError, type IpamErrorCode, isIpamError } from "./errors.js";
export { MemoryInputs, MemoryStore } from "./memory-store.js";
export * from "./model.js";
export { affinityName, blockName, handleName } from "./names.js";
export { type ResolvedPool, resolvePools, type SelectorMatcher, selectPools } from "./pools.js";
export { type RepairOutcome, repairIpam } from "./repair.js";
export type { IpamInputs, IpamStore, KindSpecs, NodeInfo, StoreWrite, Versioned } from "./store.js";
export { ensureTunnelAddress, releaseTunnelAddress, tunnelHandle } from "./tunnel.js";
export { computeUsage, type PoolUsage } from "./usage.js";
