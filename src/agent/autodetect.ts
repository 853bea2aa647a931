/**
 * Which address this node uses for BGP (Node `spec.bgp.ipv4Address` / `ipv6Address`, stored as
 * `address/prefixLength` because CrossSubnet reads the prefix), chosen from the host's interfaces the way
 * calico-node does at startup (node/pkg/lifecycle/startup/autodetection: autodetection_methods.go,
 * filtered.go, interfaces.go, reachaddr.go, autodetection_linux.go; startup.go configureIPsAndSubnets).
 * Pure: the shell (host-interfaces.ts) lists interfaces, asks the kernel for a source address and reads
 * the Kubernetes Node; this module only selects. Does not write the Node nor check conflicts.
 */
import { formatIp, type IpAddr, type IpFamily, parseCidr, parseIp } from "../api/net.js";
import { TabbyError } from "../util/errors.js";
import type { AutodetectMethod } from "./settings.js";

export interface HostAddress {
  readonly address: string;
  readonly prefixLength: number;
}

export interface HostInterface {
  readonly name: string;
  /** Kernel ifindex; when every interface has one, selection walks them in Calico's order (see below). */
  readonly index?: number;
  /** Informational: Calico does not skip interfaces that are down, so neither does this module. */
  readonly up?: boolean;
  readonly addresses: readonly HostAddress[];
}

/** A `status.addresses` entry of the Kubernetes Node (type InternalIP, ExternalIP, Hostname, ...). */
export interface K8sNodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface AutodetectInputs {
  readonly interfaces: readonly HostInterface[];
  /** can-reach: the local address the kernel chose for a UDP connect() to the destination. */
  readonly sourceAddress?: string;
  /** kubernetes-internal-ip: the Node's status.addresses; undefined when not running on Kubernetes. */
  readonly k8sNodeAddresses?: readonly K8sNodeAddress[];
}

export interface DetectedAddress {
  /** `address/prefixLength`, the address as on the interface (host bits kept), e.g. `10.0.0.5/24`. */
  readonly cidr: string;
  /** The interface holding it; undefined only for a kubernetes-internal-ip given with its prefix. */
  readonly interface?: string;
}

/** autodetection_linux.go DEFAULT_INTERFACES_TO_EXCLUDE, in Calico's order. */
export const DEFAULT_INTERFACES_TO_EXCLUDE: readonly string[] = [
  "^docker.*",
  "^cbr.*",
  "^dummy.*",
  "^podman.*",
  "^virbr.*",
  "^lxcbr.*",
  "^veth.*",
  "^lo",
  "^br-.*",
  "^cali.*",
  "^tunl.*",
  "^flannel.*",
  "^kube-ipvs.*",
  "^cni.*",
  "^vxlan\\.calico.*",
  "^vxlan-v6\\.calico.*",
  "^wireguard\\.cali.*",
  "^wg-v6\\.cali.*",
  "^nodelocaldns.*",
];
const DEFAULT_EXCLUDE_RE: readonly RegExp[] = DEFAULT_INTERFACES_TO_EXCLUDE.map((p) => new RegExp(p));

/** A failed detection, naming the variable, the method as written and what was tried. */
export class AutodetectError extends TabbyError {
  override readonly name = "AutodetectError";
  constructor(
    readonly variable: string,
    readonly method: string,
    detail: string,
  ) {
    super("AGENT_AUTODETECT", `${variable}=${method}: ${detail}`);
  }
}

export const methodVariable = (family: IpFamily): string =>
  family === 4 ? "IP_AUTODETECTION_METHOD" : "IP6_AUTODETECTION_METHOD";

/** The method as the user writes it in IP_AUTODETECTION_METHOD. */
export function formatMethod(m: AutodetectMethod): string {
  switch (m.kind) {
    case "first-found":
    case "kubernetes-internal-ip":
      return m.kind;
    case "can-reach":
      return `can-reach=${m.dest}`;
    case "interface":
    case "skip-interface":
      return `${m.kind}=${m.patterns.map((p) => p.source).join(",")}`;
    case "cidr":
      return `cidr=${m.cidrs.join(",")}`;
  }
}

/**
 * Chooses the address `method` picks for `family`, or throws AutodetectError. Where Calico would log
 * "Unable to auto-detect" and keep the Node's stored address, the caller catches and decides.
 */
