/**
 * The embedded datastore: the whole store in memory, optionally backed by an atomic JSON snapshot in a
 * directory (TABBY_DATA_DIR), for the lab, for tests and for clusters without Kubernetes or etcd. Writes
 * are serialised; each commit is written to disk before it becomes visible, so what a caller was told
 * is stored survives kill -9. Watches replay retained history from a revision (DATASTORE_GONE when it is
 * older than what is retained, including after a restart) and then follow live commits. State
 * transitions are the pure functions of embedded-state.ts; this class adds ordering, files and watchers.
 */
import { randomUUID } from "node:crypto";
import type { Resource } from "../api/meta.js";
import { type Clock, systemClock } from "../util/clock.js";
import { cloneJson } from "../util/json-data.js";
import {
  applyWrites,
  emptyState,
  listState,
  matcher,
  mergedEntries,
  type StoredEvent,
  type StoreState,
} from "./embedded-state.js";
import { DatastoreError, notFound } from "./errors.js";
import { EventQueue } from "./event-queue.js";
import { storagePath } from "./keys.js";
import { lockStore, readSnapshot, writeSnapshot } from "./snapshot-file.js";
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  ResourceKey,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOp,
} from "./types.js";

export interface EmbeddedOptions {
  /** Directory for the snapshot and lock; absent keeps everything in memory only. */
  readonly dir?: string;
  /** Open without taking the lock and refuse writes (for `tabbyctl get` next to a running owner). */
  readonly readOnly?: boolean;
  readonly clock?: Clock;
  readonly newUid?: () => string;
  /** How many past events watches may replay (default 10000). */
  readonly historyLimit?: number;
}

interface Watcher {
  readonly match: (path: string, r: Resource) => boolean;
  readonly kind: string;
  push(e: WatchEvent): void;
  end(): void;
}

export class EmbeddedDatastore implements Datastore {
  readonly type = "embedded";
  private state: StoreState;
  private readonly objects: Map<string, Resource>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly history: { path: string; event: StoredEvent }[] = [];
  /** Revision of the oldest change still in `history` minus one: watches from before it are gone. */
  private historyFloor: number;
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  private constructor(
    private readonly options: EmbeddedOptions,
    state: StoreState,
    private readonly unlock: (() => Promise<void>) | undefined,
  ) {
    this.objects = new Map(state.objects);
    this.state = { revision: state.revision, objects: this.objects };
    this.historyFloor = state.revision;
  }

  static async open(options: EmbeddedOptions = {}): Promise<EmbeddedDatastore> {
    if (options.dir === undefined) return new EmbeddedDatastore(options, emptyState, undefined);
    const unlock = options.readOnly ? undefined : await lockStore(options.dir);
    try {
      const state = (await readSnapshot(options.dir)) ?? emptyState;
      return new EmbeddedDatastore(options, state, unlock);
    } catch (e) {
      await unlock?.();
      throw e;
    }
  }

  /** The current revision (for tests and for `tabbyctl get -o yaml` list metadata). */
  get revision(): string {
    return String(this.state.revision);
  }

