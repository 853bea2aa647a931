/**
 * projectcalico.org/v3 resources to and from their crd.projectcalico.org/v1 custom resources, as
 * Calico's KDD backend stores them (libcalico-go/lib/backend/k8s/resources/resources.go): the v1
 * object carries name, resourceVersion and uid; the v3 labels, annotations and creationTimestamp go
 * into the `projectcalico.org/metadata` annotation (labels and annotations whose key contains
 * `projectcalico.org/` also stay on the v1 object); on read, labels and annotations from both places
 * are merged and a creationTimestamp missing from the annotation is the custom resource's own. Kind
 * and field names that v1 spells differently (IPAMConfig, BlockAffinity.spec.deleted as a string)
 * are converted here. Unlike Calico, uids are passed through unchanged (Calico hashes them).
 * Node and WorkloadEndpoint are not CRDs: see node-mapping.ts and workload-mapping.ts. Pure.
 */
import type { KindDef } from "../../api/kind.js";
import { API_VERSION, CRD_API_VERSION, type Resource } from "../../api/meta.js";
import { KINDS } from "../../api/registry.js";

export const METADATA_ANNOTATION = "projectcalico.org/metadata";

/** A custom resource as the Kubernetes API returns it. */
export interface CrdObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
}

const byCrdKind = new Map(KINDS.filter((k) => !k.noCrd).map((k) => [k.crd?.kind ?? k.kind, k]));

/** The v3 kind for a v1 kind name (`IPAMConfig` → IPAMConfiguration). */
export function kindForCrdKind(crdKind: string): KindDef | undefined {
  return byCrdKind.get(crdKind);
}

export function crdPlural(def: KindDef): string {
  return def.crd?.plural ?? def.plural;
}

const isOurs = (k: string) => k.includes("projectcalico.org/") || k.includes("operator.tigera.io/");

function convertSpec(kind: string, spec: unknown, toCrd: boolean): unknown {
  if (kind !== "BlockAffinity" || typeof spec !== "object" || spec === null) return spec;
  const s = { ...(spec as Record<string, unknown>) };
  if (toCrd) s.deleted = String(s.deleted === true || s.deleted === "true");
  else s.deleted = s.deleted === true || s.deleted === "true";
  return s;
}

export function toCrd(r: Resource, def: KindDef): CrdObject {
  const { labels, annotations } = r.metadata;
  const v1Labels = Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => isOurs(k)));
  const v1Annotations: Record<string, string> = {
    // creationTimestamp is left to the custom resource's own (read back when the annotation has none), so
    // that writing back what was read changes nothing and the API server sees a no-op.
    [METADATA_ANNOTATION]: JSON.stringify({
      creationTimestamp: null,
      ...(labels !== undefined && Object.keys(labels).length > 0 ? { labels } : {}),
      ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
    }),
    ...Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => isOurs(k))),
  };
  return {
    apiVersion: CRD_API_VERSION,
    kind: def.crd?.kind ?? def.kind,
    metadata: {
      name: r.metadata.name,
      ...(r.metadata.namespace !== undefined && def.namespaced ? { namespace: r.metadata.namespace } : {}),
      ...(r.metadata.resourceVersion !== undefined && r.metadata.resourceVersion !== ""
        ? { resourceVersion: r.metadata.resourceVersion }
        : {}),
      ...(r.metadata.uid !== undefined ? { uid: r.metadata.uid } : {}),
      ...(Object.keys(v1Labels).length > 0 ? { labels: v1Labels } : {}),
      annotations: v1Annotations,
    },
    spec: convertSpec(r.kind, r.spec ?? {}, true),
    ...(r.status !== undefined ? { status: r.status } : {}),
  };
}

export function fromCrd(o: CrdObject): Resource {
  const def = kindForCrdKind(o.kind);
  if (def === undefined) throw new Error(`no Calico kind for custom resource kind ${o.kind}`);
  const annotations: Record<string, string> = { ...(o.metadata.annotations ?? {}) };
  let meta: {
    creationTimestamp?: string | null;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {};
  const stored = annotations[METADATA_ANNOTATION];
  if (stored !== undefined) {
    try {
      meta = JSON.parse(stored) as typeof meta;
    } catch {
      meta = {};
    }
    delete annotations[METADATA_ANNOTATION];
  }
  const labels = { ...(o.metadata.labels ?? {}), ...(meta.labels ?? {}) };
  Object.assign(annotations, meta.annotations ?? {});
  const creationTimestamp = meta.creationTimestamp ?? o.metadata.creationTimestamp;
  const r: Resource = {
    apiVersion: API_VERSION,
    kind: def.kind,
    metadata: {
      name: o.metadata.name,
      ...(o.metadata.namespace !== undefined && def.namespaced ? { namespace: o.metadata.namespace } : {}),
      ...(o.metadata.uid !== undefined ? { uid: o.metadata.uid } : {}),
      ...(o.metadata.resourceVersion !== undefined ? { resourceVersion: o.metadata.resourceVersion } : {}),
      ...(creationTimestamp !== undefined ? { creationTimestamp } : {}),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: convertSpec(def.kind, o.spec ?? {}, false),
  };
  if (o.status !== undefined && o.status !== null) r.status = o.status;
  return r;
}
