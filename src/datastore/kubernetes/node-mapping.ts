/**
 * Calico's Node in Kubernetes mode is the Kubernetes Node plus annotations
 * (libcalico-go/lib/backend/k8s/resources/node.go; calico.md §1.5): `projectcalico.org/IPv4Address`,
 * `IPv6Address`, `IPv4IPIPTunnelAddr`, `ASNumber`, `RouteReflectorClusterID`, the VXLAN and WireGuard
 * addresses, the WireGuard public keys (status) and `Interfaces` (JSON). Labels are the Node's labels;
 * orchRefs name the Kubernetes node; addresses add the Node's InternalIP/ExternalIP to the Calico IPs;
 * status.podCIDRs is the Node's spec.podCIDRs. Writing a Calico Node is a merge patch of those
 * annotations and labels (null removes). Pure.
 */
import { API_VERSION, type Resource } from "../../api/meta.js";

export interface K8sObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sNode {
  metadata: K8sObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

const P = "projectcalico.org/";
/** Annotation → [section, field] of the Calico Node. */
const FIELDS: readonly [string, "bgp" | "spec" | "wireguard" | "status", string][] = [
  ["IPv4Address", "bgp", "ipv4Address"],
  ["IPv6Address", "bgp", "ipv6Address"],
  ["IPv4IPIPTunnelAddr", "bgp", "ipv4IPIPTunnelAddr"],
  ["RouteReflectorClusterID", "bgp", "routeReflectorClusterID"],
  ["ASNumber", "bgp", "asNumber"],
  ["IPv4VXLANTunnelAddr", "spec", "ipv4VXLANTunnelAddr"],
  ["VXLANTunnelMACAddr", "spec", "vxlanTunnelMACAddr"],
  ["IPv6VXLANTunnelAddr", "spec", "ipv6VXLANTunnelAddr"],
  ["VXLANTunnelMACAddrV6", "spec", "vxlanTunnelMACAddrV6"],
  ["IPv4WireguardInterfaceAddr", "wireguard", "interfaceIPv4Address"],
  ["IPv6WireguardInterfaceAddr", "wireguard", "interfaceIPv6Address"],
  ["WireguardPublicKey", "status", "wireguardPublicKey"],
  ["WireguardPublicKeyV6", "status", "wireguardPublicKeyV6"],
];

type Json = Record<string, unknown>;

export function nodeFromK8s(node: K8sNode): Resource {
  const a = node.metadata.annotations ?? {};
  const spec: Json = {};
  const bgp: Json = {};
  const wireguard: Json = {};
  const status: Json = {};
  for (const [name, section, field] of FIELDS) {
    const v = a[`${P}${name}`];
    if (v === undefined || v === "") continue;
    const value = field === "asNumber" && /^\d+$/.test(v) ? Number(v) : v;
    ({ bgp, spec, wireguard, status })[section][field] = value;
  }
  // Calico only has a BGP spec when the node has a BGP address.
  if (bgp.ipv4Address !== undefined || bgp.ipv6Address !== undefined) spec.bgp = bgp;
  if (Object.keys(wireguard).length > 0) spec.wireguard = wireguard;
  spec.orchRefs = [{ nodeName: node.metadata.name, orchestrator: "k8s" }];
  const addresses: { address: string; type: string }[] = [];
  for (const ip of [bgp.ipv4Address, bgp.ipv6Address]) {
    if (typeof ip === "string") addresses.push({ address: ip, type: "CalicoNodeIP" });
  }
  for (const addr of node.status?.addresses ?? []) {
    if (addr.type === "InternalIP" || addr.type === "ExternalIP")
      addresses.push({ address: addr.address, type: addr.type });
  }
  if (addresses.length > 0) spec.addresses = addresses;
  const interfaces = a[`${P}Interfaces`];
  if (interfaces !== undefined) {
    try {
      spec.interfaces = JSON.parse(interfaces);
    } catch {
      // Ignored, as Calico ignores an unparsable Interfaces annotation.
    }
  }
  const podCIDRs = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  if (podCIDRs.length > 0) status.podCIDRs = podCIDRs;
  const m = node.metadata;
  return {
    apiVersion: API_VERSION,
    kind: "Node",
    metadata: {
      name: m.name,
      ...(m.uid !== undefined ? { uid: m.uid } : {}),
      ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
      ...(m.labels !== undefined && Object.keys(m.labels).length > 0 ? { labels: { ...m.labels } } : {}),
    },
    spec,
    ...(Object.keys(status).length > 0 ? { status } : {}),
  };
}

/**
 * The merge patch that makes a Kubernetes Node (currently `current`) carry Calico Node `r`:
 * annotations set or removed (null), labels replaced, and the resourceVersion precondition if given.
 */
export function nodePatch(r: Resource, current: K8sNode): Json {
  const spec = (r.spec ?? {}) as Json;
  const sections: Record<string, Json> = {
    bgp: (spec.bgp as Json | undefined) ?? {},
    spec,
    wireguard: (spec.wireguard as Json | undefined) ?? {},
    status: ((r.status ?? {}) as Json) ?? {},
  };
  const annotations: Record<string, string | null> = {};
  const have = current.metadata.annotations ?? {};
  for (const [name, section, field] of FIELDS) {
    const v = sections[section]![field];
    const key = `${P}${name}`;
    if (v === undefined || v === null || v === "") {
      if (have[key] !== undefined) annotations[key] = null;
    } else annotations[key] = String(v);
  }
  if (spec.interfaces !== undefined) annotations[`${P}Interfaces`] = JSON.stringify(spec.interfaces);
  else if (have[`${P}Interfaces`] !== undefined) annotations[`${P}Interfaces`] = null;
  const labels: Record<string, string | null> = { ...(r.metadata.labels ?? {}) };
  for (const k of Object.keys(current.metadata.labels ?? {})) if (!(k in labels)) labels[k] = null;
  const given = r.metadata.resourceVersion;
  return {
    metadata: {
      annotations,
      labels,
      ...(given !== undefined && given !== "" ? { resourceVersion: given } : {}),
    },
  };
}