  async get(key: ResourceKey): Promise<Resource> {
    this.checkOpen();
    const r = this.state.objects.get(storagePath(key));
    if (r === undefined) throw notFound(key);
    return cloneJson(r);
  }

  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    return { items: listState(this.state, kind, options), revision: String(this.state.revision) };
  }

  async create(resource: Resource): Promise<Resource> {
    return (await this.batch([{ op: "create", resource }]))[0]!;
  }

  async update(resource: Resource): Promise<Resource> {
    return (await this.batch([{ op: "update", resource }]))[0]!;
  }

  async delete(key: ResourceKey, options: DeleteOptions = {}): Promise<Resource> {
    const op: WriteOp =
      options.resourceVersion === undefined
        ? { op: "delete", key }
        : { op: "delete", key, resourceVersion: options.resourceVersion };
    return (await this.batch([op]))[0]!;
  }

  batch(ops: readonly WriteOp[]): Promise<Resource[]> {
    const run = async (): Promise<Resource[]> => {
      this.checkOpen();
      if (this.options.readOnly) {
        throw new DatastoreError("DATASTORE_UNSUPPORTED", "this embedded datastore was opened read-only");
      }
      const clock = this.options.clock ?? systemClock;
      const next = applyWrites(this.state, ops, {
        wallTimeMs: clock.wallTime(),
        newUid: this.options.newUid ?? randomUUID,
      });
      if (next.events.length === 0) return next.results;
      // Durable before visible: a reader never sees what a crash could take back.
      if (this.options.dir !== undefined) {
        const objects = new Map(mergedEntries(this.state, next.changes));
        await writeSnapshot(this.options.dir, { revision: next.revision, objects });
      }
      // Writes are serialised and reads are synchronous, so changing the map in place is safe.
      for (const [path, r] of next.changes) {
        if (r === undefined) this.objects.delete(path);
        else this.objects.set(path, r);
      }
      this.state = { revision: next.revision, objects: this.objects };
      this.record(next.events);
      return next.results;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  watch(options: WatchOptions): Watch {
    this.checkOpen();
    const match = matcher(options.kind, options);
    const queue = new EventQueue(() => this.watchers.delete(watcher));
    const watcher: Watcher = {
      match,
      kind: options.kind,
      push: (e) => queue.push(cloneJson(e)),
      end: () => queue.close(),
    };
    if (options.fromRevision !== undefined) {
      const from = Number(options.fromRevision);
      if (!Number.isInteger(from) || from < this.historyFloor) {
        queue.fail(
          new DatastoreError(
            "DATASTORE_GONE",
            `${options.kind}: revision ${options.fromRevision} is no longer retained (oldest is ${this.historyFloor}); list again and watch from its revision`,
          ),
        );
        return queue;
      }
      for (const h of this.history) {
        if (Number(h.event.revision) <= from || h.event.resource.kind !== options.kind) continue;
        const e = asSeenBy(match, h.path, h.event);
        if (e !== undefined) watcher.push(e);
      }
    }
    this.watchers.add(watcher);
    return queue;
  }

  /**
   * Forgets the history up to `revision` (etcd's compaction): watches from before it fail with
   * DATASTORE_GONE. For tests of the relist path and for bounding memory.
   */
  compact(revision: number): void {
    while (this.history.length > 0 && Number(this.history[0]!.event.revision) <= revision) {
      this.history.shift();
    }
    this.historyFloor = Math.max(this.historyFloor, Math.min(revision, this.state.revision));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    for (const w of [...this.watchers]) w.end();
    await this.unlock?.();
  }

  private record(events: readonly StoredEvent[]): void {
    const limit = this.options.historyLimit ?? 10_000;
    for (const event of events) {
      const path = storagePath({
        kind: event.resource.kind,
        name: event.resource.metadata.name,
        ...(event.resource.metadata.namespace !== undefined
          ? { namespace: event.resource.metadata.namespace }
          : {}),
      });
      this.history.push({ path, event });
      for (const w of this.watchers) {
        if (w.kind !== event.resource.kind) continue;
        const e = asSeenBy(w.match, path, event);
        if (e !== undefined) w.push(e);
      }
    }
    while (this.history.length > limit) {
      const dropped = this.history.shift()!;
      this.historyFloor = Number(dropped.event.revision);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new DatastoreError("DATASTORE_UNSUPPORTED", "the datastore is closed");
  }
}

/**
 * A change as a watch with a selector sees it, the way the Kubernetes API server reports it: an object
 * whose labels start to match is "added", one whose labels stop matching is "deleted", one that matched
 * neither before nor after is not seen.
 */
function asSeenBy(
  match: (path: string, r: Resource) => boolean,
  path: string,
  e: StoredEvent,
): WatchEvent | undefined {
  const now = match(path, e.resource);
  const event = { type: e.type, resource: e.resource, revision: e.revision };
  if (e.type !== "modified" || e.previous === undefined) return now ? event : undefined;
  const before = match(path, e.previous);
  if (before && now) return event;
  if (now) return { ...event, type: "added" };
  if (before) return { ...event, type: "deleted" };
  return undefined;
}