export function chooseAddress(
  method: AutodetectMethod,
  family: IpFamily,
  inputs: AutodetectInputs,
  variable: string = methodVariable(family),
): DetectedAddress {
  const fail = (detail: string): never => {
    throw new AutodetectError(variable, formatMethod(method), detail);
  };
  const all = walkOrder(inputs.interfaces);
  switch (method.kind) {
    case "first-found":
      return firstGlobal(filterInterfaces(all, [], DEFAULT_EXCLUDE_RE), family, [], fail, inputs.interfaces);
    case "interface": {
      const matched = filterInterfaces(all, method.patterns, []);
      if (matched.length === 0)
        fail(
          `no interface matches ${method.patterns.map((p) => p.source).join(",")} (have: ${names(inputs.interfaces)})`,
        );
      return firstGlobal(matched, family, [], fail, inputs.interfaces);
    }
    case "skip-interface":
      return firstGlobal(
        filterInterfaces(all, [], [...DEFAULT_EXCLUDE_RE, ...method.patterns]),
        family,
        [],
        fail,
        inputs.interfaces,
      );
    case "cidr":
      // filtered.go: no interface filters at all, only the address must fall in one of the CIDRs.
      return firstGlobal(all, family, method.cidrs, fail, inputs.interfaces);
    case "can-reach": {
      if (inputs.sourceAddress === undefined) return fail("no source address was found for the destination");
      const src = parseIp(stripZone(inputs.sourceAddress));
      if (src === undefined || src.family !== family)
        return fail(`the source address ${inputs.sourceAddress} is not an IPv${family} address`);
      // reachaddr.go: any interface, any scope; the address must be on one of them.
      return (
        findOnInterface(all, src) ??
        fail(
          `autodetected IPv${family} address ${formatIp(src)} does not match any address on the host interfaces (have: ${names(inputs.interfaces)})`,
        )
      );
    }
    case "kubernetes-internal-ip": {
      if (inputs.k8sNodeAddresses === undefined)
        return fail(
          "cannot use kubernetes-internal-ip when not running on a Kubernetes cluster (no Node object)",
        );
      // autoDetectUsingK8sInternalIP: the first InternalIP of this family, located on an interface.
      const internal = inputs.k8sNodeAddresses.find(
        (a) => a.type === "InternalIP" && ipFamilyOf(a.address.split("/")[0]!) === family,
      );
      if (internal === undefined)
        return fail(
          `the Kubernetes Node has no IPv${family} InternalIP (has: ${inputs.k8sNodeAddresses.map((a) => `${a.type} ${a.address}`).join(", ") || "none"})`,
        );
      if (internal.address.includes("/")) {
        const c = parseCidr(internal.address);
        if (c === undefined) return fail(`InternalIP ${internal.address} is not a valid CIDR`);
        return { cidr: `${formatIp({ family: c.family, value: c.addr })}/${c.prefixLen}` };
      }
      const ip = parseIp(internal.address)!;
      return (
        findOnInterface(all, ip) ??
        fail(
          `InternalIP ${internal.address} is not on any host interface (have: ${names(inputs.interfaces)})`,
        )
      );
    }
  }
}

export interface ConfiguredAddress {
  /** `address/prefixLength` as Calico stores it. */
  readonly cidr: string;
  /** Whether the address is on one of the host's interfaces (Calico only warns when it is not). */
  readonly onHost: boolean;
}

/**
 * An explicit IP / IP6 value as startup.go stores it: an IPv4 address without a prefix takes the prefix
 * of the interface holding it (GetLocalCIDR), else /32; IPv6 is taken as written (/128 when bare), as
 * Calico does not look IPv6 up. `address` must already be valid for `family` (settings.ts checks it).
 */
export function resolveConfiguredAddress(
  address: string,
  family: IpFamily,
  interfaces: readonly HostInterface[],
): ConfiguredAddress {
  const [ipText, lenText] = address.split("/") as [string, string | undefined];
  const ip = parseIp(ipText);
  if (ip === undefined || ip.family !== family) throw new Error(`not an IPv${family} address: ${address}`);
  const found = findOnInterface(walkOrder(interfaces), ip);
  if (lenText === undefined && family === 4 && found !== undefined) return { cidr: found.cidr, onHost: true };
  const len = lenText ?? (family === 4 ? "32" : "128");
  return { cidr: `${formatIp(ip)}/${len}`, onHost: found !== undefined };
}

/**
 * Node `spec.interfaces` as startup.go fills it: interfaces outside the default exclusions, sorted by
 * name, with their addresses of the given families (families = those whose IP / IP6 is set and not none).
 */
