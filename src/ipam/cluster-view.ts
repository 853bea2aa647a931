/**
 * What `tabbyctl ipam check` and `ipam show` read from a datastore: the IPAM objects, the pools, the nodes
 * with their tunnel addresses (calicoctl's getNodeIPs: IPv4 VXLAN, WireGuard and IP-in-IP tunnel
 * addresses) and the WorkloadEndpoints' addresses, as ipam/check.ts's input.
 */

import type { CheckInput, WorkloadInfo } from "../../ipam/check.js";
import type { Pool } from "../../ipam/model.js";
import { resolvePools } from "../../ipam/pools.js";
import type { NodeSpec } from "../api/node.js";
import type { WorkloadEndpointSpec } from "../api/workload-endpoint.js";
import type { Datastore } from "../datastore/types.js";
import { DatastoreIpamStore } from "./datastore-store.js";

export function nodeTunnelAddresses(spec: NodeSpec | undefined): string[] {
  const out: string[] = [];
  if (spec?.ipv4VXLANTunnelAddr) out.push(spec.ipv4VXLANTunnelAddr);
  if (spec?.wireguard?.interfaceIPv4Address) out.push(spec.wireguard.interfaceIPv4Address);
  if (spec?.bgp?.ipv4IPIPTunnelAddr) out.push(spec.bgp.ipv4IPIPTunnelAddr);
  return out;
}

export async function readCheckInput(
  ds: Datastore,
  options: { readonly nowMs: number; readonly graceMs: number },
): Promise<CheckInput> {
  const store = new DatastoreIpamStore(ds);
  const [blocks, affinities, handles, pools, nodes, weps] = await Promise.all([
    store.list("IPAMBlock"),
    store.list("BlockAffinity"),
    store.list("IPAMHandle"),
    ds.list("IPPool"),
    ds.list("Node"),
    ds.list("WorkloadEndpoint"),
  ]);
  const workloads: WorkloadInfo[] = weps.items.map((r) => {
    const s = r.spec as WorkloadEndpointSpec;
    return {
      namespace: r.metadata.namespace ?? "default",
      name: r.metadata.name,
      ...(s.pod !== undefined ? { pod: s.pod } : {}),
      ...(s.node !== undefined ? { node: s.node } : {}),
      addresses: s.ipNetworks ?? [],
    };
  });
  return {
    blocks,
    affinities,
    handles,
    pools: resolvePools(
      pools.items.map((r): Pool => ({ name: r.metadata.name, spec: r.spec as Pool["spec"] })),
    ),
    nodes: new Map(nodes.items.map((r) => [r.metadata.name, nodeTunnelAddresses(r.spec as NodeSpec)])),
    workloads,
    nowMs: options.nowMs,
    graceMs: options.graceMs,
  };
}
