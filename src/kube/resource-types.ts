/**
 * The kinds the embedded API server serves: the built-ins tabby needs (core/v1 Namespaces, Nodes,
 * Pods, Secrets; apiextensions.k8s.io/v1 CustomResourceDefinitions) and, from every stored CRD, its
 * served versions, as the API server's CRD handler adds them once a CRD is created. Per kind: names
 * for discovery, scope, whether /status is a subresource, whether an update may omit resourceVersion
 * (AllowUnconditionalUpdate: true for the built-ins, false for custom resources) and the printer
 * columns of `kubectl get`. Pure.
 */
import type { KubeObject } from "./object-store.js";

export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
  /** Computed cells for built-in kinds, as kubectl's printers derive them (Node's Ready condition). */
  readonly value?: (o: KubeObject) => unknown;
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly statusSubresource: boolean;
  readonly unconditionalUpdate: boolean;
  readonly printerColumns: readonly PrinterColumn[];
  /** Set for custom resources: the CRD that defines them. */
  readonly crd?: KubeObject;
}

export const groupVersion = (t: Pick<ResourceType, "group" | "version">) =>
  t.group === "" ? t.version : `${t.group}/${t.version}`;

/** Where objects of a type live in the store (the API server's etcd layout). */
export function storePrefix(t: Pick<ResourceType, "group" | "plural">, namespace?: string): string {
  return `/registry/${t.group === "" ? "core" : t.group}/${t.plural}/${namespace !== undefined ? `${namespace}/` : ""}`;
}

export function storeKey(t: ResourceType, name: string, namespace?: string): string {
  return `${storePrefix(t, t.namespaced ? (namespace ?? "default") : undefined)}${name}`;
}

const builtin = (
  group: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
  statusSubresource: boolean,
  printerColumns: PrinterColumn[] = [],
): ResourceType => ({
  group,
  version: "v1",
  plural,
  singular: kind.toLowerCase(),
  kind,
  listKind: `${kind}List`,
  namespaced,
  shortNames,
  categories: [],
  statusSubresource,
  unconditionalUpdate: true,
  printerColumns,
});

export const NAMESPACES = builtin("", "namespaces", "Namespace", false, ["ns"], true, [
  { name: "Status", type: "string", jsonPath: ".status.phase" },
]);
export const CRDS = builtin(
  "apiextensions.k8s.io",
  "customresourcedefinitions",
  "CustomResourceDefinition",
  false,
  ["crd", "crds"],
  true,
  [{ name: "Created At", type: "date", jsonPath: ".metadata.creationTimestamp" }],
);

export const BUILTINS: readonly ResourceType[] = [
  NAMESPACES,
  builtin("", "nodes", "Node", false, ["no"], true, [
    { name: "Status", type: "string", jsonPath: ".status.conditions", value: nodeReadiness },
    {
      name: "Internal-IP",
      type: "string",
      jsonPath: ".status.addresses",
      value: nodeInternalIp,
      priority: 1,
    },
  ]),
  builtin("", "pods", "Pod", true, ["po"], true, [
    { name: "Status", type: "string", jsonPath: ".status.phase" },
    { name: "IP", type: "string", jsonPath: ".status.podIP", priority: 1 },
    { name: "Node", type: "string", jsonPath: ".spec.nodeName", priority: 1 },
  ]),
  builtin("", "secrets", "Secret", true, [], false, [{ name: "Type", type: "string", jsonPath: ".type" }]),
  builtin("", "services", "Service", true, ["svc"], true, [
    { name: "Type", type: "string", jsonPath: ".spec.type" },
    { name: "Cluster-IP", type: "string", jsonPath: ".spec.clusterIP" },
    { name: "External-IP", type: "string", jsonPath: ".spec.externalIPs", value: externalIps },
    { name: "Port(s)", type: "string", jsonPath: ".spec.ports", value: servicePorts },
  ]),
  builtin("discovery.k8s.io", "endpointslices", "EndpointSlice", true, [], false, [
    { name: "AddressType", type: "string", jsonPath: ".addressType" },
    { name: "Endpoints", type: "string", jsonPath: ".endpoints", value: endpointAddresses },
  ]),
  CRDS,
  // Stored without semantics, so that tabby's manifest (crds/tabby-node.yaml) applies as it would to a
  // real cluster; nothing runs them.
  builtin("", "configmaps", "ConfigMap", true, ["cm"], false),
  builtin("", "serviceaccounts", "ServiceAccount", true, ["sa"], false),
  builtin("apps", "daemonsets", "DaemonSet", true, ["ds"], true),
  builtin("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, [], false),
  builtin("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, [], false),
  builtin("rbac.authorization.k8s.io", "roles", "Role", true, [], false),
  builtin("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, [], false),
];

interface CrdSpec {
  group: string;
  scope: "Namespaced" | "Cluster";
  names: {
    plural: string;
    singular?: string;
    kind: string;
    listKind?: string;
    shortNames?: string[];
    categories?: string[];
  };
  versions: {
    name: string;
    served?: boolean;
    storage?: boolean;
    subresources?: { status?: unknown };
    additionalPrinterColumns?: PrinterColumn[];
  }[];
}

/** The resource types one CRD defines (one per served version). */
export function typesOfCrd(crd: KubeObject): ResourceType[] {
  const spec = crd.spec as CrdSpec | undefined;
  if (spec === undefined) return [];
  return spec.versions
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group,
      version: v.name,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      kind: spec.names.kind,
      listKind: spec.names.listKind ?? `${spec.names.kind}List`,
      namespaced: spec.scope === "Namespaced",
      shortNames: spec.names.shortNames ?? [],
      categories: spec.names.categories ?? [],
      statusSubresource: v.subresources?.status !== undefined,
      unconditionalUpdate: false,
      printerColumns: v.additionalPrinterColumns ?? [],
      crd,
    }));
}

