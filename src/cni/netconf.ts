/**
 * The network configuration a runtime pipes to the plugin: Calico's NetConf keys that apply on Linux
 * (calico-bgp-cni.md §3.1, cni-plugin/pkg/types/types.go) with Calico's defaults, plus the runtime's
 * own keys (cniVersion, name, prevResult, runtimeConfig, args, cni.dev/valid-attachments). Unknown keys
 * are ignored, as Calico's Go decoder does; a known key of the wrong type is code 7 naming it. Pure.
 *
 * One leniency, on purpose: `ipam.assign_ipv4` / `assign_ipv6` are strings in Calico ("true"), and
 * people write booleans; both are accepted.
 */
import { CNI_CODE, CniError } from "./errors.js";

export interface IpamConf {
  readonly type: string;
  readonly assignIpv4: boolean;
  readonly assignIpv6: boolean;
  readonly ipv4Pools: readonly string[];
  readonly ipv6Pools: readonly string[];
}

export interface ValidAttachment {
  readonly containerId: string;
  readonly ifName: string;
}

export interface NetConf {
  readonly cniVersion: string;
  readonly name: string;
  readonly type: string;
  readonly datastoreType: "kubernetes" | "etcdv3";
  readonly nodename: string | undefined;
  readonly nodenameFile: string;
  readonly nodenameFileOptional: boolean;
  /** 0: the agent's MTU file, else 1500 (Calico's fallback), unless `requireMtuFile`. */
  readonly mtu: number;
  readonly mtuFile: string;
  readonly requireMtuFile: boolean;
  readonly numQueues: number;
  readonly ipam: IpamConf;
  readonly kubeconfig: string | undefined;
  readonly k8sApiRoot: string | undefined;
  readonly etcdEndpoints: readonly string[];
  readonly etcdKeyFile: string | undefined;
  readonly etcdCertFile: string | undefined;
  readonly etcdCaCertFile: string | undefined;
  readonly allowIpForwarding: boolean;
  readonly ipAddrsNoIpam: boolean;
  readonly floatingIps: boolean;
  readonly includeDefaultRoutes: boolean;
  readonly ipamLockFile: string;
  readonly logLevel: string;
  readonly logFilePath: string | undefined;
  /** Where the agent listens for CNI requests (tabby's own key; default below). */
  readonly agentSocket: string;
  readonly prevResult: Readonly<Record<string, unknown>> | undefined;
  readonly validAttachments: readonly ValidAttachment[] | undefined;
  /** The whole object as given, for plugins that must echo or forward it. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export const DEFAULT_NODENAME_FILE = "/var/lib/calico/nodename";
export const DEFAULT_MTU_FILE = "/var/lib/calico/mtu";
export const DEFAULT_IPAM_LOCK_FILE = "/var/run/calico/ipam.lock";
export const DEFAULT_AGENT_SOCKET = "/var/run/tabby/cni.sock";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function bad(key: string, want: string, v: unknown): CniError {
  return new CniError(
    CNI_CODE.invalidConfig,
    `network config: ${key} must be ${want}, got ${JSON.stringify(v)}`,
  );
}

function str(o: Obj, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(path, "a string", v);
  return v;
}

function bool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw bad(path, "true or false", v);
  return v;
}

/** Calico's `*string` booleans ("true"/"false"), also accepting a JSON boolean. */
function stringBool(o: Obj, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  throw bad(path, '"true" or "false"', v);
}

function int(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw bad(path, `an integer from ${min} to ${max}`, v);
  return v;
}

function strings(o: Obj, key: string, path: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw bad(path, "a list of strings", v);
  return v as string[];
}

function obj(o: Obj, key: string, path: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(path, "an object", v);
  return v;
}

/** Parses stdin; malformed JSON is code 6, a config that is not an object or lacks `name` is 7. */
export function parseNetConfText(text: string): NetConf {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CniError(CNI_CODE.decode, "network config on stdin is not valid JSON", (e as Error).message);
  }
  return parseNetConf(parsed);
}

