/**
 * The embedded store's state and its transitions, as pure functions: a map from storage path to
 * resource plus a global revision (etcd-style: every write takes the next number, and an object's
 * resourceVersion is the revision that last wrote it). `applyWrites` checks every op against the state
 * as earlier ops in the same batch left it and either returns the whole new state or throws the first
 * DatastoreError, so a batch is all-or-nothing. Server-managed metadata is set here the way the
 * Kubernetes API server sets it: uid and creationTimestamp on create, kept on update.
 */
import type { Resource } from "../api/meta.js";
import { compileSelector } from "../api/selector/selector.js";
import { cloneJson as clone } from "../util/json-data.js";
import { alreadyExists, conflict, notFound } from "./errors.js";
import { compileFieldSelector } from "./field-selector.js";
import { kindPrefix, storagePath } from "./keys.js";
import { keyOf, type ListOptions, type WatchEvent, type WriteOp } from "./types.js";
import { isStale, mergeUpdate, stampCreate } from "./write-rules.js";

export interface StoreState {
  readonly revision: number;
  readonly objects: ReadonlyMap<string, Resource>;
}

/** What a write needs from outside: the wall clock and a uid source (injected for tests). */
export interface Stamp {
  readonly wallTimeMs: number;
  newUid(): string;
}

export const emptyState: StoreState = { revision: 0, objects: new Map() };

/**
 * A batch's outcome: the changed paths (undefined = deleted) over `state`, rather than a copied map,
 * so a write costs what it touches, not the size of the store.
 */
export interface WriteOutcome {
  readonly revision: number;
  readonly changes: ReadonlyMap<string, Resource | undefined>;
  readonly results: Resource[];
  readonly events: StoredEvent[];
}

/** A change as recorded: for a modification, also the object before it (selector watches need both). */
export interface StoredEvent extends WatchEvent {
  readonly previous?: Resource;
}

/** `state.objects` as `changes` would leave it, as a read-only view for snapshotting. */
export function* mergedEntries(
  state: StoreState,
  changes: ReadonlyMap<string, Resource | undefined>,
): Generator<[string, Resource]> {
  for (const [path, r] of state.objects) if (!changes.has(path)) yield [path, r];
  for (const [path, r] of changes) if (r !== undefined) yield [path, r];
}

export function applyWrites(state: StoreState, ops: readonly WriteOp[], stamp: Stamp): WriteOutcome {
  const changes = new Map<string, Resource | undefined>();
  const objects = {
    get: (path: string) => (changes.has(path) ? changes.get(path) : state.objects.get(path)),
    has: (path: string) => objects.get(path) !== undefined,
    set: (path: string, r: Resource) => changes.set(path, r),
    delete: (path: string) => changes.set(path, undefined),
  };
  let revision = state.revision;
  const results: Resource[] = [];
  const events: StoredEvent[] = [];
  for (const op of ops) {
    if (op.op === "create") {
      const key = keyOf(op.resource);
      const path = storagePath(key);
      if (objects.has(path)) throw alreadyExists(key);
      revision++;
      const fresh = stampCreate(op.resource, stamp.newUid(), stamp.wallTimeMs);
      const stored: Resource = {
        ...fresh,
        metadata: { ...fresh.metadata, resourceVersion: String(revision) },
      };
      objects.set(path, stored);
      results.push(clone(stored));
      events.push({ type: "added", resource: clone(stored), revision: String(revision) });
    } else if (op.op === "update") {
      const key = keyOf(op.resource);
      const path = storagePath(key);
      const old = objects.get(path);
      if (old === undefined) throw notFound(key);
      const given = op.resource.metadata.resourceVersion;
      if (isStale(given, old.metadata.resourceVersion)) {
        throw conflict(key, given ?? "", old.metadata.resourceVersion ?? "");
      }
      const merged = mergeUpdate(old, op.resource);
      if (merged === undefined) {
        results.push(clone(old));
        continue;
      }
      revision++;
      merged.metadata.resourceVersion = String(revision);
      const stored = merged;
      objects.set(path, stored);
      results.push(clone(stored));
      events.push({ type: "modified", resource: clone(stored), revision: String(revision), previous: old });
    } else {
      const path = storagePath(op.key);
      const old = objects.get(path);
      if (old === undefined) throw notFound(op.key);
      if (isStale(op.resourceVersion, old.metadata.resourceVersion)) {
        throw conflict(op.key, op.resourceVersion ?? "", old.metadata.resourceVersion ?? "");
      }
      revision++;
      objects.delete(path);
      results.push(clone(old));
      events.push({ type: "deleted", resource: clone(old), revision: String(revision) });
    }
  }
  return { revision, changes, results, events };
}

/** Matcher for a list or watch: kind, namespace, label selector and field selector. */
export function matcher(kind: string, options: ListOptions = {}): (path: string, r: Resource) => boolean {
  const prefix = kindPrefix(kind, options.namespace);
  // A malformed selector throws SelectorSyntaxError (SELECTOR_SYNTAX) to the caller.
  const selector =
    options.labelSelector !== undefined && options.labelSelector !== ""
      ? compileSelector(options.labelSelector)
      : undefined;
  const fields = compileFieldSelector(options.fieldSelector);
  return (path, r) =>
    path.startsWith(prefix) &&
    (selector === undefined || selector.matches(r.metadata.labels ?? {})) &&
    (fields === undefined || fields(r));
}

export function listState(state: StoreState, kind: string, options: ListOptions = {}): Resource[] {
  const match = matcher(kind, options);
  return [...state.objects.entries()]
    .filter(([path, r]) => match(path, r))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, r]) => clone(r));
}
