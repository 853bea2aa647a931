/**
 * CustomResourceDefinitions in crd.projectcalico.org/v1, where Calico keeps its resources in Kubernetes
 * (libcalico-go/config/crd/crd.projectcalico.org_*.yaml), generated from the same schemas tabby decodes
 * with, so the two cannot drift: structural OpenAPI v3 schemas, enums, bounds, patterns, list and map
 * types, CRD defaults and CEL rules. Names, short names and printer columns are those of Calico's
 * projectcalico.org/v3 CRDs. Kinds Calico does not keep as CRDs (Node, WorkloadEndpoint) have none.
 * Where v1 stores a field differently (BlockAffinity.deleted is a string) the kind says so. Pure.
 */
import type { KindDef } from "./kind.js";
import { CRD_GROUP } from "./meta.js";
import type { Schema } from "./schema.js";

type Json = Record<string, unknown>;

/** The OpenAPI v3 schema Kubernetes wants for one field. */
export function openApiSchema(s: Schema): Json {
  const out: Json = {};
  if (s.description !== undefined) out.description = s.description;
  switch (s.type) {
    case "string":
      out.type = "string";
      if (s.enum !== undefined) out.enum = [...s.enum];
      if (s.maxLength !== undefined) out.maxLength = s.maxLength;
      if (s.pattern !== undefined) out.pattern = s.pattern.crd;
      if (s.format !== undefined) out.format = s.format;
      if (s.default !== undefined) out.default = s.default;
      break;
    case "integer":
      out.type = "integer";
      if (s.format !== undefined) out.format = s.format;
      if (s.minimum !== undefined) out.minimum = s.minimum;
      if (s.maximum !== undefined) out.maximum = s.maximum;
      if (s.default !== undefined) out.default = s.default;
      break;
    case "boolean":
      out.type = "boolean";
      if (s.default !== undefined) out.default = s.default;
      break;
    case "asNumber":
      // Calico's CRDs store AS numbers as int32-formatted integers; asdot text is converted on write.
      out.type = "integer";
      out.format = "int32";
      break;
    case "duration":
      out.type = "string";
      break;
    case "array":
      out.type = "array";
      out.items = openApiSchema(s.items);
      if (s.minItems !== undefined) out.minItems = s.minItems;
      if (s.maxItems !== undefined) out.maxItems = s.maxItems;
      if (s.listType !== undefined) out["x-kubernetes-list-type"] = s.listType;
      if (s.listMapKeys !== undefined) out["x-kubernetes-list-map-keys"] = [...s.listMapKeys];
      break;
    case "map":
      out.type = "object";
      out.additionalProperties = openApiSchema(s.values);
      break;
    case "object":
      out.type = "object";
      out.properties = Object.fromEntries(
        Object.entries(s.properties).map(([k, v]) => [k, openApiSchema(v)]),
      );
      if (s.required !== undefined && s.required.length > 0) out.required = [...s.required].sort();
      if (s.minProperties !== undefined) out.minProperties = s.minProperties;
      if (s.maxProperties !== undefined) out.maxProperties = s.maxProperties;
      if (s.mapType !== undefined) out["x-kubernetes-map-type"] = s.mapType;
      break;
  }
  if (s.nullable) out.nullable = true;
  if (s.cel !== undefined && s.cel.length > 0) {
    out["x-kubernetes-validations"] = s.cel.map((c) => ({
      message: c.message,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      rule: c.rule,
    }));
  }
  return out;
}

export function crdFor(def: KindDef): Json | undefined {
  if (def.noCrd) return undefined;
  const kind = def.crd?.kind ?? def.kind;
  const plural = def.crd?.plural ?? def.plural;
  const singular = def.crd?.singular ?? def.singular;
  const spec = openApiSchema(def.crdSpec ?? def.spec);
  const properties: Json = {
    apiVersion: {
      description:
        "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
      type: "string",
    },
    kind: {
      description:
        "Kind is a string value representing the REST resource this object represents. In CamelCase.",
      type: "string",
    },
    metadata: { type: "object" },
    spec,
  };
  if (def.status !== undefined) properties.status = openApiSchema(def.status);
  const version: Json = {
    name: "v1",
    schema: { openAPIV3Schema: { properties, type: "object" } },
    served: true,
    storage: true,
  };
  if (def.printerColumns !== undefined) {
    version.additionalPrinterColumns = def.printerColumns.map((c) => ({
      description: c.description,
      jsonPath: c.jsonPath,
      name: c.name,
      type: c.type,
    }));
  }
  if (def.statusSubresource) version.subresources = { status: {} };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${CRD_GROUP}` },
    spec: {
      group: CRD_GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        ...(def.shortNames !== undefined && def.crd === undefined ? { shortNames: [...def.shortNames] } : {}),
        singular,
      },
      scope: def.namespaced ? "Namespaced" : "Cluster",
      versions: [version],
    },
  };
}

/** The file name Calico uses for a CRD: `crd.projectcalico.org_ippools.yaml`. */
export function crdFileName(crd: Json): string {
  const name = (crd.metadata as { name: string }).name;
  return `${CRD_GROUP}_${name.split(".")[0]}.yaml`;
}
