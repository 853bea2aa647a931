/**
 * The desired dataplane of one node, computed from the cluster (calico.md §2.6-2.11, 2.14, 2.15):
 * - each local workload IP: `<ip>/32 dev caliX scope link proto boot` (+ a permanent ARP entry);
 * - each local block: `blackhole <block> proto 80` (not for /32 blocks, which would shadow the CNI's /32);
 * - each remote block, the way its pool says: VXLAN `via <vtep> dev vxlan.calico onlink` with the
 *   VTEP's ARP and FDB entries, IP-in-IP `via <node> dev tunl0 onlink`, or direct `via <node> dev
 *   <parent>`; CrossSubnet encapsulates only when the remote node IP is outside this node's
 *   `bgp.ipv4Address` subnet (felix/calc/l3_route_resolver.go);
 * - each route learned over BGP `via <next hop>`, or, when the next hop is off our subnet, via the
 *   immediate gateway of the host route covering it (recursive-next-hop.ts, BIRD's `gateway recursive`);
 * - each workload that is a local BGP peer: the node's peering address (localWorkloadPeeringIPV4/6) on its
 *   cali* as a /32 or /128 with scope link, one per family (Calico's endpoint manager + linkaddrs);
 * - the tunnel devices, their MTUs, the pod MTU, and the natOutgoing pool sets.
 * Pure. Input that cannot be honoured becomes a DataplaneError naming it; the rest is still computed.
 */
import { DataplaneError } from "../errors.js";
import {
  type Cidr,
  cidrContainsCidr,
  cidrContainsIp,
  type Family,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
} from "../ip.js";
import type {
  DesiredFdb,
  DesiredIpip,
  DesiredLinkAddress,
  DesiredNeighbour,
  DesiredRoute,
  DesiredState,
  DesiredVxlan,
  DesiredWorkloadIface,
} from "./desired.js";
import {
  DEFAULT_CONFIG,
  type DesiredInputs,
  type EncapMode,
  type FelixConfig,
  type NodeInput,
} from "./inputs.js";
import { computeEncapMtus } from "./mtu.js";
import {
  indexNextHopTable,
  type NextHopResolution,
  type NextHopTable,
  resolveNextHop,
} from "./recursive-next-hop.js";
import { computeVtepMac } from "./vtep-mac.js";

export const VXLAN_IFACE = "vxlan.calico";
export const IPIP_IFACE = "tunl0";

interface Pool {
  readonly cidr: Cidr;
  readonly text: string;
  readonly vxlanMode: EncapMode;
  readonly ipipMode: EncapMode;
  readonly natOutgoing: boolean;
}

export function resolveConfig(partial: Partial<FelixConfig> | undefined): FelixConfig {
  return { ...DEFAULT_CONFIG, ...(partial ?? {}) };
}

export function isWorkloadIface(name: string, cfg: Pick<FelixConfig, "interfacePrefixes">): boolean {
  return cfg.interfacePrefixes.some((p) => name.startsWith(p));
}

function tryParse(text: string, what: string, errors: DataplaneError[]): Cidr | undefined {
  try {
    return parseCidr(text);
  } catch (e) {
    errors.push(new DataplaneError("FELIX_BAD_INPUT", `${what}: ${(e as Error).message}`, { cidr: text }));
    return undefined;
  }
}

/** The node IP of `family` without its prefix, and the subnet it implies. */
function nodeAddress(n: NodeInput, family: Family): { ip: Uint8Array; subnet: Cidr } | undefined {
  const text = family === 4 ? n.ipv4Address : n.ipv6Address;
  if (text === undefined || text === "") return undefined;
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  return { ip, subnet: parseCidr(text) };
}

