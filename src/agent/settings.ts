/**
 * The node agent's startup configuration, read from the environment under calico-node's names and with
 * its defaults (node/pkg/lifecycle/startup/startup.go: configureIPsAndSubnets, configureASNumber,
 * configureIPPools, createIPPool, evaluateENVBool; node/pkg/lifecycle/utils DetermineNodeName; confd's
 * CALICO_ROUTER_ID; felix's FELIX_* MTU, encapsulation and health parameters). Pure: the caller passes the
 * environment, the OS hostname and (for the random IPv6 ULA pool) a random source. Where calico-node logs
 * and exits on a bad value, this throws SettingsError naming the variable and the value.
 * Does not cover the datastore variables (src/datastore/choose.ts) nor read files or interfaces.
 */

import { parseAsNumber } from "../api/asn.js";
import { parseDuration } from "../api/duration.js";
import type { EncapMode, IPPoolSpec } from "../api/ippool.js";
import type { Resource } from "../api/meta.js";
import { API_VERSION } from "../api/meta.js";
import {
  type Cidr,
  cidrContainsIp,
  cidrsOverlap,
  formatCidr,
  IPV4_LINK_LOCAL,
  IPV6_LINK_LOCAL,
  type IpFamily,
  networkOf,
  parseCidr,
  parseCidrOrIp,
  parseIp,
} from "../api/net.js";
import { compileSelector } from "../api/selector/selector.js";
import { DEFAULT_DATA_DIR } from "../datastore/choose.js";
import { TabbyError } from "../util/errors.js";

export type AutodetectMethod =
  | { kind: "first-found" }
  | { kind: "can-reach"; dest: string }
  | { kind: "interface"; patterns: RegExp[] }
  | { kind: "skip-interface"; patterns: RegExp[] }
  | { kind: "cidr"; cidrs: string[] }
  | { kind: "kubernetes-internal-ip" };

/**
 * IP / IP6. `autodetect` with `keepExisting` is IP left unset: Calico then detects only when the Node has
 * no address stored yet. `none` never detects; Calico still keeps an address already on the Node.
 * `address` is as written (with or without /len; see autodetect.ts resolveConfiguredAddress).
 */
export type IpSetting =
  | { mode: "autodetect"; keepExisting: boolean }
  | { mode: "none" }
  | { mode: "address"; address: string };

export interface PoolDefaults {
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  nodeSelector: string;
  disableBGPExport: boolean;
  /** default-ipv4-ippool / default-ipv6-ippool */
  name: string;
  /**
   * `env`: CALICO_IPV*POOL_CIDR; `default`: 192.168.0.0/16, which calico-node moves to 172.16-31.0.0/16
   * when a host address lies inside it and replaces with kubeadm's podSubnet when there is one;
   * `generated`: a random ULA /48 (RFC 4193), as calico-node makes when no IPv6 CIDR is given.
   */
  cidrSource: "env" | "default" | "generated";
}

