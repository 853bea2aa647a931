/**
 * Server-side validation of crd.projectcalico.org/v1 objects with the same rules tabbyctl applies
 * (src/api: the kind's schema, defaults and rules over the projectcalico.org/v3 form), turned into what
 * the API server answers: 422 Invalid with one cause per field (`spec.cidr: Invalid value: "x": ...`),
 * and unknown fields reported separately, because the API server refuses them only when the client asks
 * for strict field validation (kubectl's default) and otherwise warns. Rules that need other stored
 * objects (pool overlap) are Calico's client's job, not the API server's, as in Kubernetes. Pure.
 */
import { renderValue } from "../api/issues.js";
import { API_VERSION } from "../api/meta.js";
import { decodeResource } from "../api/resource.js";
import { type CrdObject, fromCrd, kindForCrdKind } from "../datastore/kubernetes/crd-convert.js";
import { formatPath } from "../util/yaml-config.js";
import type { KubeObject } from "./object-store.js";
import type { ResourceType } from "./resource-types.js";
import type { StatusCause } from "./status.js";

export interface Verdict {
  readonly causes: readonly StatusCause[];
  /** Paths of fields the schema does not know. */
  readonly unknown: readonly string[];
}

const CALICO_GROUP = "crd.projectcalico.org";

export function validateCalicoObject(obj: KubeObject, t: ResourceType): Verdict {
  if (t.group !== CALICO_GROUP) return { causes: [], unknown: [] };
  const def = kindForCrdKind(t.kind);
  if (def === undefined) return { causes: [], unknown: [] };
  const r = fromCrd({ ...(obj as CrdObject), kind: t.kind });
  const raw: Record<string, unknown> = {
    apiVersion: API_VERSION,
    kind: def.kind,
    metadata: {
      name: r.metadata.name,
      ...(r.metadata.namespace !== undefined ? { namespace: r.metadata.namespace } : {}),
      ...(r.metadata.labels !== undefined ? { labels: r.metadata.labels } : {}),
      ...(r.metadata.annotations !== undefined ? { annotations: r.metadata.annotations } : {}),
    },
    spec: r.spec,
  };
  if (r.status !== undefined && def.status !== undefined) raw.status = r.status;
  for (const k of Object.keys(obj)) {
    if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k)) raw[k] = obj[k];
  }
  const decoded = decodeResource(raw);
  if (decoded.ok) return { causes: [], unknown: [] };
  const causes: StatusCause[] = [];
  const unknown: string[] = [];
  for (const i of decoded.issues) {
    const field = formatPath(i.path);
    if (i.rule === "unknown field") unknown.push(field);
    else if (i.rule === "is required")
      causes.push({ reason: "FieldValueRequired", message: "Required value", field });
    else {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${i.value === undefined ? "null" : renderValue(i.value)}: ${i.rule}`,
        field,
      });
    }
  }
  return { causes, unknown };
}
