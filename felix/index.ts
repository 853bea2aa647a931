/**
 * felix's public surface, for src/agent and for anyone lifting felix/ out as a library (design.md):
 * the Dataplane (one node's kernel converged to the cluster), the pure desired-state model, the route
 * table reconciler, the rtnetlink client and codecs, and the typed errors. Nothing here imports src/.
 */
export { type Clock, systemClock, type TimerHandle } from "./clock.js";
export { type ClusterState, Dataplane, type DataplaneOptions, type PassResult } from "./dataplane.js";
export {
  DataplaneError,
  type DataplaneErrorCode,
  errnoName,
  NetlinkDecodeError,
  NetlinkError,
} from "./errors.js";
export { type NftRunner, nftRunner, renderNatRuleset } from "./managers/nat-outgoing.js";
export { computeDesired, IPIP_IFACE, isWorkloadIface, VXLAN_IFACE } from "./model/compute-desired.js";
export type * from "./model/desired.js";
export {
  type BlockInput,
  DEFAULT_CONFIG,
  type DesiredInputs,
  type EncapMode,
  type FelixConfig,
  type HostRouteInput,
  type NodeInput,
  type PoolInput,
  type WorkloadInput,
} from "./model/inputs.js";
export { computeEncapMtus, computeHostMtu } from "./model/mtu.js";
export {
  indexNextHopTable,
  type NextHopResolution,
  type NextHopTable,
  resolveNextHop,
} from "./model/recursive-next-hop.js";
export { computeVtepMac } from "./model/vtep-mac.js";
export type { Addr } from "./netlink/addr-codec.js";
export { NetlinkEvents, type RtnlEvent } from "./netlink/events.js";
export type { Link } from "./netlink/link-codec.js";
export type { Neigh } from "./netlink/neigh-codec.js";
export { describeRoute, type Route, routeKey } from "./netlink/route-codec.js";
export { type RouteWrite, Rtnetlink, type RtnetlinkApi } from "./netlink/rtnetlink.js";
export { type ApplyResult, RouteTable, type RouteTableOptions } from "./routes/route-table.js";