export function computeDesired(inp: DesiredInputs): DesiredState {
  const cfg = resolveConfig(inp.config);
  const errors: DataplaneError[] = [];
  const routes = new Map<string, DesiredRoute>();
  const mtus = computeEncapMtus(inp.host.hostMtu, cfg);

  const addRoute = (r: DesiredRoute): void => {
    const key = `${r.dst}|${r.metric}`;
    const had = routes.get(key);
    if (had === undefined) {
      routes.set(key, r);
      return;
    }
    errors.push(
      new DataplaneError(
        "FELIX_ROUTE_CONFLICT",
        `route ${r.dst} wanted twice: by ${had.owner} and by ${r.owner}; keeping the first`,
        { route: r.dst, ...(r.ifName ? { iface: r.ifName } : {}) },
      ),
    );
  };

  // Pools: the most specific pool containing a block decides how it is reached.
  const pools: Pool[] = [];
  for (const p of inp.pools) {
    const cidr = tryParse(p.cidr, `IPPool ${p.cidr}`, errors);
    if (cidr === undefined) continue;
    pools.push({
      cidr,
      text: formatCidr(cidr),
      vxlanMode: p.vxlanMode ?? "Never",
      ipipMode: p.ipipMode ?? "Never",
      natOutgoing: p.natOutgoing ?? false,
    });
  }
  pools.sort((a, b) => b.cidr.prefixLen - a.cidr.prefixLen);
  const poolOf = (c: Cidr): Pool | undefined => pools.find((p) => cidrContainsCidr(p.cidr, c));
  const felixRoutes = (p: Pool): boolean =>
    cfg.blockRoutes === "all" ||
    p.vxlanMode !== "Never" ||
    (cfg.blockRoutes === "encapsulated" && p.ipipMode !== "Never");
  const vxlanOn = pools.some((p) => p.cidr.family === 4 && p.vxlanMode !== "Never");
  const ipipOn = pools.some((p) => p.cidr.family === 4 && p.ipipMode !== "Never");

  const me = inp.thisNode;
  let my4: { ip: Uint8Array; subnet: Cidr } | undefined;
  let my6: { ip: Uint8Array; subnet: Cidr } | undefined;
  try {
    my4 = nodeAddress(me, 4);
    my6 = nodeAddress(me, 6);
  } catch (e) {
    errors.push(new DataplaneError("FELIX_BAD_INPUT", `node ${me.name}: ${(e as Error).message}`));
  }

  /** A bare IP, canonical, or undefined (reported) when it does not parse. */
  const tryIp = (text: string, what: string, iface?: string): Uint8Array | undefined => {
    try {
      return parseIp(text);
    } catch (e) {
      const subject = iface !== undefined ? { iface } : {};
      errors.push(new DataplaneError("FELIX_BAD_INPUT", `${what}: ${(e as Error).message}`, subject));
      return undefined;
    }
  };

  // Local workloads (calico.md §2.6).
  const workloads: DesiredWorkloadIface[] = [];
  const linkAddresses: DesiredLinkAddress[] = [];
  const neighbours: DesiredNeighbour[] = [];
  for (const w of [...inp.workloads].sort((a, b) =>
    a.ifName < b.ifName ? -1 : a.ifName > b.ifName ? 1 : 0,
  )) {
    const who = `workload ${w.name ?? w.ifName} on ${w.ifName}`;
    if (!isWorkloadIface(w.ifName, cfg)) {
      errors.push(
        new DataplaneError(
          "FELIX_BAD_INPUT",
          `${who}: interface name does not start with ${cfg.interfacePrefixes.join("|")}`,
          { iface: w.ifName },
        ),
      );
      continue;
    }
    let v4 = false;
    let v6 = false;
    for (const net of w.ipNetworks) {
      const c = tryParse(net, who, errors);
      if (c === undefined) continue;
      const host = {
        family: c.family,
        addr: parseIp(net.split("/")[0]!),
        prefixLen: c.family === 4 ? 32 : 128,
      };
      const dst = formatCidr(host);
      if (c.family === 4) v4 = true;
      else v6 = true;
      addRoute({
        dst,
        type: "unicast",
        protocol: cfg.deviceRouteProtocol,
        ifName: w.ifName,
        metric: cfg.workloadRouteMetric,
        owner: who,
      });
      // Static ARP for IPv4 only; IPv6 neighbours are left to the kernel (Calico does the same).
      if (c.family === 4 && w.mac !== undefined) {
        neighbours.push({ ifName: w.ifName, dst: formatIp(host.addr), lladdr: w.mac.toLowerCase() });
      }
    }
    workloads.push({ ifName: w.ifName, ...(w.name ? { name: w.name } : {}), ipv4: v4, ipv6: v6 });
    // Calico's linkaddrs manager keeps one scope-link address per family on a workload interface.
    const peering = new Map<4 | 6, string>();
    for (const text of w.peeringAddresses ?? []) {
      const ip = tryIp(text, `${who}: peering address`, w.ifName);
      if (ip === undefined) continue;
      const family = ip.length === 4 ? 4 : 6;
      const address = formatIp(ip);
      const had = peering.get(family);
      if (had === undefined) peering.set(family, address);
      else if (had !== address) {
        errors.push(
          new DataplaneError(
            "FELIX_BAD_INPUT",
            `${who}: peering addresses ${had} and ${address} are both IPv${family}; keeping ${had}`,
            { iface: w.ifName },
          ),
        );
      }
    }
    for (const family of [4, 6] as const) {
      const address = peering.get(family);
      if (address === undefined) continue;
      linkAddresses.push({
        ifName: w.ifName,
        address,
        prefixLen: family === 4 ? 32 : 128,
        owner: `local BGP peer ${w.name ?? w.ifName} on ${w.ifName}`,
      });
    }
  }
  const ownedLinkAddresses = [
    ...new Set(
      (inp.localWorkloadPeeringIPs ?? []).flatMap((text) => {
        const ip = tryIp(text, "localWorkloadPeeringIP");
        return ip === undefined ? [] : [formatIp(ip)];
      }),
    ),
  ].sort();

  // Blocks (calico.md §2.7-2.11).
  const nodes = new Map(inp.nodes.map((n) => [n.name, n]));
  const vteps = new Map<string, { ip: string; mac: string; nodeIp: string }>();
  const seenBlocks = new Map<string, string>();
  for (const b of [...inp.blocks].sort((x, y) => (x.cidr < y.cidr ? -1 : x.cidr > y.cidr ? 1 : 0))) {
    const c = tryParse(b.cidr, `block ${b.cidr}`, errors);
    if (c === undefined) continue;
    const dst = formatCidr(c);
    const prior = seenBlocks.get(dst);
    if (prior !== undefined) {
      errors.push(
        new DataplaneError("FELIX_ROUTE_CONFLICT", `block ${dst} is affine to ${prior} and to ${b.node}`, {
          cidr: dst,
        }),
      );
      continue;
    }
    seenBlocks.set(dst, b.node);
    const hostPrefix = c.prefixLen === (c.family === 4 ? 32 : 128);
    if (b.node === me.name) {
      if (!hostPrefix) {
        addRoute({
          dst,
          type: "blackhole",
          protocol: cfg.routeProtocol,
          metric: cfg.routeMetric,
          owner: `local block ${dst}`,
        });
      }
      continue;
    }
    const who = `block ${dst} of node ${b.node}`;
    const pool = poolOf(c);
    if (pool === undefined) {
      errors.push(new DataplaneError("FELIX_BAD_INPUT", `${who}: in no IPPool`, { cidr: dst }));
      continue;
    }
    if (!felixRoutes(pool)) continue; // BGP brings this block's route (bgpRoutes below)
    const node = nodes.get(b.node);
    let remote: { ip: Uint8Array } | undefined;
    try {
      remote = node && nodeAddress(node, c.family);
    } catch (e) {
      errors.push(new DataplaneError("FELIX_BAD_INPUT", `${who}: ${(e as Error).message}`, { cidr: dst }));
      continue;
    }
    if (node === undefined || remote === undefined) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `${who}: node has no IPv${c.family} address`, { cidr: dst }),
      );
      continue;
    }
    const nodeIp = formatIp(remote.ip);
    const mine = c.family === 4 ? my4 : my6;
    // Unknown local subnet counts as "different subnet": encapsulate (calico.md §2.10).
    const sameSubnet = mine !== undefined && cidrContainsIp(mine.subnet, remote.ip);
    const encap = (mode: EncapMode): boolean => mode === "Always" || (mode === "CrossSubnet" && !sameSubnet);
    if (c.family === 4 && encap(pool.vxlanMode)) {
      if (me.vxlanTunnelAddr === undefined || node.vxlanTunnelAddr === undefined) {
        const whose = me.vxlanTunnelAddr === undefined ? `this node (${me.name})` : `node ${node.name}`;
        errors.push(
          new DataplaneError(
            "FELIX_BAD_INPUT",
            `${who}: VXLAN pool but ${whose} has no VXLAN tunnel address`,
            {
              cidr: dst,
            },
          ),
        );
        continue;
      }
      const vtep = formatIp(parseIp(node.vxlanTunnelAddr));
      vteps.set(node.name, {
        ip: vtep,
        mac: (node.vxlanTunnelMac ?? computeVtepMac(node.name)).toLowerCase(),
        nodeIp,
      });
      addRoute({
        dst,
        type: "unicast",
        protocol: cfg.routeProtocol,
        ifName: VXLAN_IFACE,
        gateway: vtep,
        onlink: true,
        metric: cfg.routeMetric,
        mtu: mtus.vxlan,
        owner: `remote ${who} (vxlan)`,
      });
    } else if (c.family === 4 && encap(pool.ipipMode)) {
      addRoute({
        dst,
        type: "unicast",
        protocol: cfg.routeProtocol,
        ifName: IPIP_IFACE,
        gateway: nodeIp,
        onlink: true,
        metric: cfg.routeMetric,
        owner: `remote ${who} (ipip)`,
      });
    } else if (c.family === 6 && pool.vxlanMode !== "Never" && !sameSubnet) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `${who}: IPv6 VXLAN is not supported yet`, { cidr: dst }),
      );
    } else {
      // No encapsulation: straight to the node over the parent interface when it is on our subnet,
      // otherwise a recursive gateway route the fabric must be able to carry.
      const viaParent = sameSubnet && inp.host.parentIface !== undefined;
      addRoute({
        dst,
        type: "unicast",
        protocol: cfg.routeProtocol,
        gateway: nodeIp,
        ...(viaParent ? { ifName: inp.host.parentIface } : {}),
        metric: cfg.routeMetric,
        owner: `remote ${who} (${pool.vxlanMode !== "Never" || pool.ipipMode !== "Never" ? "same subnet" : "no encap"})`,
      });
    }
  }

  // Routes to BGP peers through a named gateway (BGPPeer reachableBy; confd renders them as BIRD
  // static routes, which reach the kernel). Before the BGP routes, so one learned for the same
  // address does not replace the path the session itself depends on.
  for (const r of inp.staticRoutes ?? []) {
    const c = tryParse(r.dst, `static route ${r.dst}`, errors);
    if (c === undefined) continue;
    const dst = formatCidr(c);
    let gw: Uint8Array;
    try {
      gw = parseIp(r.nextHop);
    } catch (e) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `static route ${dst}: gateway ${(e as Error).message}`, {
          route: dst,
        }),
      );
      continue;
    }
    if (gw.length !== (c.family === 4 ? 4 : 16)) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `static route ${dst}: gateway ${r.nextHop} is another family`, {
          route: dst,
        }),
      );
      continue;
    }
    addRoute({
      dst,
      type: "unicast",
      protocol: cfg.routeProtocol,
      gateway: formatIp(gw),
      metric: r.metric ?? cfg.routeMetric,
      owner: `static route ${dst} via ${formatIp(gw)} (BGP peer reachableBy)`,
    });
  }

  // Learned BGP routes (calico-bgp-cni.md §1.7 calico_kernel_programming): what felix routes from
  // blocks stays felix's; IP-in-IP pools left to BGP go through tunl0 (direct within the subnet for
  // CrossSubnet); everything else, including routes from outside the cluster, via its next hop,
  // resolved recursively through the host's routes when it is off our subnet (`gateway recursive`).
  const programmed = new Set([...routes.values()].map((r) => r.dst));
  const learned: { dst: string; c: Cidr; nextHop: string; metric: number | undefined }[] = [];
  for (const r of inp.bgpRoutes ?? []) {
    const c = tryParse(r.dst, `BGP route ${r.dst}`, errors);
    if (c !== undefined) learned.push({ dst: formatCidr(c), c, nextHop: r.nextHop, metric: r.metric });
  }
  const hostRoutes = inp.host.routes;
  let nhTable: NextHopTable | undefined;
  const resolved = new Map<string, NextHopResolution>();
  const resolve = (gw: Uint8Array, text: string): NextHopResolution => {
    let res = resolved.get(text);
    if (res === undefined) {
      nhTable ??= indexNextHopTable(
        hostRoutes ?? [],
        learned.map((l) => l.dst),
      );
      res = resolveNextHop(gw, nhTable);
      resolved.set(text, res);
    }
    return res;
  };
  for (const r of learned) {
    const { c, dst } = r;
    const pool = poolOf(c);
    if ((pool !== undefined && felixRoutes(pool)) || programmed.has(dst)) continue;
    let gw: Uint8Array;
    try {
      gw = parseIp(r.nextHop);
    } catch (e) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `BGP route ${dst}: next hop ${(e as Error).message}`, {
          route: dst,
        }),
      );
      continue;
    }
    const mine = c.family === 4 ? my4 : my6;
    const nh = formatIp(gw);
    if (gw.length !== (c.family === 4 ? 4 : 16) || (mine !== undefined && formatIp(mine.ip) === nh)) {
      continue; // another family's next hop, or ourselves: nothing to program
    }
    const sameSubnet = mine !== undefined && cidrContainsIp(mine.subnet, gw);
    const ipip =
      pool !== undefined &&
      c.family === 4 &&
      (pool.ipipMode === "Always" || (pool.ipipMode === "CrossSubnet" && !sameSubnet));
    const metric = r.metric ?? cfg.routeMetric;
    const base = { dst, type: "unicast", protocol: cfg.bgpRouteProtocol, metric } as const;
    if (ipip) {
      addRoute({
        ...base,
        gateway: nh,
        ifName: IPIP_IFACE,
        onlink: true,
        owner: `BGP route ${dst} via ${nh} (ipip)`,
      });
    } else if (sameSubnet || hostRoutes === undefined) {
      const viaParent = sameSubnet && inp.host.parentIface !== undefined;
      addRoute({
        ...base,
        gateway: nh,
        ...(viaParent ? { ifName: inp.host.parentIface } : {}),
        owner: `BGP route ${dst} via ${nh}`,
      });
    } else {
      const res = resolve(gw, nh);
      if (res.kind === "unresolvable") {
        errors.push(
          new DataplaneError(
            "FELIX_NEXT_HOP_UNRESOLVABLE",
            `BGP route ${dst}: next hop ${nh} is unresolvable: ${res.reason}; not programmed`,
            { route: dst },
          ),
        );
        continue;
      }
      if (res.kind === "direct") {
        addRoute({
          ...base,
          gateway: nh,
          ...(res.ifName !== undefined ? { ifName: res.ifName } : {}),
          owner: `BGP route ${dst} via ${nh}`,
        });
      } else {
        addRoute({
          ...base,
          gateway: res.gateway,
          ...(res.ifName !== undefined ? { ifName: res.ifName } : {}),
          ...(res.onlink ? { onlink: true } : {}),
          owner: `BGP route ${dst} via ${nh} (recursive: via ${res.gateway} of ${res.via})`,
        });
      }
    }
    programmed.add(dst);
  }

  // VXLAN device and per-VTEP L2 state (calico.md §2.9).
  let vxlan: DesiredVxlan | undefined;
  const fdb: DesiredFdb[] = [];
  if (vxlanOn && me.vxlanTunnelAddr !== undefined) {
    if (my4 === undefined) {
      errors.push(
        new DataplaneError("FELIX_BAD_INPUT", `node ${me.name}: VXLAN needs this node's IPv4 address`, {
          iface: VXLAN_IFACE,
        }),
      );
    } else {
      vxlan = {
        name: VXLAN_IFACE,
        vni: cfg.vxlanVni,
        port: cfg.vxlanPort,
        ...(inp.host.parentIface !== undefined ? { parentIface: inp.host.parentIface } : {}),
        localIp: formatIp(my4.ip),
        mac: (me.vxlanTunnelMac ?? computeVtepMac(me.name)).toLowerCase(),
        mtu: mtus.vxlan,
        address: formatIp(parseIp(me.vxlanTunnelAddr)),
      };
      for (const v of [...vteps.values()].sort((a, b) => (a.ip < b.ip ? -1 : 1))) {
        neighbours.push({ ifName: VXLAN_IFACE, dst: v.ip, lladdr: v.mac });
        fdb.push({ ifName: VXLAN_IFACE, lladdr: v.mac, dst: v.nodeIp });
      }
    }
  }

  // IP-in-IP device (calico.md §2.8).
  const ipip: DesiredIpip | undefined = ipipOn
    ? {
        name: IPIP_IFACE,
        mtu: mtus.ipip,
        ...(me.ipipTunnelAddr !== undefined ? { address: formatIp(parseIp(me.ipipTunnelAddr)) } : {}),
      }
    : undefined;

  const byFamily = (f: Family, masq: boolean): string[] =>
    pools
      .filter((p) => p.cidr.family === f && (!masq || p.natOutgoing))
      .map((p) => p.text)
      .sort();
  const encapMtus = [...(vxlan ? [mtus.vxlan] : []), ...(ipip ? [mtus.ipip] : [])];

  return {
    routes: [...routes.values()],
    workloads,
    linkAddresses,
    ownedLinkAddresses,
    ...(vxlan ? { vxlan } : {}),
    ...(ipip ? { ipip } : {}),
    neighbours,
    fdb,
    nat: {
      masqPools4: byFamily(4, true),
      masqPools6: byFamily(6, true),
      allPools4: byFamily(4, false),
      allPools6: byFamily(6, false),
    },
    podMtu: encapMtus.length > 0 ? Math.min(...encapMtus) : inp.host.hostMtu,
    nextHops: [...resolved].map(([nextHop, resolution]) => ({ nextHop, resolution })),
    errors,
  };
}