export function parseNetConf(v: unknown): NetConf {
  if (!isObj(v)) throw bad("(the whole config)", "a JSON object", v);
  const cniVersion = str(v, "cniVersion", "cniVersion") ?? "";
  const name = str(v, "name", "name") ?? "";
  if (name === "") throw new CniError(CNI_CODE.invalidConfig, "network config: name is missing");
  const type = str(v, "type", "type") ?? "";
  const dsType = str(v, "datastore_type", "datastore_type") ?? "etcdv3";
  if (dsType !== "kubernetes" && dsType !== "etcdv3")
    throw new CniError(
      CNI_CODE.invalidConfig,
      `network config: datastore_type ${JSON.stringify(dsType)} is not "kubernetes" or "etcdv3"`,
    );
  const ipam = obj(v, "ipam", "ipam") ?? {};
  const k8s = obj(v, "kubernetes", "kubernetes") ?? {};
  const container = obj(v, "container_settings", "container_settings") ?? {};
  const features = obj(v, "feature_control", "feature_control") ?? {};
  obj(v, "policy", "policy");
  obj(v, "runtimeConfig", "runtimeConfig");
  obj(v, "args", "args");
  const prevResult = obj(v, "prevResult", "prevResult");
  const etcdEndpoints = (str(v, "etcd_endpoints", "etcd_endpoints") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const logLevel = (str(v, "log_level", "log_level") ?? "info").toLowerCase();
  return {
    cniVersion,
    name,
    type,
    datastoreType: dsType,
    nodename:
      nonEmpty(str(v, "nodename", "nodename")) ?? nonEmpty(str(k8s, "node_name", "kubernetes.node_name")),
    nodenameFile: nonEmpty(str(v, "nodename_file", "nodename_file")) ?? DEFAULT_NODENAME_FILE,
    nodenameFileOptional: bool(v, "nodename_file_optional", "nodename_file_optional") ?? false,
    mtu: int(v, "mtu", "mtu", 0, 65535) ?? 0,
    mtuFile: DEFAULT_MTU_FILE,
    requireMtuFile: bool(v, "require_mtu_file", "require_mtu_file") ?? false,
    numQueues: int(v, "num_queues", "num_queues", 0, 1024) ?? 0,
    ipam: {
      type: str(ipam, "type", "ipam.type") ?? "",
      assignIpv4: stringBool(ipam, "assign_ipv4", "ipam.assign_ipv4") ?? true,
      assignIpv6: stringBool(ipam, "assign_ipv6", "ipam.assign_ipv6") ?? false,
      ipv4Pools: strings(ipam, "ipv4_pools", "ipam.ipv4_pools") ?? [],
      ipv6Pools: strings(ipam, "ipv6_pools", "ipam.ipv6_pools") ?? [],
    },
    kubeconfig: nonEmpty(str(k8s, "kubeconfig", "kubernetes.kubeconfig")),
    k8sApiRoot: nonEmpty(str(k8s, "k8s_api_root", "kubernetes.k8s_api_root")),
    etcdEndpoints,
    etcdKeyFile: nonEmpty(str(v, "etcd_key_file", "etcd_key_file")),
    etcdCertFile: nonEmpty(str(v, "etcd_cert_file", "etcd_cert_file")),
    etcdCaCertFile: nonEmpty(str(v, "etcd_ca_cert_file", "etcd_ca_cert_file")),
    allowIpForwarding:
      bool(container, "allow_ip_forwarding", "container_settings.allow_ip_forwarding") ?? false,
    ipAddrsNoIpam: bool(features, "ip_addrs_no_ipam", "feature_control.ip_addrs_no_ipam") ?? false,
    floatingIps: bool(features, "floating_ips", "feature_control.floating_ips") ?? false,
    includeDefaultRoutes: bool(v, "include_default_routes", "include_default_routes") ?? false,
    ipamLockFile: nonEmpty(str(v, "ipam_lock_file", "ipam_lock_file")) ?? DEFAULT_IPAM_LOCK_FILE,
    logLevel,
    logFilePath: nonEmpty(str(v, "log_file_path", "log_file_path")),
    agentSocket: nonEmpty(str(v, "tabby_agent_socket", "tabby_agent_socket")) ?? DEFAULT_AGENT_SOCKET,
    prevResult,
    validAttachments: validAttachments(v),
    raw: v,
  };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

function validAttachments(v: Obj): ValidAttachment[] | undefined {
  const key = "cni.dev/valid-attachments";
  const list = v[key];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw bad(key, "a list", list);
  return list.map((a, i) => {
    if (!isObj(a)) throw bad(`${key}[${i}]`, "an object", a);
    const containerId = str(a, "containerID", `${key}[${i}].containerID`) ?? "";
    const ifName = str(a, "ifname", `${key}[${i}].ifname`) ?? "";
    return { containerId, ifName };
  });
}