export interface AgentSettings {
  /** NODENAME (trimmed). See determineNodeName for the full precedence. */
  nodeName?: string;
  /** HOSTNAME (trimmed, lower case), else the OS hostname (trimmed, lower case): the last resort. */
  hostnameNodeName: string;
  /** CALICO_NODENAME_FILE, default /var/lib/calico/nodename: read before HOSTNAME, written after startup. */
  nodenameFile: string;
  /** CALICO_K8S_NODE_REF: the Kubernetes Node name when it differs from the Calico node name. */
  k8sNodeRef?: string;
  ip: IpSetting;
  ip6: IpSetting;
  ipMethod: AutodetectMethod;
  ip6Method: AutodetectMethod;
  /** AUTODETECT_POLL_INTERVAL (Go duration), default 60s: how often the address is re-detected. */
  autodetectPollIntervalMs: number;
  /** AS (plain or asdot); undefined = the global AS from BGPConfiguration. */
  asn?: number;
  /** CALICO_ROUTER_ID: "hash" or a dotted quad; undefined = the node's IPv4 address. */
  routerId?: string;
  /** CALICO_NETWORKING_BACKEND, default bird. `none` = policy only: no BGP, no Node addresses. */
  networkingBackend: "bird" | "vxlan" | "none";
  /** CLUSTER_TYPE, recorded in ClusterInformation (the manifest sets `k8s,bgp`). */
  clusterType: string;
  /** WAIT_FOR_DATASTORE=true: wait for the datastore before startup (only the exact value "true"). */
  waitForDatastore: boolean;
  /** DISABLE_NODE_IP_CHECK=true: skip the check that no other Node has this address. */
  disableNodeIpCheck: boolean;
  /** NO_DEFAULT_POOLS=true (any case): create no pools; refused together with a pool CIDR. */
  noDefaultPools: boolean;
  /** Undefined when NO_DEFAULT_POOLS or CALICO_IPV4POOL_CIDR=none. */
  pool4?: PoolDefaults;
  /**
   * Undefined when NO_DEFAULT_POOLS, CALICO_IPV6POOL_CIDR=none or FELIX_IPV6SUPPORT is false. calico-node
   * also requires /proc/sys/net/ipv6 to exist: the shell checks that (defaultPoolResources `ipv6Kernel`).
   */
  pool6?: PoolDefaults;
  /** FELIX_IPV6SUPPORT (startup.go evaluateENVBool, default true). */
  ipv6Support: boolean;
  /** TABBY_DATA_DIR, default /var/lib/tabby (the embedded datastore and local state; see choose.ts). */
  dataDir: string;
  /** Where the CNI plugin reads the pod MTU: felix writes /var/lib/calico/mtu (int_dataplane.go writeMTUFile). */
  mtuFile: string;
  /** FELIX_VETHMTU, FELIX_IPINIPMTU, FELIX_VXLANMTU, FELIX_VXLANMTUV6; 0 or unset = auto-detect. */
  vethMtu?: number;
  ipipMtu?: number;
  vxlanMtu?: number;
  vxlanMtuV6?: number;
  /** FELIX_IPINIPENABLED / FELIX_VXLANENABLED; unset = decided from the pools' modes. */
  ipipEnabled?: boolean;
  vxlanEnabled?: boolean;
  /** FELIX_HEALTHENABLED (false), FELIX_HEALTHHOST (localhost), FELIX_HEALTHPORT (9099). */
  health: { enabled: boolean; host: string; port: number };
  /** FELIX_PROMETHEUSMETRICSENABLED (false), FELIX_PROMETHEUSMETRICSHOST ("" = all), _PORT (9091). */
  metrics: { enabled: boolean; host: string; port: number };
}

