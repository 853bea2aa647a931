/**
 * Node tunnel addresses (tunl0 for IP-in-IP, vxlan.calico for VXLAN, WireGuard), as calico-node's
 * allocateip reconciler assigns them (node/pkg/allocateip/allocateip.go): handle
 * `ipip-tunnel-addr-<node>`, `vxlan-tunnel-addr-<node>`, `vxlan-v6-tunnel-addr-<node>`,
 * `wireguard-tunnel-addr-<node>`, `wireguard-v6-tunnel-addr-<node>`; attributes `node` and `type`
 * (ipipTunnelAddress, vxlanTunnelAddress, ...); intended use Tunnel; pools: enabled, of the family,
 * allowing Tunnel, selecting the node, and with the encapsulation on (ipipMode / vxlanMode not Never;
 * WireGuard needs none). An existing address of the handle in such a pool is kept; otherwise it is
 * released and a new one assigned. Does not write the Node resource (the agent does).
 */
import type { Ipam } from "./client.js";
import { IpamError } from "./errors.js";
import { type Family, parseAddr } from "./ip.js";
import type { TunnelType } from "./model.js";
import { poolOf, poolSelectsNode, type ResolvedPool, resolvePools, type SelectorMatcher } from "./pools.js";

const HANDLE_PREFIX: Record<TunnelType, string> = {
  ipipTunnelAddress: "ipip-tunnel-addr-",
  vxlanTunnelAddress: "vxlan-tunnel-addr-",
  vxlanV6TunnelAddress: "vxlan-v6-tunnel-addr-",
  wireguardTunnelAddress: "wireguard-tunnel-addr-",
  wireguardV6TunnelAddress: "wireguard-v6-tunnel-addr-",
};

const FAMILY: Record<TunnelType, Family> = {
  ipipTunnelAddress: 4,
  vxlanTunnelAddress: 4,
  vxlanV6TunnelAddress: 6,
  wireguardTunnelAddress: 4,
  wireguardV6TunnelAddress: 6,
};

/** allocateip.go generateHandleAndAttributes. */
export function tunnelHandle(type: TunnelType, node: string): string {
  return `${HANDLE_PREFIX[type]}${node}`;
}

export function tunnelAttributes(type: TunnelType, node: string): Record<string, string> {
  return { node, type };
}

/** determineEnabledPoolCIDRs: the pools a node's tunnel address of `type` may come from. */
export function tunnelPools(
  pools: readonly ResolvedPool[],
  type: TunnelType,
  nodeLabels: Readonly<Record<string, string>>,
  match: SelectorMatcher,
): ResolvedPool[] {
  return pools.filter((p) => {
    if (p.disabled || p.cidr.family !== FAMILY[type] || !p.allowedUses.includes("Tunnel")) return false;
    if (!poolSelectsNode(p, nodeLabels, match)) return false;
    if (type === "ipipTunnelAddress") return p.ipipMode !== "Never";
    if (type === "vxlanTunnelAddress" || type === "vxlanV6TunnelAddress") return p.vxlanMode !== "Never";
    return true;
  });
}

/**
 * The node's tunnel address of `type`: the one it holds if still in a qualifying pool, else a new one.
 * IPAM_NO_POOLS when no pool qualifies (then any old address is released too).
 */
export async function ensureTunnelAddress(ipam: Ipam, node: string, type: TunnelType): Promise<string> {
  const { inputs, match } = ipam.ctx;
  const info = await inputs.node(node);
  if (info === undefined) {
    throw new IpamError("IPAM_NODE_NOT_FOUND", `resource does not exist: Node(${node})`, { node });
  }
  const pools = tunnelPools(resolvePools(await inputs.pools()), type, info.labels, match);
  const handle = tunnelHandle(type, node);
  const held = await ipam.ipsByHandle(handle).catch((e) => {
    if ((e as IpamError).code === "IPAM_HANDLE_NOT_FOUND") return [] as string[];
    throw e;
  });
  const keep = held.find((a) => poolOf(pools, parseAddr(a)!) !== undefined);
  if (keep !== undefined && held.length === 1) return keep;
  if (held.length > 0) await ipam.releaseByHandle(handle);
  if (pools.length === 0) {
    throw new IpamError("IPAM_NO_POOLS", `no enabled pool with ${type} for node ${node}`, { node });
  }
  const family = FAMILY[type];
  const r = await ipam.autoAssign({
    handleId: handle,
    node,
    use: "Tunnel",
    attrs: tunnelAttributes(type, node),
    ...(family === 4
      ? { num4: 1, pools4: pools.map((p) => p.cidrText) }
      : { num6: 1, pools6: pools.map((p) => p.cidrText) }),
  });
  return (family === 4 ? r.ipv4 : r.ipv6)[0]!.address;
}

/** Gives a node's tunnel address of `type` back (removeHostTunnelAddr); true when there was one. */
export async function releaseTunnelAddress(ipam: Ipam, node: string, type: TunnelType): Promise<boolean> {
  try {
    return (await ipam.releaseByHandle(tunnelHandle(type, node))).length > 0;
  } catch (e) {
    if ((e as IpamError).code === "IPAM_HANDLE_NOT_FOUND") return false;
    throw e;
  }
}
