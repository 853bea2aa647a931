/**
 * Turns the resources of a file into datastore writes for apply/create/replace/delete, checking all of
 * them before any is written: existence as the command needs it, a stale resourceVersion, the kinds'
 * write-time rules (pool overlap, immutable fields, missing filters) against the store as the earlier
 * writes of the same file will leave it. Metadata follows calicoctl (resourcemgr.go): a create keeps only
 * name, namespace, labels and annotations; an update keeps the stored metadata and takes the new labels
 * and annotations; a status the controllers own (status subresource) is never written from a file. Pure.
 */
import type { FieldPath, LocatedIssue } from "../../api/issues.js";
import type { KindDef } from "../../api/kind.js";
import type { ObjectMeta, Resource } from "../../api/meta.js";
import { checkWrite } from "../../api/resource.js";
import type { WriteOp } from "../../datastore/types.js";

export type WriteAction = "apply" | "create" | "replace" | "delete";

export interface PlannedResource {
  readonly resource: Resource;
  readonly def: KindDef;
  readonly file?: string;
  readonly document?: number;
  /** Line and column of a field of this resource in its file, when known. */
  at?(path: FieldPath): { line?: number; column?: number };
}

export interface PlanOptions {
  /** calicoctl's --skip-exists (create) and --skip-not-exists (delete). */
  readonly skipExists?: boolean;
  readonly skipNotExists?: boolean;
}

export interface Plan {
  readonly ops: WriteOp[];
  readonly issues: LocatedIssue[];
  /** Resources skipped by --skip-exists / --skip-not-exists. */
  readonly skipped: number;
}

const keyString = (r: Resource) => `${r.kind}/${r.metadata.namespace ?? ""}/${r.metadata.name}`;

/** `stored` holds the current objects of every kind the plan may look at. */
export function planWrites(
  action: WriteAction,
  items: readonly PlannedResource[],
  stored: ReadonlyMap<string, readonly Resource[]>,
  options: PlanOptions = {},
): Plan {
  const sim = new Map<string, { resource: Resource; fromStore: boolean }>();
  for (const list of stored.values())
    for (const r of list) sim.set(keyString(r), { resource: r, fromStore: true });
  const ops: WriteOp[] = [];
  const issues: LocatedIssue[] = [];
  let skipped = 0;

  for (const item of items) {
    const { resource, def } = item;
    const problem = (path: FieldPath, rule: string, value?: unknown) =>
      issues.push({
        path,
        rule,
        ...(value !== undefined ? { value } : {}),
        kind: resource.kind,
        name: resource.metadata.name,
        ...(item.file !== undefined ? { file: item.file } : {}),
        ...(item.document !== undefined ? { document: item.document } : {}),
        ...(item.at?.(path) ?? {}),
      });
    if (def.readOnly) {
      problem(
        [],
        `${def.kind} is managed by IPAM and cannot be written with tabbyctl (calicoctl does not offer it either)`,
      );
      continue;
    }
    const key = keyString(resource);
    const existing = sim.get(key);

    if (action === "delete") {
      if (existing === undefined) {
        if (options.skipNotExists) skipped++;
        else problem([], "resource does not exist");
        continue;
      }
      const rv = resource.metadata.resourceVersion;
      if (rv !== undefined && existing.fromStore && rv !== existing.resource.metadata.resourceVersion) {
        problem(
          ["metadata", "resourceVersion"],
          `is out of date (latest: ${existing.resource.metadata.resourceVersion})`,
          rv,
        );
        continue;
      }
      ops.push({
        op: "delete",
        key: { kind: resource.kind, name: resource.metadata.name, ...namespaceOf(resource.metadata) },
        ...(existing.fromStore && existing.resource.metadata.resourceVersion !== undefined
          ? { resourceVersion: existing.resource.metadata.resourceVersion }
          : {}),
      });
      sim.delete(key);
      continue;
    }

    const update = existing !== undefined && action !== "create";
    if (existing !== undefined && action === "create") {
      if (options.skipExists) skipped++;
      else problem([], "resource already exists (use apply or replace to change it)");
      continue;
    }
    if (existing === undefined && action === "replace") {
      problem([], "resource does not exist (use apply or create)");
      continue;
    }
    const given = resource.metadata.resourceVersion;
    if (
      update &&
      given !== undefined &&
      existing.fromStore &&
      given !== existing.resource.metadata.resourceVersion
    ) {
      problem(
        ["metadata", "resourceVersion"],
        `is out of date (latest: ${existing.resource.metadata.resourceVersion}); get the resource again and reapply`,
        given,
      );
      continue;
    }
    const next: Resource = update
      ? mergeForUpdate(existing.resource, resource, def)
      : prepareForCreate(resource, def);
    const writeIssues = checkWrite(def, next, {
      op: update ? "update" : "create",
      ...(update ? { old: existing.resource } : {}),
      list: (kind) => [...sim.values()].map((v) => v.resource).filter((r) => r.kind === kind),
    });
    for (const i of writeIssues) problem(i.path, i.rule, i.value);
    if (writeIssues.length > 0) continue;
    ops.push({ op: update ? "update" : "create", resource: next });
    sim.set(key, { resource: next, fromStore: false });
  }
  return { ops, issues, skipped };
}

function namespaceOf(m: ObjectMeta): { namespace?: string } {
  return m.namespace !== undefined ? { namespace: m.namespace } : {};
}

function userMeta(m: ObjectMeta): Pick<ObjectMeta, "labels" | "annotations"> {
  return {
    ...(m.labels !== undefined ? { labels: m.labels } : {}),
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
  };
}

/** calicoctl prepareMetadataForCreate: the datastore sets the rest. */
function prepareForCreate(r: Resource, def: KindDef): Resource {
  const { status, ...rest } = r;
  return {
    ...rest,
    metadata: { name: r.metadata.name, ...namespaceOf(r.metadata), ...userMeta(r.metadata) },
    ...(status !== undefined && !def.statusSubresource ? { status } : {}),
  };
}

/** calicoctl mergeMetadataForUpdate: stored metadata, new labels and annotations. */
function mergeForUpdate(old: Resource, r: Resource, def: KindDef): Resource {
  const { labels: _l, annotations: _a, ...kept } = old.metadata;
  const status = def.statusSubresource ? old.status : r.status;
  const { status: _s, ...rest } = r;
  return {
    ...rest,
    metadata: { ...kept, ...userMeta(r.metadata) },
    ...(status !== undefined ? { status } : {}),
  };
}
