/**
 * A batch of writes against a snapshot of the keys it touches, as one etcd transaction: the final value
 * of every key (an object, or null for a delete), the compare each key needs so that the transaction
 * only applies to the state the plan was made from (create_revision = 0 for an absent key, mod_revision
 * = what was read otherwise), and each op's result. A key written twice in one batch is written once
 * with its final value (etcd refuses duplicate keys in a transaction). Typed errors as every backend
 * throws them (write-rules.ts). Pure; etcd-datastore.ts runs it and retries when a compare fails.
 */
import type { Resource } from "../../api/meta.js";
import { alreadyExists, conflict, notFound } from "../errors.js";
import { keyOf, type WriteOp } from "../types.js";
import { isStale, mergeUpdate, stampCreate } from "../write-rules.js";

/** What the plan was made from: a key's stored object (resourceVersion = its mod revision) or absence. */
export type Snapshot = ReadonlyMap<string, Resource | undefined>;

export interface PlannedResult {
  readonly resource: Resource;
  /** Takes the transaction's revision as its resourceVersion (a create or a real update). */
  readonly written: boolean;
}

export interface Plan {
  /** Keys to put (object without resourceVersion) or delete (null), in first-touched order. */
  readonly writes: ReadonlyMap<string, Resource | null>;
  /** Every key the batch touched, with the revision it must still have ("0": must not exist). */
  readonly compares: ReadonlyMap<string, string>;
  readonly results: readonly PlannedResult[];
}

/** `paths[i]` is the key `ops[i]` touches (the backend's layout decides it). */
export function planBatch(
  snapshot: Snapshot,
  ops: readonly WriteOp[],
  paths: readonly string[],
  stamp: { newUid(): string; wallTimeMs: number },
): Plan {
  const current = new Map<string, Resource | undefined>();
  const writes = new Map<string, Resource | null>();
  const compares = new Map<string, string>();
  const results: PlannedResult[] = [];
  const touch = (path: string): Resource | undefined => {
    if (!compares.has(path)) {
      if (!snapshot.has(path)) throw new Error(`plan: ${path} was not read before planning`);
      const r = snapshot.get(path);
      compares.set(path, r === undefined ? "0" : (r.metadata.resourceVersion ?? "0"));
      current.set(path, r);
    }
    return current.get(path);
  };
  for (const [i, op] of ops.entries()) {
    const path = paths[i]!;
    if (op.op === "create") {
      const key = keyOf(op.resource);
      if (touch(path) !== undefined) throw alreadyExists(key);
      const fresh = stampCreate(op.resource, stamp.newUid(), stamp.wallTimeMs);
      current.set(path, fresh);
      writes.set(path, fresh);
      results.push({ resource: fresh, written: true });
    } else if (op.op === "update") {
      const key = keyOf(op.resource);
      const old = touch(path);
      if (old === undefined) throw notFound(key);
      const given = op.resource.metadata.resourceVersion;
      if (isStale(given, old.metadata.resourceVersion)) {
        throw conflict(key, given ?? "", old.metadata.resourceVersion ?? "");
      }
      const merged = mergeUpdate(old, op.resource);
      if (merged === undefined) {
        results.push({ resource: old, written: false });
        continue;
      }
      delete merged.metadata.resourceVersion;
      current.set(path, merged);
      writes.set(path, merged);
      results.push({ resource: merged, written: true });
    } else {
      const old = touch(path);
      if (old === undefined) throw notFound(op.key);
      if (isStale(op.resourceVersion, old.metadata.resourceVersion)) {
        throw conflict(op.key, op.resourceVersion ?? "", old.metadata.resourceVersion ?? "");
      }
      current.set(path, undefined);
      writes.set(path, null);
      results.push({ resource: old, written: false });
    }
  }
  return { writes, compares, results };
}
