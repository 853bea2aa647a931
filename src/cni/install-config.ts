/**
 * What `tabby cni install` lays down, computed without touching the disk: the network config rendered
 * from Calico's template (the `cni_network_config` ConfigMap of Calico's manifests, with the same
 * `__PLACEHOLDER__`s and the same environment variables calico/node's install-cni reads), the plugin
 * kubeconfig built from the pod's service account, and the binary names.
 *
 * The binaries go in under Calico's names (`calico`, `calico-ipam`) as well as tabby's, so the
 * conflist a Calico cluster already has, and Calico's ConfigMap pasted as it is, work unchanged.
 * Pure.
 */
import { CNI_CODE, CniError } from "./errors.js";

/** Calico's manifest config. `portmap` is added only when that plugin is in the bin dir. */
export const DEFAULT_NETWORK_CONFIG = `{
  "name": "k8s-pod-network",
  "cniVersion": "1.0.0",
  "plugins": [
    {
      "type": "calico",
      "log_level": "__LOG_LEVEL__",
      "log_file_path": "__LOG_FILE_PATH__",
      "datastore_type": "__DATASTORE_TYPE__",
      "nodename": "__KUBERNETES_NODE_NAME__",
      "mtu": __CNI_MTU__,
      "ipam": { "type": "calico-ipam" },
      "policy": { "type": "k8s" },
      "kubernetes": { "kubeconfig": "__KUBECONFIG_FILEPATH__" }
    }
  ]
}`;

/** The native shim is installed under each of these; the role comes from the name it is run as. */
export const PLUGIN_NAMES = ["calico", "calico-ipam", "tabby-cni", "tabby-ipam"] as const;
export const FALLBACK_NAME = "tabby-cni.fallback";
export const KUBECONFIG_NAME = "calico-kubeconfig";

export interface InstallValues {
  readonly nodeName: string;
  readonly mtu: string;
  readonly kubeconfigPath: string;
  readonly logLevel: string;
  readonly logFilePath: string;
  readonly datastoreType: string;
  readonly etcdEndpoints: string;
  readonly etcdDiscoverySrv: string;
  readonly etcdKeyFile: string;
  readonly etcdCertFile: string;
  readonly etcdCaCertFile: string;
  readonly requireMtuFile: string;
  readonly apiGroup: string;
}

/** The environment calico/node's install-cni reads, with its defaults. */
export function installValues(
  env: Readonly<Record<string, string | undefined>>,
  hostName: string,
  kubeconfigPath: string,
): InstallValues {
  const v = (name: string, dflt: string) => {
    const x = env[name];
    return x === undefined || x === "" ? dflt : x;
  };
  const mtu = v("CNI_MTU", "1500");
  if (!/^\d+$/.test(mtu)) throw new CniError(CNI_CODE.invalidConfig, `CNI_MTU: not a number: ${mtu}`);
  return {
    nodeName: v("KUBERNETES_NODE_NAME", v("NODENAME", hostName)),
    mtu,
    kubeconfigPath,
    logLevel: v("LOG_LEVEL", "info"),
    logFilePath: v("LOG_FILE_PATH", "/var/log/calico/cni/cni.log"),
    datastoreType: v("DATASTORE_TYPE", "kubernetes"),
    etcdEndpoints: v("ETCD_ENDPOINTS", ""),
    etcdDiscoverySrv: v("ETCD_DISCOVERY_SRV", ""),
    etcdKeyFile: v("ETCD_KEY_FILE", ""),
    etcdCertFile: v("ETCD_CERT_FILE", ""),
    etcdCaCertFile: v("ETCD_CA_CERT_FILE", ""),
    requireMtuFile: v("REQUIRE_MTU_FILE", "false"),
    apiGroup: v("CALICO_API_GROUP", ""),
  };
}

const PLACEHOLDERS: readonly (readonly [string, keyof InstallValues])[] = [
  ["__KUBERNETES_NODE_NAME__", "nodeName"],
  ["__CNI_MTU__", "mtu"],
  ["__KUBECONFIG_FILEPATH__", "kubeconfigPath"],
  ["__LOG_LEVEL__", "logLevel"],
  ["__LOG_FILE_PATH__", "logFilePath"],
  ["__DATASTORE_TYPE__", "datastoreType"],
  ["__ETCD_ENDPOINTS__", "etcdEndpoints"],
  ["__ETCD_DISCOVERY_SRV__", "etcdDiscoverySrv"],
  ["__ETCD_KEY_FILE__", "etcdKeyFile"],
  ["__ETCD_CERT_FILE__", "etcdCertFile"],
  ["__ETCD_CA_CERT_FILE__", "etcdCaCertFile"],
  ["__REQUIRE_MTU_FILE__", "requireMtuFile"],
  ["__CALICO_API_GROUP__", "apiGroup"],
];

