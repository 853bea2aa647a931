/**
 * From a parsed YAML/JSON document to a checked, defaulted resource: apiVersion and kind, strict decoding
 * of metadata/spec/status against the kind's schema, Calico's defaults, then the kind's rules. Every
 * problem in the document is collected. A `...List` document or a top-level sequence is expanded to its
 * items first, as calicoctl's createResourcesFromBytes does. Pure: write-time rules that need stored
 * state are run by the caller through `checkWrite`.
 */

import { formatPath } from "../util/yaml-config.js";
import { type FieldIssue, Issues } from "./issues.js";
import type { KindDef, WriteContext } from "./kind.js";
import { API_VERSION, decodeMeta, type Resource } from "./meta.js";
import { findKind, kindNames } from "./registry.js";
import { decodeObject } from "./schema.js";

export type DecodeResult =
  | { readonly ok: true; readonly resource: Resource; readonly def: KindDef }
  | {
      readonly ok: false;
      readonly kind?: string;
      readonly name?: string;
      readonly issues: readonly FieldIssue[];
    };

const TOP_LEVEL = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);

/**
 * The resources a document holds: itself, the items of a `<Kind>List`, or the elements of a top-level
 * sequence. Each item keeps its index path so errors can point into the list.
 */
export function expandDocument(raw: unknown): { raw: unknown; path: (string | number)[] }[] {
  if (Array.isArray(raw)) return raw.map((r, i) => ({ raw: r, path: [i] }));
  if (typeof raw === "object" && raw !== null) {
    const o = raw as Record<string, unknown>;
    if (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items)) {
      return o.items.map((r, i) => ({ raw: r, path: ["items", i] }));
    }
  }
  return [{ raw, path: [] }];
}

export function decodeResource(raw: unknown): DecodeResult {
  const issues = new Issues();
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issues.add([], "a resource must be a mapping with apiVersion, kind, metadata and spec", raw);
    return { ok: false, issues: issues.list };
  }
  const o = raw as Record<string, unknown>;
  const kindName = typeof o.kind === "string" ? o.kind : undefined;
  const name = nameOf(o);
  if (o.apiVersion === undefined) issues.add(["apiVersion"], `is required (${API_VERSION})`);
  else if (o.apiVersion !== API_VERSION) {
    issues.add(["apiVersion"], `must be ${API_VERSION}`, o.apiVersion);
  }
  const def = kindName === undefined ? undefined : findKind(kindName);
  if (kindName === undefined)
    issues.add(["kind"], o.kind === undefined ? "is required" : "must be a string", o.kind);
  else if (def === undefined)
    issues.add(["kind"], `unknown kind; tabby knows ${kindNames().join(", ")}`, kindName);
  if (def === undefined)
    return {
      ok: false,
      ...(kindName ? { kind: kindName } : {}),
      ...(name ? { name } : {}),
      issues: issues.list,
    };

  for (const k of Object.keys(o)) if (!TOP_LEVEL.has(k)) issues.add([k], "unknown field");
  const metadata = decodeMeta(o.metadata, def.namespaced, issues);
  let spec = decodeObject(o.spec ?? {}, def.spec, ["spec"], issues) ?? {};
  let status: Record<string, unknown> | undefined;
  if (o.status !== undefined && o.status !== null) {
    if (def.status === undefined) issues.add(["status"], "unknown field");
    else status = decodeObject(o.status, def.status, ["status"], issues);
  }
  const resource: Resource = {
    apiVersion: API_VERSION,
    kind: def.kind,
    metadata: metadata ?? { name: name ?? "" },
    spec,
    ...(status !== undefined ? { status } : {}),
  };
  if (def.defaults !== undefined) {
    spec = def.defaults(spec, resource);
    resource.spec = spec;
  }
  // Fields that failed to decode are absent here, so a rule may see "missing" where the user wrote
  // something wrong; keep only the first problem per field so the report has no follow-on noise.
  const decodeProblems = issues.list.length;
  def.validate?.(resource, issues);
  const seen = new Set(issues.list.slice(0, decodeProblems).map((i) => formatPath(i.path)));
  const ruleProblems = issues.list.splice(decodeProblems).filter((i) => !seen.has(formatPath(i.path)));
  issues.list.push(...ruleProblems);
  if (!issues.empty) return { ok: false, kind: def.kind, ...(name ? { name } : {}), issues: issues.list };
  return { ok: true, resource, def };
}

/** Write-time rules: immutable fields against `ctx.old`, overlap and references against `ctx.list`. */
export function checkWrite(def: KindDef, res: Resource, ctx: WriteContext): readonly FieldIssue[] {
  return def.validateWrite?.(res, ctx) ?? [];
}

function nameOf(o: Record<string, unknown>): string | undefined {
  const m = o.metadata;
  if (typeof m === "object" && m !== null) {
    const n = (m as Record<string, unknown>).name;
    if (typeof n === "string" && n !== "") return n;
  }
  return undefined;
}
