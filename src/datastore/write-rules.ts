/**
 * What a create or an update stores, as the Kubernetes API server decides it and every tabby backend
 * repeats it: server-managed metadata (uid, creationTimestamp) is set on create and kept on update,
 * whatever the caller sent; an update replaces labels, annotations, spec and status; an update that
 * changes none of them is a no-op (no new revision). The revision itself is the backend's to assign
 * (a global counter, an etcd mod revision). Pure.
 */
import type { Resource } from "../api/meta.js";
import { cloneJson as clone, jsonEqual } from "../util/json-data.js";

/** Whether two objects have the same labels, annotations, spec and status (what an update may change). */
export function sameUserContent(a: Resource, b: Resource): boolean {
  return (
    jsonEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {}) &&
    jsonEqual(a.metadata.annotations ?? {}, b.metadata.annotations ?? {}) &&
    jsonEqual(a.spec, b.spec) &&
    jsonEqual(a.status ?? null, b.status ?? null)
  );
}

/** RFC 3339 in whole seconds, as metav1.Time marshals. */
export function formatTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The object a create stores, without its resourceVersion (the backend adds it). */
export function stampCreate(r: Resource, uid: string, wallTimeMs: number): Resource {
  const { labels, annotations, namespace } = r.metadata;
  return {
    ...clone(r),
    metadata: {
      name: r.metadata.name,
      ...(namespace !== undefined ? { namespace } : {}),
      uid,
      creationTimestamp: formatTimestamp(wallTimeMs),
      ...(labels !== undefined ? { labels: clone(labels) } : {}),
      ...(annotations !== undefined ? { annotations: clone(annotations) } : {}),
    },
  };
}

/**
 * The object an update of `old` by `incoming` stores, without a new resourceVersion (it keeps old's
 * until the backend sets one), or undefined when the update changes nothing.
 */
export function mergeUpdate(old: Resource, incoming: Resource): Resource | undefined {
  if (sameUserContent(old, incoming)) return undefined;
  const { labels, annotations } = incoming.metadata;
  const stored: Resource = {
    ...clone(incoming),
    metadata: {
      ...clone(old.metadata),
      labels: labels === undefined ? undefined : clone(labels),
      annotations: annotations === undefined ? undefined : clone(annotations),
    },
  };
  if (stored.metadata.labels === undefined) delete stored.metadata.labels;
  if (stored.metadata.annotations === undefined) delete stored.metadata.annotations;
  if (incoming.status === undefined) delete stored.status;
  return stored;
}

/** True when a caller's resourceVersion precondition (if any) does not match what is stored. */
export function isStale(given: string | undefined, stored: string | undefined): boolean {
  return given !== undefined && given !== "" && given !== stored;
}
