/**
 * Per-service routes, as confd's route generator decides them (confd/pkg/backends/calico/routes.go,
 * calico-bgp-cni.md §1.8): which /32 and /128 of Kubernetes Services this node announces, from the
 * Services and their EndpointSlices. The service ranges themselves (serviceClusterIPs and the non-single
 * external/LB ranges) are advertised from every node by bgp-plan.ts; this module adds the addresses that
 * only some nodes may announce:
 * - a Service qualifies when its type is ClusterIP, NodePort or LoadBalancer and it has a cluster IP;
 * - externalTrafficPolicy Local: announced from nodes with a ready endpoint of the Service (endpoint
 *   `nodeName` equal to this node's Kubernetes name), so traffic lands where a backend is;
 * - Cluster: announced from every node that sees a ready endpoint anywhere, only when the Service has
 *   a LoadBalancer IP or external IP matching a single-address entry (/32, /128) of the allowed ranges,
 *   or when `serviceLoadBalancerAggregation: Disabled`;
 * - what is announced for a qualifying Service: its cluster IPs (only when serviceClusterIPs is set),
 *   its external IPs inside serviceExternalIPs, its LoadBalancer ingress IPs inside
 *   serviceLoadBalancerIPs, each as a full-length prefix;
 * - a node labelled node.kubernetes.io/exclude-from-external-load-balancers=true announces none.
 * EndpointSlices count only when their addressType is one of the Service's ipFamilies; an endpoint
 * without a `ready` condition is ready (the EndpointSlice API's rule). Pure.
 */
import type { Resource } from "../api/meta.js";
import { bitsOf, type Cidr, cidrContainsIp, formatCidr, parseIp } from "../api/net.js";

export interface ServiceInput {
  /** `namespace/name`, for the reasons the agent reports. */
  readonly id: string;
  readonly type: string;
  readonly clusterIPs: readonly string[];
  readonly externalIPs: readonly string[];
  readonly loadBalancerIP?: string;
  readonly ingressIPs: readonly string[];
  readonly externalTrafficPolicy: string;
  readonly ipFamilies: readonly string[];
}

export interface EndpointSliceInput {
  /** `namespace/service-name` (the kubernetes.io/service-name label). */
  readonly service: string;
  readonly addressType: string;
  readonly endpoints: readonly { readonly ready: boolean; readonly nodeName?: string }[];
}