export interface RenderedConfig {
  /** The file's text, pretty-printed, ending in a newline. */
  readonly text: string;
  /** `.conflist` for a list of plugins, `.conf` for a single plugin. */
  readonly isList: boolean;
}

/**
 * Substitutes the placeholders and checks the result is a network config a runtime will load. A
 * template that does not parse is named with the byte offset JSON.parse reports.
 */
export function renderNetworkConfig(
  template: string,
  values: InstallValues,
  opts: { readonly addPortmap: boolean },
): RenderedConfig {
  let text = template;
  for (const [mark, key] of PLACEHOLDERS) text = text.split(mark).join(values[key]);
  const left = /__[A-Z0-9_]+__/.exec(text);
  if (left !== null)
    throw new CniError(CNI_CODE.invalidConfig, `CNI_NETWORK_CONFIG: unknown placeholder ${left[0]}`);
  let conf: Record<string, unknown>;
  try {
    conf = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new CniError(
      CNI_CODE.invalidConfig,
      `CNI_NETWORK_CONFIG: not JSON after substitution: ${(e as Error).message}`,
    );
  }
  if (conf === null || typeof conf !== "object" || Array.isArray(conf))
    throw new CniError(CNI_CODE.invalidConfig, "CNI_NETWORK_CONFIG: must be a JSON object");
  if (typeof conf.name !== "string" || conf.name === "")
    throw new CniError(CNI_CODE.invalidConfig, "CNI_NETWORK_CONFIG: name is missing");
  const plugins = conf.plugins;
  if (plugins === undefined) {
    if (typeof conf.type !== "string")
      throw new CniError(CNI_CODE.invalidConfig, "CNI_NETWORK_CONFIG: needs plugins[] or a type");
    return { text: `${JSON.stringify(conf, null, 2)}\n`, isList: false };
  }
  if (!Array.isArray(plugins) || plugins.length === 0)
    throw new CniError(CNI_CODE.invalidConfig, "CNI_NETWORK_CONFIG: plugins must be a non-empty list");
  plugins.forEach((p, i) => {
    if (p === null || typeof p !== "object" || typeof (p as { type?: unknown }).type !== "string")
      throw new CniError(CNI_CODE.invalidConfig, `CNI_NETWORK_CONFIG: plugins[${i}].type is missing`);
  });
  const types = plugins.map((p) => (p as { type: string }).type);
  const out =
    opts.addPortmap && template === DEFAULT_NETWORK_CONFIG && !types.includes("portmap")
      ? {
          ...conf,
          plugins: [...plugins, { type: "portmap", snat: true, capabilities: { portMappings: true } }],
        }
      : conf;
  return { text: `${JSON.stringify(out, null, 2)}\n`, isList: true };
}

/** The config file name: CNI_CONF_NAME, else Calico's, with the extension the content calls for. */
export function configFileName(env: Readonly<Record<string, string | undefined>>, isList: boolean): string {
  const name = env.CNI_CONF_NAME;
  if (name !== undefined && name !== "") {
    if (name.includes("/"))
      throw new CniError(CNI_CODE.invalidConfig, `CNI_CONF_NAME: not a file name: ${name}`);
    return name;
  }
  return isList ? "10-calico.conflist" : "10-calico.conf";
}

/** The kubeconfig the plugin uses from the pod's service account, as calico/node writes it. */
export function serviceAccountKubeconfig(a: {
  readonly host: string;
  readonly port: string;
  readonly token: string;
  readonly caCertPem: string;
}): string {
  const host = a.host.includes(":") ? `[${a.host}]` : a.host;
  const ca = Buffer.from(a.caCertPem, "utf8").toString("base64");
  return [
    "# Kubeconfig file for the CNI plugin. Written by tabby cni install; rewritten when it runs again.",
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: local",
    "  cluster:",
    `    server: https://${host}:${a.port}`,
    `    certificate-authority-data: "${ca}"`,
    "users:",
    "- name: calico",
    "  user:",
    `    token: ${a.token.trim()}`,
    "contexts:",
    "- name: calico-context",
    "  context:",
    "    cluster: local",
    "    user: calico",
    "current-context: calico-context",
    "",
  ].join("\n");
}

/** The fallback wrapper: the shim execs it when the agent is down, and it runs the Node plugin. */
export function fallbackScript(nodePath: string, pluginEntry: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# Runs the tabby CNI plugin in Node when the node agent is not serving it.\nexec ${q(nodePath)} ${q(pluginEntry)} "$@"\n`;
}
