/**
 * What calico-node's startup writes before anything else runs (calico.md §1.5): the Node resource with
 * this node's BGP addresses (address/prefix: the subnet CrossSubnet uses) and AS number, the default
 * IPPools when the cluster has none of a family, and, whenever the pools change, the node's tunnel
 * addresses (IP-in-IP on tunl0, VXLAN with its VTEP MAC) through ipam/tunnel.ts, as Calico's
 * allocateip reconciler does. Every write is a compare-and-swap re-read on conflict, and the address
 * check comes first: a node whose IP another Node already holds is refused before anything is written
 * (calico-node exits with the same complaint), so nothing is half-registered.
 */
import { computeVtepMac } from "../../felix/model/vtep-mac.js";
import type { Ipam } from "../../ipam/client.js";
import type { TunnelType } from "../../ipam/model.js";
import { ensureTunnelAddress, releaseTunnelAddress } from "../../ipam/tunnel.js";
import type { IPPoolSpec } from "../api/ippool.js";
import { API_VERSION, type Resource } from "../api/meta.js";
import type { NodeSpec } from "../api/node.js";
import { compileSelector } from "../api/selector/selector.js";
import type { Datastore } from "../datastore/types.js";
import { TabbyError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";

export interface NodeIdentity {
  readonly name: string;
  /** `10.0.0.11/24`; null removes it (IP=none); undefined keeps what the Node has. */
  readonly ipv4?: string | null;
  readonly ipv6?: string | null;
  /** AS from the environment; undefined keeps the Node's (or the global default). */
  readonly asn?: number;
}

const isCode = (e: unknown, code: string): boolean => (e as { code?: string }).code === code;

const addrOf = (cidr: string | undefined): string | undefined => cidr?.split("/")[0];

/** The Node resource after registration: `existing` with this node's addresses and AS. Pure. */
export function registeredNode(existing: Resource | undefined, id: NodeIdentity): Resource {
  const spec: NodeSpec = structuredClone((existing?.spec ?? {}) as NodeSpec);
  const bgp = { ...(spec.bgp ?? {}) };
  if (id.ipv4 === null) delete bgp.ipv4Address;
  else if (id.ipv4 !== undefined) bgp.ipv4Address = id.ipv4;
  if (id.ipv6 === null) delete bgp.ipv6Address;
  else if (id.ipv6 !== undefined) bgp.ipv6Address = id.ipv6;
  if (id.asn !== undefined) bgp.asNumber = id.asn;
  // Calico drops the BGP section of a node without a BGP address (validateNodeSpec rejects it empty).
  if (bgp.ipv4Address === undefined && bgp.ipv6Address === undefined) delete spec.bgp;
  else spec.bgp = bgp;
  return {
    apiVersion: API_VERSION,
    kind: "Node",
    metadata: existing
      ? { ...existing.metadata }
      : { name: id.name, labels: { "projectcalico.org/kube-controllers-managed": "false" } },
    spec,
    ...(existing?.status !== undefined ? { status: existing.status } : {}),
  };
}

/** Another node already holding one of our addresses, in calico-node's words; undefined if none. */
export function addressConflict(nodes: readonly Resource[], id: NodeIdentity): string | undefined {
  for (const n of nodes) {
    if (n.metadata.name === id.name) continue;
    const bgp = (n.spec as NodeSpec | undefined)?.bgp;
    for (const [mine, theirs, fam] of [
      [id.ipv4, bgp?.ipv4Address, "IPv4"],
      [id.ipv6, bgp?.ipv6Address, "IPv6"],
    ] as const) {
      if (typeof mine === "string" && addrOf(mine) === addrOf(theirs)) {
        return `Calico node '${n.metadata.name}' is already using the ${fam} address ${addrOf(mine)}`;
      }
    }
  }
  return undefined;
}

/** Reads, changes and writes with compare-and-swap until it sticks (or `tries` conflicts in a row). */
async function casUpdate(
  ds: Datastore,
  read: () => Promise<Resource | undefined>,
  change: (current: Resource | undefined) => Resource | undefined,
  tries = 10,
): Promise<Resource | undefined> {
  for (let i = 0; ; i++) {
    const current = await read();
    const next = change(current);
    if (next === undefined) return current;
    if (current !== undefined && JSON.stringify(next.spec) === JSON.stringify(current.spec)) return current;
    try {
      return current === undefined ? await ds.create(next) : await ds.update(next);
    } catch (e) {
      if (i + 1 < tries && (isCode(e, "DATASTORE_CONFLICT") || isCode(e, "DATASTORE_ALREADY_EXISTS")))
        continue;
      throw e;
    }
  }
}

const readNode = (ds: Datastore, name: string) => (): Promise<Resource | undefined> =>
  ds.get({ kind: "Node", name }).catch((e: unknown) => {
    if (isCode(e, "DATASTORE_NOT_FOUND")) return undefined;
    throw e;
  });

export async function registerNode(ds: Datastore, id: NodeIdentity): Promise<Resource> {
  const conflict = addressConflict((await ds.list("Node")).items, id);
  if (conflict !== undefined) {
    throw new TabbyError("AGENT_ADDRESS_IN_USE", conflict, { field: "spec.bgp", value: id.ipv4 ?? id.ipv6 });
  }
  const r = await casUpdate(ds, readNode(ds, id.name), (cur) => registeredNode(cur, id));
  return r!;
}

/** Creates each default pool whose family has no pool yet (calico-node's configureIPPools). */
export async function ensureDefaultPools(
  ds: Datastore,
  pools: readonly Resource[],
  log: Logger,
): Promise<string[]> {
  const existing = (await ds.list("IPPool")).items;
  const created: string[] = [];
  for (const p of pools) {
    const v6 = (p.spec as IPPoolSpec).cidr.includes(":");
    if (existing.some((e) => String((e.spec as IPPoolSpec | undefined)?.cidr ?? "").includes(":") === v6))
      continue;
    try {
      await ds.create(p);
      created.push(p.metadata.name);
      log.info({ pool: p.metadata.name, cidr: (p.spec as IPPoolSpec).cidr }, "created default IP pool");
    } catch (e) {
      if (!isCode(e, "DATASTORE_ALREADY_EXISTS")) throw e;
    }
  }
  return created;
}

export interface TunnelNeeds {
  readonly ipip: boolean;
  readonly vxlan: boolean;
}

/** Which tunnel addresses this node needs: an enabled IPv4 pool selecting it with that encapsulation. */
export function tunnelNeeds(
  pools: readonly Resource[],
  labels: Readonly<Record<string, string>>,
  backend: "bird" | "vxlan" | "none",
): TunnelNeeds {
  let ipip = false;
  let vxlan = false;
  for (const p of pools) {
    const s = p.spec as IPPoolSpec;
    if (s.disabled || typeof s.cidr !== "string" || s.cidr.includes(":")) continue;
    let selects = true;
    try {
      selects = compileSelector(s.nodeSelector || "all()").matches(labels);
    } catch {
      selects = false;
    }
    if (!selects) continue;
    if ((s.ipipMode ?? "Never") !== "Never") ipip = true;
    if ((s.vxlanMode ?? "Never") !== "Never") vxlan = true;
  }
  // IP-in-IP needs BGP to carry the routes in Calico; the vxlan backend has no BIRD (calico.md §1.1).
  return { ipip: ipip && backend === "bird", vxlan: vxlan && backend !== "none" };
}

/**
 * Gives the node the tunnel addresses `needs` says, releases the others, and records them (with the
 * VTEP MAC) on the Node. Returns the Node as written.
 */
export async function reconcileTunnels(
  ds: Datastore,
  ipam: Ipam,
  nodeName: string,
  needs: TunnelNeeds,
): Promise<Resource> {
  const addr = async (type: TunnelType, need: boolean): Promise<string | undefined> => {
    if (need) return ensureTunnelAddress(ipam, nodeName, type);
    await releaseTunnelAddress(ipam, nodeName, type);
    return undefined;
  };
  const ipip = await addr("ipipTunnelAddress", needs.ipip);
  const vxlan = await addr("vxlanTunnelAddress", needs.vxlan);
  const r = await casUpdate(ds, readNode(ds, nodeName), (cur) => {
    if (cur === undefined)
      throw new TabbyError(
        "AGENT_NODE_GONE",
        `Node ${nodeName} was deleted while its tunnel addresses were assigned`,
      );
    const spec: NodeSpec = structuredClone((cur.spec ?? {}) as NodeSpec);
    if (ipip !== undefined && spec.bgp !== undefined) spec.bgp.ipv4IPIPTunnelAddr = ipip;
    else if (spec.bgp !== undefined) delete spec.bgp.ipv4IPIPTunnelAddr;
    if (vxlan !== undefined) {
      spec.ipv4VXLANTunnelAddr = vxlan;
      spec.vxlanTunnelMACAddr ??= computeVtepMac(nodeName);
    } else {
      delete spec.ipv4VXLANTunnelAddr;
      delete spec.vxlanTunnelMACAddr;
    }
    return { ...cur, spec };
  });
  return r!;
}