/** The built-ins plus what the stored CRDs define, with lookups by group/version/plural. */
export class TypeRegistry {
  private types: ResourceType[] = [...BUILTINS];

  rebuild(crds: readonly KubeObject[]): void {
    this.types = [...BUILTINS, ...crds.flatMap(typesOfCrd)];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  all(): readonly ResourceType[] {
    return this.types;
  }

  /** Group names with their versions, in registration order (core excluded). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      if (t.group === "") continue;
      const vs = out.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      out.set(t.group, vs);
    }
    return out;
  }
}

type Condition = { type?: string; status?: string };

/** `Ready`, `NotReady` or `Unknown` from the Ready condition, as kubectl's node printer says it. */
function nodeReadiness(o: KubeObject): string {
  const conditions = ((o as { status?: { conditions?: Condition[] } }).status?.conditions ??
    []) as Condition[];
  const ready = conditions.find((c) => c.type === "Ready");
  return ready === undefined ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady";
}

function nodeInternalIp(o: KubeObject): string {
  const addresses =
    (o as { status?: { addresses?: { type?: string; address?: string }[] } }).status?.addresses ?? [];
  return addresses.find((a) => a.type === "InternalIP")?.address ?? "<none>";
}

/** kubectl's EXTERNAL-IP: LoadBalancer ingress and spec.externalIPs, `<pending>` for a LoadBalancer without any. */
function externalIps(o: KubeObject): string {
  const svc = o as {
    spec?: { type?: string; externalIPs?: string[] };
    status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
  };
  const ips = [
    ...(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? ""),
    ...(svc.spec?.externalIPs ?? []),
  ].filter((x) => x !== "");
  if (ips.length > 0) return ips.join(",");
  return svc.spec?.type === "LoadBalancer" ? "<pending>" : "<none>";
}

/** kubectl's ENDPOINTS of an EndpointSlice: the first three addresses, then `+ N more...`. */
function endpointAddresses(o: KubeObject): string {
  const eps = (o as { endpoints?: { addresses?: string[] }[] }).endpoints ?? [];
  const all = eps.flatMap((e) => e.addresses ?? []);
  if (all.length === 0) return "<unset>";
  return all.length > 3 ? `${all.slice(0, 3).join(",")} + ${all.length - 3} more...` : all.join(",");
}

/** kubectl's PORT(S): `80/TCP`, `80:30080/TCP` with a node port, `<none>`. */
function servicePorts(o: KubeObject): string {
  const ports =
    (o as { spec?: { ports?: { port?: number; nodePort?: number; protocol?: string }[] } }).spec?.ports ?? [];
  if (ports.length === 0) return "<none>";
  return ports
    .map((p) => `${p.port}${p.nodePort !== undefined ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
    .join(",");
}
