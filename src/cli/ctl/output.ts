/**
 * `tabbyctl get` output in calicoctl's shapes (calicoctl/commands/common/printer.go): tables as Go's
 * tabwriter prints them (minwidth 5, padding 3, every cell padded, a blank line after); YAML as
 * sigs.k8s.io/yaml writes it (keys sorted, lists not indented); JSON in Go's struct field order (kind,
 * apiVersion, metadata, spec, status). One resource prints as itself, a listing as `<Kind>List` with the
 * store's revision, several names as a sequence. Pure.
 */
import { stringify } from "yaml";
import type { KindDef, TableContext } from "../../api/kind.js";
import { API_VERSION, type ObjectMeta, type Resource } from "../../api/meta.js";

export type OutputFormat = "ps" | "wide" | "yaml" | "json";

/** Go's tabwriter with calicoctl's settings (minwidth 5, tabwidth 1, padding 3, pad ' ', no flags). */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const width = (s: string) => [...s].length;
  const cols = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, c) =>
    Math.max(5, ...rows.map((r) => (r[c] === undefined ? 0 : width(r[c]!) + 3))),
  );
  return rows
    .map((r) => `${r.map((cell, c) => cell + " ".repeat(widths[c]! - width(cell))).join("")}\n`)
    .join("");
}

export function renderResourceTable(
  def: KindDef,
  resources: readonly Resource[],
  wide: boolean,
  ctx: TableContext,
  withNamespace: boolean,
): string {
  const columns = [
    ...(withNamespace && def.namespaced ? ["NAMESPACE"] : []),
    ...(wide ? def.table.wide : def.table.columns),
  ];
  const rows = [
    columns,
    ...resources.map((r) =>
      columns.map((c) => (c === "NAMESPACE" ? (r.metadata.namespace ?? "") : def.table.cell(r, c, ctx))),
    ),
  ];
  return `${renderTable(rows)}\n`;
}

const META_ORDER: (keyof ObjectMeta)[] = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "labels",
  "annotations",
];

/** The resource with keys in Go's struct order, for JSON. */
function goOrder(r: Resource): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const k of META_ORDER) if (r.metadata[k] !== undefined) metadata[k] = r.metadata[k];
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata,
    spec: r.spec,
    ...(r.status !== undefined ? { status: r.status } : {}),
  };
}

export function listObject(
  def: KindDef,
  items: readonly Resource[],
  revision: string,
): Record<string, unknown> {
  return {
    kind: def.listKind,
    apiVersion: API_VERSION,
    metadata: { resourceVersion: revision },
    items: items.map(goOrder),
  };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export function renderYaml(v: unknown): string {
  // YAML 1.1 quoting, as go-yaml: strings that 1.1 would read as booleans or timestamps are quoted.
  return stringify(sortKeys(v), { indentSeq: false, lineWidth: 0, minContentWidth: 0, version: "1.1" });
}

export function renderJson(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** What `get` prints for the objects it found, in the format asked for. */
export function renderGet(
  format: OutputFormat,
  def: KindDef,
  found: { readonly items: readonly Resource[]; readonly revision: string; readonly list: boolean },
  ctx: TableContext,
  withNamespace: boolean,
): string {
  if (format === "ps" || format === "wide") {
    return renderResourceTable(def, found.items, format === "wide", ctx, withNamespace);
  }
  const value = found.list
    ? listObject(def, found.items, found.revision)
    : found.items.length === 1
      ? goOrder(found.items[0]!)
      : found.items.map(goOrder);
  return format === "json" ? renderJson(value) : renderYaml(value);
}
