/**
 * The pod's interface as Calico's CNI builds it (calico.md §2.2-2.3): a veth whose host end `cali…`
 * carries MAC ee:ee:ee:ee:ee:ee and no address, whose container end (CNI_IFNAME) holds the pod's /32
 * and /128; in the pod, 169.254.1.1 on-link with a permanent neighbour entry for the host MAC and the
 * default route through it (IPv6: through the host end's MAC-derived link-local); on the host, the
 * workload sysctls and `<ip>/32 dev cali… scope link`. `setUp` is all or nothing: on any failure the
 * veth it made is deleted (which takes its routes with it) before the error propagates.
 *
 * The container end is created directly in the pod's namespace (IFLA_NET_NS_FD on the veth peer), so
 * no interface is ever moved between namespaces and a crash leaves at most a host-side veth that the
 * next ADD or DEL for the same pod removes.
 */
import { closeSync, existsSync, openSync } from "node:fs";
import { NetlinkError } from "../../felix/errors.js";
import type { Family } from "../../felix/ip.js";
import { procSysctls, workloadSysctls } from "../../felix/managers/sysctl.js";
import { RT_SCOPE, RT_TABLE, RTN, RTPROT } from "../../felix/netlink/constants.js";
import type { Link } from "../../felix/netlink/link-codec.js";
import type { Route } from "../../felix/netlink/route-codec.js";
import { Rtnetlink } from "../../felix/netlink/rtnetlink.js";
import { CNI_CODE, CniError } from "./errors.js";

export const HOST_MAC = "ee:ee:ee:ee:ee:ee";
export const GATEWAY_V4 = "169.254.1.1";
/** The host end's IPv6 link-local, derived from HOST_MAC (EUI-64). */
export const GATEWAY_V6 = "fe80::ecee:eeff:feee:eeee";

export interface PodNetworkSpec {
  readonly hostIfName: string;
  readonly containerIfName: string;
  readonly netnsPath: string;
  readonly mtu: number;
  /** Bare addresses; each goes on the container end as /32 or /128. */
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly allowIpForwarding: boolean;
}

export interface PodNetwork {
  readonly containerMac: string;
  readonly containerIndex: number;
  readonly hostIndex: number;
}

const route = (family: Family, dst: string, oif: number, extra: Partial<Route> = {}): Route => ({
  family,
  dst,
  table: RT_TABLE.MAIN,
  protocol: RTPROT.BOOT,
  scope: RT_SCOPE.UNIVERSE,
  type: RTN.UNICAST,
  tos: 0,
  flags: 0,
  oif,
  ...extra,
});

function linkNamed(links: readonly Link[], name: string): Link | undefined {
  return links.find((l) => l.name === name);
}

/** Opens rtnetlink inside the pod's namespace; a missing or unusable path is code 3 (container unknown). */
function openPodNetlink(netnsPath: string): Rtnetlink {
  try {
    return Rtnetlink.open({ netnsPath, rcvbufBytes: 1 << 20 });
  } catch (e) {
    throw new CniError(
      CNI_CODE.unknownContainer,
      `cannot enter the container's network namespace ${netnsPath}`,
      (e as Error).message,
    );
  }
}

function alreadyNetworked(netnsPath: string, ifName: string): CniError {
  return new CniError(
    CNI_CODE.internal,
    `interface ${ifName} already exists in ${netnsPath}`,
    "the runtime sent a second ADD for this container without a DEL in between",
  );
}

/**
 * Refuses a second ADD before any address is taken: the rollback of a failed ADD releases the
 * container's IPAM handle, which would take the running pod's address with it.
 */
export async function assertNotNetworked(netnsPath: string, ifName: string): Promise<void> {
  const pod = openPodNetlink(netnsPath);
  try {
    if (linkNamed(await pod.dumpLinks(), ifName) !== undefined) throw alreadyNetworked(netnsPath, ifName);
  } finally {
    pod.close();
  }
}

