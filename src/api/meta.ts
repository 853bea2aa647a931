/**
 * The envelope every resource shares (Kubernetes TypeMeta + ObjectMeta, as projectcalico.org/v3 uses
 * them) and its checks from Calico's validateObjectMeta: DNS-1123 names, qualified label keys, label
 * values, annotation size. Server-managed metadata (uid, resourceVersion, creationTimestamp, generation)
 * is read so that `get -o yaml` output applies back, but tabbyctl never trusts it on create
 * (calicoctl's prepareMetadataForCreate). Pure.
 */
import type { FieldPath, Issues } from "./issues.js";
import { checkLabelValue, checkQualifiedName, checkResourceName, MAX_ANNOTATIONS_BYTES } from "./names.js";

export const API_GROUP = "projectcalico.org";
export const API_VERSION = "projectcalico.org/v3";
/** Where Calico stores these resources as CRDs in Kubernetes. */
export const CRD_GROUP = "crd.projectcalico.org";
export const CRD_API_VERSION = "crd.projectcalico.org/v1";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

const utf8 = new TextEncoder();

/** Kubernetes-managed fields tabby reads and drops: accepted so exported objects apply back. */
const IGNORED_META = new Set([
  "generateName",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

function stringMap(raw: unknown, path: FieldPath, issues: Issues): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    issues.add(path, "must be a mapping of strings", raw);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") {
      issues.add([...path, k], "must be a string (quote numbers and booleans)", v);
      continue;
    }
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Decodes and checks `metadata`; `namespaced` says whether the kind lives in a namespace. */
export function decodeMeta(raw: unknown, namespaced: boolean, issues: Issues): ObjectMeta | undefined {
  const path = ["metadata"];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issues.add(path, raw === undefined ? "is required" : "must be a mapping", raw);
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const known = new Set([
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "labels",
    "annotations",
  ]);
  for (const k of Object.keys(obj)) {
    if (!known.has(k) && !IGNORED_META.has(k)) issues.add([...path, k], "unknown field");
  }
  const str = (k: string): string | undefined => {
    const v = obj[k];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") {
      issues.add([...path, k], "must be a string", v);
      return undefined;
    }
    return v;
  };
  const name = str("name");
  if (name === undefined) issues.add([...path, "name"], "is required");
  else {
    const bad = checkResourceName(name);
    if (bad !== undefined) issues.add([...path, "name"], bad, name);
  }
  const meta: ObjectMeta = { name: name ?? "" };
  const namespace = str("namespace");
  if (namespace !== undefined && !namespaced) {
    issues.add([...path, "namespace"], "must not be set: this kind is not namespaced", namespace);
  } else if (namespaced) {
    // calicoctl's handleNamespace: a namespaced resource without one goes to "default".
    meta.namespace = namespace ?? "default";
    const bad = checkResourceName(meta.namespace);
    if (bad !== undefined) issues.add([...path, "namespace"], bad, meta.namespace);
  }
  for (const k of ["uid", "resourceVersion", "creationTimestamp"] as const) {
    const v = str(k);
    if (v !== undefined) meta[k] = v;
  }
  if (typeof obj.creationTimestamp === "object" && obj.creationTimestamp instanceof Date) {
    // YAML may read an unquoted timestamp as a date.
    meta.creationTimestamp = obj.creationTimestamp.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  if (obj.generation !== undefined && obj.generation !== null) {
    if (typeof obj.generation === "number" && Number.isInteger(obj.generation))
      meta.generation = obj.generation;
    else issues.add([...path, "generation"], "must be an integer", obj.generation);
  }
  const labels = stringMap(obj.labels, [...path, "labels"], issues);
  if (labels !== undefined) {
    for (const [k, v] of Object.entries(labels)) {
      const badKey = checkQualifiedName(k);
      if (badKey !== undefined) issues.add([...path, "labels", k], `label key ${badKey}`, k);
      const badValue = checkLabelValue(v);
      if (badValue !== undefined) issues.add([...path, "labels", k], `label value ${badValue}`, v);
    }
    meta.labels = labels;
  }
  const annotations = stringMap(obj.annotations, [...path, "annotations"], issues);
  if (annotations !== undefined) {
    let size = 0;
    for (const [k, v] of Object.entries(annotations)) {
      const badKey = checkQualifiedName(k.toLowerCase());
      if (badKey !== undefined) issues.add([...path, "annotations", k], `annotation key ${badKey}`, k);
      size += utf8.encode(k).length + utf8.encode(v).length;
    }
    if (size > MAX_ANNOTATIONS_BYTES) {
      issues.add(
        [...path, "annotations"],
        `total size must be at most ${MAX_ANNOTATIONS_BYTES} bytes (is ${size})`,
      );
    }
    meta.annotations = annotations;
  }
  return meta;
}
