/**
 * Kubernetes objects the agent reads but Calico does not own: core/v1 Services and
 * discovery.k8s.io/v1 EndpointSlices, for per-service route advertisement (what confd's route
 * generator watches). Read-only and Kubernetes-only: list and watch under the kind names "Service" and
 * "EndpointSlice", each object kept as the API server returns it, with an EndpointSlice's top-level
 * addressType, endpoints and ports moved under `spec` so it fits the Resource shape.
 */
import type { Resource } from "../../api/meta.js";

export type ServiceObjectKind = "Service" | "EndpointSlice";

interface KindInfo {
  readonly apiVersion: string;
  /** Cluster-wide collection path (list and watch). */
  readonly path: string;
  readonly toResource: (o: Record<string, unknown>) => Resource;
}

type K8sMeta = {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

function meta(o: Record<string, unknown>): Resource["metadata"] {
  const m = (o.metadata ?? {}) as K8sMeta;
  return {
    name: m.name ?? "",
    ...(m.namespace !== undefined ? { namespace: m.namespace } : {}),
    ...(m.uid !== undefined ? { uid: m.uid } : {}),
    ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    ...(m.creationTimestamp !== undefined ? { creationTimestamp: String(m.creationTimestamp) } : {}),
    ...(m.labels !== undefined ? { labels: m.labels } : {}),
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
  };
}

const KINDS: Record<ServiceObjectKind, KindInfo> = {
  Service: {
    apiVersion: "v1",
    path: "/api/v1/services",
    toResource: (o) => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(o),
      spec: o.spec ?? {},
      ...(o.status !== undefined ? { status: o.status } : {}),
    }),
  },
  EndpointSlice: {
    apiVersion: "discovery.k8s.io/v1",
    path: "/apis/discovery.k8s.io/v1/endpointslices",
    toResource: (o) => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: meta(o),
      spec: { addressType: o.addressType, endpoints: o.endpoints ?? [], ports: o.ports ?? [] },
    }),
  },
};

export function serviceObjectKind(kind: string): KindInfo | undefined {
  return Object.hasOwn(KINDS, kind) ? KINDS[kind as ServiceObjectKind] : undefined;
}