export function selectNodeInterfaces(
  interfaces: readonly HostInterface[],
  families: readonly IpFamily[],
): { name: string; addresses: string[] }[] {
  if (families.length === 0) return [];
  return filterInterfaces(walkOrder(interfaces), [], DEFAULT_EXCLUDE_RE)
    .map((i) => ({
      name: i.name,
      addresses: addressesOf(i)
        .filter((a) => families.includes(a.ip.family))
        .map((a) => formatIp(a.ip)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- helpers ------------------------------------------------------------------------------------------

/**
 * interfaces.go walks net.Interfaces() (ifindex order) in reverse "to maintain behavior with older
 * versions", so first-found prefers the most recently created interface. Without indexes the given order
 * stands for ifindex order.
 */
function walkOrder(ifaces: readonly HostInterface[]): HostInterface[] {
  const list = [...ifaces];
  if (list.every((i) => i.index !== undefined)) list.sort((a, b) => a.index! - b.index!);
  return list.reverse();
}

function filterInterfaces(
  ifaces: readonly HostInterface[],
  incl: readonly RegExp[],
  excl: readonly RegExp[],
): HostInterface[] {
  return ifaces.filter(
    (i) => (incl.length === 0 || incl.some((r) => r.test(i.name))) && !excl.some((r) => r.test(i.name)),
  );
}

interface ParsedAddr {
  readonly ip: IpAddr;
  readonly prefixLength: number;
}

function addressesOf(i: HostInterface): ParsedAddr[] {
  const out: ParsedAddr[] = [];
  for (const a of i.addresses) {
    const ip = parseIp(stripZone(a.address));
    if (ip !== undefined) out.push({ ip, prefixLength: a.prefixLength });
  }
  return out;
}

function firstGlobal(
  ifaces: readonly HostInterface[],
  family: IpFamily,
  cidrs: readonly string[],
  fail: (detail: string) => never,
  allIfaces: readonly HostInterface[],
): DetectedAddress {
  if (ifaces.length === 0) return fail(`no valid host interfaces found (have: ${names(allIfaces)})`);
  const within = cidrs.map((c) => parseCidr(c)!);
  for (const i of ifaces) {
    for (const a of addressesOf(i)) {
      if (a.ip.family !== family || !isGlobalUnicast(a.ip)) continue;
      if (within.length > 0 && !within.some((c) => containsIp(c.family, c.addr, c.prefixLen, a.ip))) continue;
      return { cidr: `${formatIp(a.ip)}/${a.prefixLength}`, interface: i.name };
    }
  }
  const where = cidrs.length > 0 ? ` within ${cidrs.join(", ")}` : "";
  return fail(
    `no valid IPv${family} addresses${where} found on the host interfaces (tried: ${ifaces.map((i) => i.name).join(", ")})`,
  );
}

function findOnInterface(ifaces: readonly HostInterface[], ip: IpAddr): DetectedAddress | undefined {
  for (const i of ifaces)
    for (const a of addressesOf(i))
      if (a.ip.family === ip.family && a.ip.value === ip.value)
        return { cidr: `${formatIp(a.ip)}/${a.prefixLength}`, interface: i.name };
  return undefined;
}

function containsIp(family: IpFamily, net: bigint, len: number, ip: IpAddr): boolean {
  if (family !== ip.family) return false;
  const shift = BigInt((family === 4 ? 32 : 128) - len);
  return ip.value >> shift === net >> shift;
}

/** Go's net.IP.IsGlobalUnicast: not unspecified, loopback, multicast, link-local, or 255.255.255.255. */
export function isGlobalUnicast(ip: IpAddr): boolean {
  if (ip.family === 4) {
    const v = Number(ip.value);
    const a = v >>> 24;
    if (v === 0 || v === 0xffffffff) return false;
    if (a === 127 || (a >= 224 && a <= 239)) return false;
    return !(a === 169 && ((v >>> 16) & 0xff) === 254);
  }
  if (ip.value === 0n || ip.value === 1n) return false;
  const top = Number(ip.value >> 112n);
  if (top >>> 8 === 0xff) return false; // ff00::/8 multicast
  if ((top & 0xffc0) === 0xfe80) return false; // fe80::/10 link-local
  // IPv4-mapped addresses are judged as the IPv4 address they carry, as Go does.
  if (ip.value >> 32n === 0xffffn) return isGlobalUnicast({ family: 4, value: ip.value & 0xffffffffn });
  return true;
}

function ipFamilyOf(text: string): IpFamily | undefined {
  return parseIp(text)?.family;
}

function stripZone(address: string): string {
  const pct = address.indexOf("%");
  return pct < 0 ? address : address.slice(0, pct);
}

function names(ifaces: readonly HostInterface[]): string {
  return ifaces.map((i) => i.name).join(", ") || "none";
}