export async function setUpPodNetwork(spec: PodNetworkSpec): Promise<PodNetwork> {
  const pod = openPodNetlink(spec.netnsPath);
  const host = Rtnetlink.open({ rcvbufBytes: 1 << 20 });
  let created = false;
  try {
    if (linkNamed(await pod.dumpLinks(), spec.containerIfName) !== undefined)
      throw alreadyNetworked(spec.netnsPath, spec.containerIfName);
    // A host end left by an earlier sandbox of the same pod (Calico deletes it too).
    const stale = linkNamed(await host.dumpLinks(), spec.hostIfName);
    if (stale !== undefined) await host.delLink(stale.index, stale.name);

    const nsFd = openSync(spec.netnsPath, "r");
    try {
      await host.newLink({
        name: spec.hostIfName,
        kind: "veth",
        mtu: spec.mtu,
        address: HOST_MAC,
        peer: { name: spec.containerIfName, netnsFd: nsFd, mtu: spec.mtu },
      });
    } finally {
      closeSync(nsFd);
    }
    created = true;

    const hostLink = linkNamed(await host.dumpLinks(), spec.hostIfName);
    const podLink = linkNamed(await pod.dumpLinks(), spec.containerIfName);
    if (hostLink === undefined || podLink === undefined)
      throw new CniError(CNI_CODE.internal, `veth ${spec.hostIfName} was created but cannot be found`);
    if (hostLink.address !== HOST_MAC)
      await host.setLink(hostLink.index, { address: HOST_MAC }, hostLink.name);

    const v4 = spec.ipv4.length > 0;
    const v6 = spec.ipv6.length > 0;
    const hostSysctls = procSysctls();
    for (const [path, value] of workloadSysctls(spec.hostIfName, { ipv4: v4, ipv6: v6 })) {
      await setSysctl(hostSysctls, path, value, path.includes("/ipv6/") && !v6);
    }
    const podSysctls = procSysctls(spec.netnsPath);
    const forwarding = spec.allowIpForwarding ? "1" : "0";
    if (v4) await podSysctls.set("net/ipv4/ip_forward", forwarding);
    if (v6) {
      for (const p of ["all", "default", "lo"])
        await setSysctl(podSysctls, `net/ipv6/conf/${p}/disable_ipv6`, "0", false);
      await podSysctls.set(`net/ipv6/conf/${spec.containerIfName}/accept_dad`, "0");
      await podSysctls.set("net/ipv6/conf/all/forwarding", forwarding);
    }

    await host.setLink(hostLink.index, { up: true }, hostLink.name);
    await pod.setLink(podLink.index, { up: true }, podLink.name);

    for (const a of spec.ipv4)
      await pod.addr("add", { index: podLink.index, address: a, prefixLen: 32 }, podLink.name);
    for (const a of spec.ipv6)
      await pod.addr("add", { index: podLink.index, address: a, prefixLen: 128 }, podLink.name);

    const podRoutes: Route[] = [];
    if (v4) {
      podRoutes.push(route(4, `${GATEWAY_V4}/32`, podLink.index, { scope: RT_SCOPE.LINK }));
      podRoutes.push(route(4, "0.0.0.0/0", podLink.index, { gateway: GATEWAY_V4 }));
      await pod.neigh("replace", { index: podLink.index, dst: GATEWAY_V4, lladdr: HOST_MAC }, podLink.name);
    }
    if (v6) podRoutes.push(route(6, "::/0", podLink.index, { gateway: GATEWAY_V6 }));
    await writeAll(
      pod,
      podRoutes.map((r) => ({ op: "add" as const, route: r })),
      "in the pod",
    );

    const hostRoutes = [
      ...spec.ipv4.map((a) => route(4, `${a}/32`, hostLink.index, { scope: RT_SCOPE.LINK })),
      ...spec.ipv6.map((a) => route(6, `${a}/128`, hostLink.index, { scope: RT_SCOPE.LINK })),
    ];
    await addHostRoutes(host, hostRoutes, spec.hostIfName);
    return { containerMac: podLink.address ?? "", containerIndex: podLink.index, hostIndex: hostLink.index };
  } catch (e) {
    if (created) await deleteLinkNamed(host, spec.hostIfName).catch(() => undefined);
    throw e;
  } finally {
    pod.close();
    host.close();
  }
}

async function setSysctl(
  s: ReturnType<typeof procSysctls>,
  path: string,
  value: string,
  optional: boolean,
): Promise<void> {
  try {
    await s.set(path, value);
  } catch (e) {
    // IPv6 may be disabled in the kernel; only what the pod's families need must succeed.
    if (!optional) throw e;
  }
}

async function writeAll(nl: Rtnetlink, writes: { op: "add"; route: Route }[], where: string): Promise<void> {
  const failures = await nl.writeRoutes(writes);
  if (failures.length > 0) {
    const f = failures[0]!;
    throw new CniError(CNI_CODE.internal, `cannot add route ${f.write.route.dst} ${where}`, f.error.message);
  }
}

/** EEXIST through our own interface is fine (felix got there first); through another names it. */
async function addHostRoutes(host: Rtnetlink, routes: Route[], ifName: string): Promise<void> {
  const failures = await host.writeRoutes(routes.map((r) => ({ op: "add" as const, route: r })));
  if (failures.length === 0) return;
  const existing = await host.dumpRoutes();
  const links = await host.dumpLinks();
  for (const f of failures) {
    const want = f.write.route;
    if (f.error.errnoName === "EEXIST") {
      const have = existing.find((r) => r.table === want.table && r.dst === want.dst && !r.priority);
      if (have?.oif === want.oif) continue;
      const other = links.find((l) => l.index === have?.oif)?.name ?? `#${have?.oif ?? "?"}`;
      throw new CniError(
        CNI_CODE.internal,
        `route ${want.dst} already exists through ${other}, not ${ifName}: another workload holds this address`,
      );
    }
    throw new CniError(CNI_CODE.internal, `cannot add host route ${want.dst} dev ${ifName}`, f.error.message);
  }
}