export interface ServiceRouteSettings {
  /** The Kubernetes name of this node (CALICO_K8S_NODE_REF, else the node name). */
  readonly nodeName: string;
  /** The node carries exclude-from-external-load-balancers=true. */
  readonly excluded: boolean;
  readonly clusterCidrs: readonly Cidr[];
  readonly externalCidrs: readonly Cidr[];
  readonly loadBalancerCidrs: readonly Cidr[];
  /** serviceLoadBalancerAggregation is not Disabled (Calico's default: Enabled). */
  readonly aggregate: boolean;
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
const QUALIFYING_TYPES = new Set(["ClusterIP", "NodePort", "LoadBalancer"]);

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : [];

/** A core/v1 Service as the datastore hands it over (spec and status as the API server stores them). */
export function serviceInput(r: Resource): ServiceInput {
  const spec = (r.spec ?? {}) as Record<string, unknown>;
  const status = (r.status ?? {}) as { loadBalancer?: { ingress?: { ip?: unknown }[] } };
  const clusterIP = typeof spec.clusterIP === "string" ? spec.clusterIP : "";
  const clusterIPs = strings(spec.clusterIPs);
  return {
    id: `${r.metadata.namespace ?? "default"}/${r.metadata.name}`,
    type: typeof spec.type === "string" && spec.type !== "" ? spec.type : "ClusterIP",
    clusterIPs:
      clusterIP === "" || clusterIP === "None" ? [] : clusterIPs.length > 0 ? clusterIPs : [clusterIP],
    externalIPs: strings(spec.externalIPs),
    ...(typeof spec.loadBalancerIP === "string" && spec.loadBalancerIP !== ""
      ? { loadBalancerIP: spec.loadBalancerIP }
      : {}),
    ingressIPs: strings((status.loadBalancer?.ingress ?? []).map((i) => i?.ip)),
    externalTrafficPolicy:
      typeof spec.externalTrafficPolicy === "string" ? spec.externalTrafficPolicy : "Cluster",
    ipFamilies: strings(spec.ipFamilies),
  };
}

/** A discovery.k8s.io/v1 EndpointSlice (its addressType and endpoints are kept under `spec`). */
export function endpointSliceInput(r: Resource): EndpointSliceInput | undefined {
  const service = r.metadata.labels?.[SERVICE_NAME_LABEL];
  if (service === undefined || service === "") return undefined;
  const spec = (r.spec ?? {}) as { addressType?: unknown; endpoints?: unknown };
  const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints : [];
  return {
    service: `${r.metadata.namespace ?? "default"}/${service}`,
    addressType: typeof spec.addressType === "string" ? spec.addressType : "",
    endpoints: endpoints.map((e: { conditions?: { ready?: unknown }; nodeName?: unknown }) => ({
      ready: e?.conditions?.ready !== false,
      ...(typeof e?.nodeName === "string" ? { nodeName: e.nodeName } : {}),
    })),
  };
}

const allowed = (ip: string, ranges: readonly Cidr[], singleOnly = false) => {
  const a = parseIp(ip.trim());
  return (
    a !== undefined &&
    ranges.some((r) => (!singleOnly || r.prefixLen === bitsOf(r.family)) && cidrContainsIp(r, a))
  );
};

function advertised(
  svc: ServiceInput,
  slices: readonly EndpointSliceInput[],
  s: ServiceRouteSettings,
): boolean {
  if (s.excluded || !QUALIFYING_TYPES.has(svc.type) || svc.clusterIPs.length === 0) return false;
  const local = svc.externalTrafficPolicy === "Local";
  if (!local) {
    if (svc.type === "LoadBalancer") {
      const lbIps = [...(svc.loadBalancerIP !== undefined ? [svc.loadBalancerIP] : []), ...svc.ingressIPs];
      if (lbIps.some((ip) => allowed(ip, s.loadBalancerCidrs, true))) return true;
    }
    if (svc.externalIPs.some((ip) => allowed(ip, s.externalCidrs, true))) return true;
    if (s.aggregate) return false;
  }
  const families = new Set(svc.ipFamilies);
  for (const slice of slices) {
    if (slice.service !== svc.id || !families.has(slice.addressType)) continue;
    for (const e of slice.endpoints) {
      if (!e.ready) continue;
      if (!local || e.nodeName === s.nodeName) return true;
    }
  }
  return false;
}

export interface ServiceRoute {
  readonly cidr: Cidr;
  /** The Services (`namespace/name`) that put it here. */
  readonly services: readonly string[];
}

/** The per-service prefixes this node announces, each once, sorted, with the Services behind it. */
export function computeServiceRoutes(
  services: readonly ServiceInput[],
  slices: readonly EndpointSliceInput[],
  s: ServiceRouteSettings,
): ServiceRoute[] {
  const out = new Map<string, { cidr: Cidr; services: string[] }>();
  const add = (ip: string, svc: string) => {
    const a = parseIp(ip.trim());
    if (a === undefined) return;
    const c: Cidr = { family: a.family, addr: a.value, prefixLen: bitsOf(a.family) };
    const key = formatCidr(c);
    const had = out.get(key);
    if (had === undefined) out.set(key, { cidr: c, services: [svc] });
    else if (!had.services.includes(svc)) had.services.push(svc);
  };
  for (const svc of services) {
    if (!advertised(svc, slices, s)) continue;
    if (s.clusterCidrs.length > 0) for (const ip of svc.clusterIPs) add(ip, svc.id);
    for (const ip of svc.externalIPs) if (allowed(ip, s.externalCidrs)) add(ip, svc.id);
    for (const ip of svc.ingressIPs) if (allowed(ip, s.loadBalancerCidrs)) add(ip, svc.id);
  }
  return [...out.values()].sort((a, b) =>
    a.cidr.family !== b.cidr.family ? a.cidr.family - b.cidr.family : a.cidr.addr < b.cidr.addr ? -1 : 1,
  );
}