/** A bad value in the environment. */
export class SettingsError extends TabbyError {
  override readonly name = "SettingsError";
  constructor(
    readonly variable: string,
    readonly value: string,
    rule: string,
  ) {
    super("AGENT_SETTINGS", `${variable}=${JSON.stringify(value)}: ${rule}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_IPV4_POOL_CIDR = "192.168.0.0/16";
export const DEFAULT_IPV4_POOL_NAME = "default-ipv4-ippool";
export const DEFAULT_IPV6_POOL_NAME = "default-ipv6-ippool";
export const DEFAULT_NODENAME_FILE = "/var/lib/calico/nodename";
export const DEFAULT_MTU_FILE = "/var/lib/calico/mtu";
const DEFAULT_POLL_MS = 60_000;

const defaultRandom = (): number => globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;

export function parseSettings(
  env: Env,
  hostname: string,
  random: () => number = defaultRandom,
): AgentSettings {
  const nonEmpty = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const nodeName = env.NODENAME?.trim() || undefined;
  const hostnameNodeName = env.HOSTNAME?.trim().toLowerCase() || hostname.trim().toLowerCase();
  const k8sNodeRef = nonEmpty("CALICO_K8S_NODE_REF");

  const ip = parseIpSetting("IP", env.IP ?? "", 4);
  const ip6 = parseIpSetting("IP6", env.IP6 ?? "", 6);
  const ipMethod = parseAutodetectMethod("IP_AUTODETECTION_METHOD", env.IP_AUTODETECTION_METHOD ?? "");
  const ip6Method = parseAutodetectMethod("IP6_AUTODETECTION_METHOD", env.IP6_AUTODETECTION_METHOD ?? "");

  let autodetectPollIntervalMs = DEFAULT_POLL_MS;
  const poll = nonEmpty("AUTODETECT_POLL_INTERVAL");
  if (poll !== undefined) {
    const ns = parseDuration(poll);
    // Calico falls back to 60s with an error log; a typo here should not pass silently.
    if (ns === undefined || ns <= 0n)
      throw new SettingsError(
        "AUTODETECT_POLL_INTERVAL",
        poll,
        'must be a positive Go duration such as "60s" or "5m"',
      );
    autodetectPollIntervalMs = Number(ns / 1_000_000n);
  }

  let asn: number | undefined;
  const asText = nonEmpty("AS");
  if (asText !== undefined) {
    const r = parseAsNumber(asText);
    if ("rule" in r) throw new SettingsError("AS", asText, r.rule);
    asn = r.asn;
  }

  let routerId: string | undefined;
  const rid = nonEmpty("CALICO_ROUTER_ID");
  if (rid !== undefined) {
    if (rid !== "hash" && parseIp(rid)?.family !== 4)
      throw new SettingsError(
        "CALICO_ROUTER_ID",
        rid,
        'must be "hash" or an IPv4 address (a router ID is 4 octets)',
      );
    routerId = rid;
  }

  const backendText = nonEmpty("CALICO_NETWORKING_BACKEND") ?? "bird";
  const backend = backendText.toLowerCase();
  if (backend !== "bird" && backend !== "vxlan" && backend !== "none")
    throw new SettingsError("CALICO_NETWORKING_BACKEND", backendText, "must be bird, vxlan or none");

  const noDefaultPools = (env.NO_DEFAULT_POOLS ?? "").toLowerCase() === "true";
  const v4Cidr = nonEmpty("CALICO_IPV4POOL_CIDR");
  const v6Cidr = nonEmpty("CALICO_IPV6POOL_CIDR");
  if (noDefaultPools && (v4Cidr !== undefined || v6Cidr !== undefined))
    throw new SettingsError(
      "NO_DEFAULT_POOLS",
      env.NO_DEFAULT_POOLS ?? "",
      "cannot be combined with CALICO_IPV4POOL_CIDR or CALICO_IPV6POOL_CIDR",
    );
  const ipv6Support = envBool(env, "FELIX_IPV6SUPPORT", true);
  const pool4 = noDefaultPools || v4Cidr === "none" ? undefined : parsePool(env, 4, random);
  const pool6 = noDefaultPools || v6Cidr === "none" || !ipv6Support ? undefined : parsePool(env, 6, random);

  const felix = felixEnv(env);
  return {
    ...(nodeName !== undefined ? { nodeName } : {}),
    hostnameNodeName,
    nodenameFile: nonEmpty("CALICO_NODENAME_FILE") ?? DEFAULT_NODENAME_FILE,
    ...(k8sNodeRef !== undefined ? { k8sNodeRef } : {}),
    ip,
    ip6,
    ipMethod,
    ip6Method,
    autodetectPollIntervalMs,
    ...(asn !== undefined ? { asn } : {}),
    ...(routerId !== undefined ? { routerId } : {}),
    networkingBackend: backend,
    clusterType: env.CLUSTER_TYPE ?? "",
    waitForDatastore: env.WAIT_FOR_DATASTORE === "true",
    disableNodeIpCheck: env.DISABLE_NODE_IP_CHECK === "true",
    noDefaultPools,
    ...(pool4 !== undefined ? { pool4 } : {}),
    ...(pool6 !== undefined ? { pool6 } : {}),
    ipv6Support,
    dataDir: nonEmpty("TABBY_DATA_DIR") ?? DEFAULT_DATA_DIR,
    mtuFile: DEFAULT_MTU_FILE,
    ...optional("vethMtu", felix.mtu("VETHMTU")),
    ...optional("ipipMtu", felix.mtu("IPINIPMTU")),
    ...optional("vxlanMtu", felix.mtu("VXLANMTU")),
    ...optional("vxlanMtuV6", felix.mtu("VXLANMTUV6")),
    ...optional("ipipEnabled", felix.bool("IPINIPENABLED")),
    ...optional("vxlanEnabled", felix.bool("VXLANENABLED")),
    health: {
      enabled: felix.bool("HEALTHENABLED") ?? false,
      host: felix.raw("HEALTHHOST") ?? "localhost",
      port: felix.port("HEALTHPORT") ?? 9099,
    },
    metrics: {
      enabled: felix.bool("PROMETHEUSMETRICSENABLED") ?? false,
      host: felix.raw("PROMETHEUSMETRICSHOST") ?? "",
      port: felix.port("PROMETHEUSMETRICSPORT") ?? 9091,
    },
  };
}

/**
 * The node name, by DetermineNodeName's precedence: NODENAME, then the name stored in the nodename file
 * (`stored`, its contents; Calico uses them as they are, tabby trims surrounding whitespace), then
 * HOSTNAME, then the OS hostname.
 */
export function determineNodeName(s: AgentSettings, stored?: string): string {
  return s.nodeName ?? (stored?.trim() || s.hostnameNodeName);
}

function parseIpSetting(variable: string, value: string, family: IpFamily): IpSetting {
  if (value === "") return family === 4 ? { mode: "autodetect", keepExisting: true } : { mode: "none" };
  if (value === "autodetect") return { mode: "autodetect", keepExisting: false };
  if (value === "none") return { mode: "none" };
  const c = parseCidrOrIp(value);
  if (c === undefined || c.family !== family)
    throw new SettingsError(
      variable,
      value,
      `must be autodetect, none or an IPv${family} address (optionally with /prefix-length)`,
    );
  return { mode: "address", address: value };
}

/** IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD, as autodetection_methods.go AutoDetectCIDR reads them. */
export function parseAutodetectMethod(variable: string, value: string): AutodetectMethod {
  if (value === "" || value === "first-found") return { kind: "first-found" };
  const list = (rest: string): string[] => rest.trim().split(/\s*,\s*/);
  const regexes = (rest: string): RegExp[] =>
    list(rest).map((p) => {
      try {
        return new RegExp(p);
      } catch (e) {
        throw new SettingsError(
          variable,
          value,
          `invalid interface regex ${JSON.stringify(p)}: ${(e as Error).message}`,
        );
      }
    });
  if (value.startsWith("interface=")) return { kind: "interface", patterns: regexes(value.slice(10)) };
  if (value.startsWith("skip-interface="))
    return { kind: "skip-interface", patterns: regexes(value.slice(15)) };
  if (value.startsWith("cidr=")) {
    const cidrs = list(value.slice(5));
    for (const c of cidrs)
      if (parseCidr(c) === undefined)
        throw new SettingsError(variable, value, `${JSON.stringify(c)} is not a CIDR (e.g. 10.0.0.0/8)`);
    return { kind: "cidr", cidrs };
  }
  if (value.startsWith("can-reach=")) {
    const dest = value.slice(10);
    if (dest === "") throw new SettingsError(variable, value, "can-reach= needs an IP address or host name");
    return { kind: "can-reach", dest };
  }
  // Calico matches this one by prefix.
  if (value.startsWith("kubernetes-internal-ip")) return { kind: "kubernetes-internal-ip" };
  throw new SettingsError(
    variable,
    value,
    "must be first-found, can-reach=DEST, interface=REGEX,..., skip-interface=REGEX,..., cidr=CIDR,... or kubernetes-internal-ip",
  );
}

function parseMode(variable: string, value: string): EncapMode {
  switch (value.toLowerCase()) {
    case "":
    case "off":
    case "never":
      return "Never";
    case "crosssubnet":
    case "cross-subnet":
      return "CrossSubnet";
    case "always":
      return "Always";
    default:
      throw new SettingsError(variable, value, "must be Never, CrossSubnet or Always");
  }
}

function parsePool(env: Env, family: IpFamily, random: () => number): PoolDefaults {
  const p = `CALICO_IPV${family}POOL_`;
  // createIPPool: IPIP comes only from CALICO_IPV4POOL_IPIP; IPv6 pools are never IP-in-IP. The code
  // default for both modes is Never (calico.yaml sets CALICO_IPV4POOL_IPIP=Always, calico-vxlan.yaml
  // sets VXLAN=Always); the networking backend does not change them.
  const ipipMode = family === 4 ? parseMode(`${p}IPIP`, env[`${p}IPIP`] ?? "") : "Never";
  const vxlanMode = parseMode(`${p}VXLAN`, env[`${p}VXLAN`] ?? "");
  if (ipipMode !== "Never" && vxlanMode !== "Never")
    throw new SettingsError(
      `${p}VXLAN`,
      env[`${p}VXLAN`] ?? "",
      `cannot be ${vxlanMode} while ${p}IPIP is ${ipipMode}: a pool uses one encapsulation`,
    );

  const bsText = env[`${p}BLOCK_SIZE`] ?? "";
  let blockSize = family === 4 ? 26 : 122;
  if (bsText !== "") {
    if (!/^[+-]?[0-9]+$/.test(bsText))
      throw new SettingsError(`${p}BLOCK_SIZE`, bsText, "must be an integer");
    blockSize = Number(bsText);
  }
  const [lo, hi] = family === 4 ? [20, 32] : [116, 128];
  if (blockSize < lo || blockSize > hi)
    throw new SettingsError(`${p}BLOCK_SIZE`, bsText, `must be ${lo}..${hi} for IPv${family}`);

  const selText = env[`${p}NODE_SELECTOR`] ?? "";
  try {
    compileSelector(selText);
  } catch (e) {
    throw new SettingsError(`${p}NODE_SELECTOR`, selText, `invalid selector: ${(e as Error).message}`);
  }

  const cidrText = env[`${p}CIDR`] ?? "";
  let cidr: Cidr | undefined;
  let cidrSource: PoolDefaults["cidrSource"] = "env";
  if (cidrText === "") {
    cidrSource = family === 4 ? "default" : "generated";
    cidr = parseCidr(family === 4 ? DEFAULT_IPV4_POOL_CIDR : generateUlaPrefix(random))!;
  } else {
    cidr = parseCidr(cidrText);
    if (cidr === undefined || cidr.family !== family)
      throw new SettingsError(`${p}CIDR`, cidrText, `must be an IPv${family} CIDR (or none)`);
    // cnet.ParseCIDR hands back the network, so host bits are dropped rather than refused.
    cidr = networkOf(cidr);
    if (cidrsOverlap(cidr, family === 4 ? IPV4_LINK_LOCAL : IPV6_LINK_LOCAL))
      throw new SettingsError(`${p}CIDR`, cidrText, "must not overlap the link-local range");
    if (cidr.prefixLen > blockSize)
      throw new SettingsError(`${p}CIDR`, cidrText, `is smaller than one block (/${blockSize})`);
  }

  return {
    cidr: formatCidr(cidr),
    blockSize,
    ipipMode,
    vxlanMode,
    natOutgoing: envBool(env, `${p}NAT_OUTGOING`, family === 4),
    nodeSelector: selText === "" ? "all()" : selText,
    disableBGPExport: envBool(env, `${p}DISABLE_BGP_EXPORT`, false),
    name: family === 4 ? DEFAULT_IPV4_POOL_NAME : DEFAULT_IPV6_POOL_NAME,
    cidrSource,
  };
}

/** startup.go GenerateIPv6ULAPrefix: fd00::/8 with 40 random bits, as a /48 (RFC 4193 3.2). */
export function generateUlaPrefix(random: () => number): string {
  const bytes = [0xfd];
  for (let i = 0; i < 5; i++) bytes.push(Math.min(255, Math.floor(random() * 256)));
  const g = (i: number) => ((bytes[i]! << 8) | bytes[i + 1]!).toString(16);
  return formatCidr(parseCidr(`${g(0)}:${g(2)}:${g(4)}::/48`)!);
}

/**
 * startup.go evaluateENVBool: unset = the default; set to false/0/no/n/f (any case) = false; set to
 * anything else, even the empty string, = true.
 */
function envBool(env: Env, name: string, dflt: boolean): boolean {
  const v = env[name];
  if (v === undefined) return dflt;
  return !["false", "0", "no", "n", "f"].includes(v.toLowerCase());
}

/** Felix reads FELIX_<param> with the parameter name in any case; an empty value counts as unset. */
function felixEnv(env: Env) {
  const raw = (param: string): string | undefined => {
    const exact = env[`FELIX_${param}`];
    if (exact !== undefined && exact !== "") return exact;
    for (const [k, v] of Object.entries(env))
      if (k.toUpperCase() === `FELIX_${param}` && v !== undefined && v !== "") return v;
    return undefined;
  };
  const name = (param: string) => `FELIX_${param}`;
  const int = (param: string, max: number, what: string): number | undefined => {
    const v = raw(param);
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v) || Number(v) > max) throw new SettingsError(name(param), v, what);
    return Number(v);
  };
  return {
    raw,
    /** felix param_types.go BoolParam. */
    bool(param: string): boolean | undefined {
      const v = raw(param);
      if (v === undefined) return undefined;
      const l = v.toLowerCase();
      if (["true", "1", "yes", "y", "t"].includes(l)) return true;
      if (["false", "0", "no", "n", "f"].includes(l)) return false;
      throw new SettingsError(name(param), v, "must be true or false");
    },
    mtu(param: string): number | undefined {
      const n = int(param, 65535, "must be an MTU in bytes (0 = auto-detect)");
      return n === 0 ? undefined : n;
    },
    port: (param: string) => int(param, 65535, "must be a port 0..65535"),
  };
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/**
 * ipv4/poolselector.go findAvailableCIDR: the default 192.168.0.0/16 unless a host IPv4 address lies in
 * it, then the first of 172.16.0.0/16 .. 172.31.0.0/16 holding none; when all are taken, the default.
 */
export function selectDefaultIPv4PoolCidr(hostAddresses: readonly string[]): string {
  const hosts = hostAddresses.map((a) => parseIp(a.split("/")[0]!)).filter((a) => a?.family === 4);
  const free = (c: Cidr) => !hosts.some((h) => cidrContainsIp(c, h!));
  const preferred = parseCidr(DEFAULT_IPV4_POOL_CIDR)!;
  if (free(preferred)) return DEFAULT_IPV4_POOL_CIDR;
  for (let i = 16; i <= 31; i++) {
    const c = parseCidr(`172.${i}.0.0/16`)!;
    if (free(c)) return formatCidr(c);
  }
  return DEFAULT_IPV4_POOL_CIDR;
}

/**
 * startup.go extractKubeadmCIDRs: the first `podSubnet: ...` line in the kube-system/kubeadm-config
 * ConfigMap's data, split at commas; the first IPv4 and the first IPv6 CIDR (stopping at one that does
 * not parse, as Calico does). Used for a pool whose CIDR variable is unset.
 */
export function kubeadmPodSubnets(data: Readonly<Record<string, string>>): { v4?: string; v6?: string } {
  let line: string | undefined;
  for (const text of Object.values(data)) {
    const m = /podSubnet: (.*)/.exec(text);
    if (m !== null) {
      line = m[1]!;
      break;
    }
  }
  const out: { v4?: string; v6?: string } = {};
  for (const part of line?.split(",") ?? []) {
    const c = parseCidr(part);
    if (c === undefined) break;
    if (c.family === 4) out.v4 ??= formatCidr(c);
    else out.v6 ??= formatCidr(c);
    if (out.v4 !== undefined && out.v6 !== undefined) break;
  }
  return out;
}

export interface PoolContext {
  /** The host's addresses, for moving the default IPv4 pool off them (poolselector.go). */
  readonly hostAddresses?: readonly string[];
  /** kubeadmPodSubnets of the kubeadm-config ConfigMap, when the cluster has one. */
  readonly kubeadm?: { readonly v4?: string; readonly v6?: string };
  /** Whether /proc/sys/net/ipv6 exists (startup_linux.go ipv6Supported); default true. */
  readonly ipv6Kernel?: boolean;
}

/**
 * The IPPools calico-node creates at startup, when the datastore has no pool of that family (the caller
 * checks that, and treats "already exists" on create as success, as createIPPool does).
 */
export function defaultPoolResources(s: AgentSettings, ctx: PoolContext = {}): Resource<IPPoolSpec>[] {
  const out: Resource<IPPoolSpec>[] = [];
  const pools = [
    [s.pool4, ctx.kubeadm?.v4],
    [ctx.ipv6Kernel === false ? undefined : s.pool6, ctx.kubeadm?.v6],
  ] as const;
  for (const [p, kubeadm] of pools) {
    if (p === undefined) continue;
    // configureIPPools: the variable, else kubeadm's podSubnet, else the default (moved off host
    // addresses) or the generated ULA.
    const fromKubeadm = p.cidrSource === "env" ? undefined : kubeadm;
    const cidr =
      fromKubeadm ??
      (p.cidrSource === "default" && ctx.hostAddresses !== undefined
        ? selectDefaultIPv4PoolCidr(ctx.hostAddresses)
        : p.cidr);
    out.push({
      apiVersion: API_VERSION,
      kind: "IPPool",
      metadata: { name: p.name },
      spec: {
        cidr,
        ipipMode: p.ipipMode,
        vxlanMode: p.vxlanMode,
        natOutgoing: p.natOutgoing,
        blockSize: p.blockSize,
        nodeSelector: p.nodeSelector,
        disableBGPExport: p.disableBGPExport,
      },
    });
  }
  return out;
}