async function deleteLinkNamed(nl: Rtnetlink, name: string): Promise<boolean> {
  const l = linkNamed(await nl.dumpLinks(), name);
  if (l === undefined) return false;
  try {
    await nl.delLink(l.index, l.name);
  } catch (e) {
    if (e instanceof NetlinkError && e.errnoName === "ENODEV") return false;
    throw e;
  }
  return true;
}

/**
 * Removes the pod's veth: the container end when the namespace is still there, else the host end by
 * name. Nothing missing is an error (DEL is idempotent).
 */
export async function tearDownPodNetwork(s: {
  readonly netnsPath: string;
  readonly containerIfName: string;
  readonly hostIfName: string;
}): Promise<void> {
  if (s.netnsPath !== "" && existsSync(s.netnsPath)) {
    let pod: Rtnetlink | undefined;
    try {
      pod = Rtnetlink.open({ netnsPath: s.netnsPath, rcvbufBytes: 1 << 20 });
    } catch {
      pod = undefined; // Not a namespace any more (a stale bind mount): fall through to the host side.
    }
    if (pod !== undefined) {
      try {
        const l = linkNamed(await pod.dumpLinks(), s.containerIfName);
        if (l !== undefined && l.kind === "veth") await deleteLinkNamed(pod, l.name);
      } finally {
        pod.close();
      }
    }
  }
  const host = Rtnetlink.open({ rcvbufBytes: 1 << 20 });
  try {
    await deleteLinkNamed(host, s.hostIfName);
  } finally {
    host.close();
  }
}

/** What CHECK compares: the container end, its addresses and the routes on both sides. */
export async function checkPodNetwork(spec: PodNetworkSpec): Promise<string[]> {
  const problems: string[] = [];
  const pod = openPodNetlink(spec.netnsPath);
  const host = Rtnetlink.open({ rcvbufBytes: 1 << 20 });
  try {
    const podLink = linkNamed(await pod.dumpLinks(), spec.containerIfName);
    const hostLink = linkNamed(await host.dumpLinks(), spec.hostIfName);
    if (podLink === undefined)
      problems.push(`interface ${spec.containerIfName} is missing in ${spec.netnsPath}`);
    if (hostLink === undefined) problems.push(`host interface ${spec.hostIfName} is missing`);
    if (podLink === undefined || hostLink === undefined) return problems;
    if (hostLink.address !== HOST_MAC)
      problems.push(
        `host interface ${spec.hostIfName} has MAC ${hostLink.address ?? "none"}, want ${HOST_MAC}`,
      );
    const addrs = new Set(
      (await pod.dumpAddrs())
        .filter((a) => a.index === podLink.index)
        .map((a) => `${a.address}/${a.prefixLen}`),
    );
    for (const a of spec.ipv4)
      if (!addrs.has(`${a}/32`)) problems.push(`address ${a}/32 is missing on ${spec.containerIfName}`);
    for (const a of spec.ipv6)
      if (!addrs.has(`${a}/128`)) problems.push(`address ${a}/128 is missing on ${spec.containerIfName}`);
    const podRoutes = await pod.dumpRoutes();
    if (
      spec.ipv4.length > 0 &&
      !podRoutes.some((r) => r.dst === "0.0.0.0/0" && r.gateway === GATEWAY_V4 && r.oif === podLink.index)
    )
      problems.push(`default route via ${GATEWAY_V4} dev ${spec.containerIfName} is missing in the pod`);
    if (spec.ipv6.length > 0 && !podRoutes.some((r) => r.dst === "::/0" && r.oif === podLink.index))
      problems.push(`IPv6 default route dev ${spec.containerIfName} is missing in the pod`);
    const hostRoutes = await host.dumpRoutes();
    for (const a of [...spec.ipv4.map((x) => `${x}/32`), ...spec.ipv6.map((x) => `${x}/128`)]) {
      const r = hostRoutes.find((h) => h.dst === a && h.table === RT_TABLE.MAIN);
      if (r === undefined) problems.push(`host route ${a} dev ${spec.hostIfName} is missing`);
      else if (r.oif !== hostLink.index)
        problems.push(`host route ${a} goes through #${r.oif ?? "?"}, not ${spec.hostIfName}`);
    }
    return problems;
  } finally {
    pod.close();
    host.close();
  }
}
