/**
 * Server-side printing for `kubectl get`: when a client asks for `as=Table;g=meta.k8s.io;v=v1`, a list
 * is answered with a meta.k8s.io/v1 Table: Name, then the kind's printer columns (a CRD's
 * additionalPrinterColumns), then Age, each row carrying the object's metadata
 * (PartialObjectMetadata), as the API server's TableConvertor does for custom resources. JSONPath is
 * the simple `.a.b.c` form those columns use. Pure (`nowMs` is passed in).
 */
import type { KubeObject } from "./object-store.js";
import type { ResourceType } from "./resource-types.js";

type Json = Record<string, unknown>;

/** `5s`, `3m`, `4h`, `2d`, `1y` as kubectl prints ages (duration.HumanDuration, simplified). */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60 * 3) return m < 10 && s % 60 !== 0 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return h < 8 && m % 60 !== 0 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 365 * 2) return d < 8 && h % 24 !== 0 ? `${d}d${h % 24}h` : `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function lookup(obj: unknown, jsonPath: string): unknown {
  const path = jsonPath.replace(/^\{?\.?/, "").replace(/\}$/, "");
  let v: unknown = obj;
  for (const p of path.split(".").filter((x) => x !== "")) {
    v = typeof v === "object" && v !== null ? (v as Json)[p] : undefined;
  }
  return v;
}

function cell(v: unknown, type: string, nowMs: number): unknown {
  if (v === undefined || v === null) return type === "date" ? "<unknown>" : null;
  if (type === "date" && typeof v === "string") return humanAge(nowMs - Date.parse(v));
  if (typeof v === "object") return JSON.stringify(v);
  return v;
}

export function toTable(
  t: ResourceType,
  objects: readonly KubeObject[],
  resourceVersion: string,
  nowMs: number,
): Json {
  const hasDate = t.printerColumns.some((c) => c.type === "date");
  const columns = [
    {
      name: "Name",
      type: "string",
      format: "name",
      description: "Name must be unique within a namespace.",
      priority: 0,
    },
    ...t.printerColumns.map((c) => ({
      name: c.name,
      type: c.type === "date" ? "date" : c.type,
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
    ...(hasDate
      ? []
      : [{ name: "Age", type: "date", format: "", description: "CreationTimestamp", priority: 0 }]),
  ];
  const rows = objects.map((o) => ({
    cells: [
      o.metadata.name,
      ...t.printerColumns.map((c) => cell(c.value ? c.value(o) : lookup(o, c.jsonPath), c.type, nowMs)),
      ...(hasDate ? [] : [cell(o.metadata.creationTimestamp, "date", nowMs)]),
    ],
    object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
  }));
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns,
    rows,
  };
}
