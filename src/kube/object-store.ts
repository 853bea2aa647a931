/**
 * The embedded API server's storage: Kubernetes objects by key (`/registry/<group>/<plural>/[<ns>/]
 * <name>`, as the API server lays them out in etcd), one global revision that every write advances (an
 * object's resourceVersion is the revision that last wrote it), a bounded history for watches, and
 * durability through snapshot-file.ts (atomic replace with fsync; an acknowledged write survives kill
 * -9). Writes are transactions run one at a time; those queued while a snapshot is being written are
 * committed together with the next one (group commit), and nothing is visible to readers or watchers
 * before it is on disk. Knows nothing of HTTP or of resource semantics (server.ts and handlers.ts).
 */
import type { Resource } from "../api/meta.js";
import { DatastoreError } from "../datastore/errors.js";
import { lockStore, readSnapshot, writeSnapshot } from "../datastore/snapshot-file.js";
import { cloneJson } from "../util/json-data.js";

export interface KubeMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  [field: string]: unknown;
}

export interface StoreEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly key: string;
  /** For DELETED, the last state with the deletion's revision as resourceVersion (as the API server sends). */
  readonly object: KubeObject;
  /** The state before, for MODIFIED and DELETED (selectors need it to turn a change into ADDED/DELETED). */
  readonly previous?: KubeObject;
  readonly revision: number;
}

/** What a transaction may do; `put` stamps resourceVersion with the revision it takes. */
export interface Tx {
  get(key: string): KubeObject | undefined;
  /** Keys under `prefix`, in key order, as this transaction sees them. */
  keys(prefix: string): string[];
  put(key: string, object: KubeObject): KubeObject;
  delete(key: string): KubeObject | undefined;
}

export interface ObjectStoreOptions {
  readonly dir?: string;
  /** Events watches can replay (default 10000). */
  readonly historyLimit?: number;
}

interface Pending {
  run(tx: Tx): unknown;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class ObjectStore {
  private objects: Map<string, KubeObject>;
  private revision_: number;
  private floor_: number;
  private readonly history: StoreEvent[] = [];
  private readonly subscribers = new Set<(e: StoreEvent) => void>();
  private pending: Pending[] = [];
  private flushing = false;
  private closed = false;

  private constructor(
    private readonly options: ObjectStoreOptions,
    state: { revision: number; objects: Map<string, KubeObject> },
    private readonly unlock: (() => Promise<void>) | undefined,
  ) {
    this.objects = state.objects;
    this.revision_ = state.revision;
    this.floor_ = state.revision;
  }

  static async open(options: ObjectStoreOptions = {}): Promise<ObjectStore> {
    if (options.dir === undefined)
      return new ObjectStore(options, { revision: 0, objects: new Map() }, undefined);
    const unlock = await lockStore(options.dir);
    try {
      const state = await readSnapshot(options.dir);
      return new ObjectStore(
        options,
        state === undefined
          ? { revision: 0, objects: new Map() }
          : {
              revision: state.revision,
              objects: new Map(state.objects as Map<string, unknown> as Map<string, KubeObject>),
            },
        unlock,
      );
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  /** The revision of the last committed write. */
  get revision(): number {
    return this.revision_;
  }

  /** Watches from a revision below this one cannot be served (410 Gone). */
  get floor(): number {
    return this.floor_;
  }

  get(key: string): KubeObject | undefined {
    const o = this.objects.get(key);
    return o === undefined ? undefined : cloneJson(o);
  }

  /** Objects under `prefix` in key order (clones). */
  list(prefix: string): KubeObject[] {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((k) => cloneJson(this.objects.get(k)!));
  }

  /** Committed events after `revision` under `prefix`, or undefined if some are no longer retained. */
  since(revision: number, prefix: string): StoreEvent[] | undefined {
    if (revision < this.floor_) return undefined;
    return this.history.filter((e) => e.revision > revision && e.key.startsWith(prefix));
  }

  /** Calls `fn` for every committed event from now on; returns the unsubscribe function. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Drops history up to `revision` (as etcd compaction does); older watches get 410 Gone. */
  compact(revision: number): void {
    while (this.history.length > 0 && this.history[0]!.revision <= revision) this.history.shift();
    this.floor_ = Math.max(this.floor_, Math.min(revision, this.revision_));
  }

  /** Runs `fn` as one transaction; resolves once its writes are durable and visible. */
  write<T>(fn: (tx: Tx) => T): Promise<T> {
    if (this.closed)
      return Promise.reject(new DatastoreError("DATASTORE_UNSUPPORTED", "the API server's store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const group = this.pending;
        this.pending = [];
        const overlay = new Map<string, KubeObject | null>();
        let revision = this.revision_;
        const events: StoreEvent[] = [];
        const done: { p: Pending; value: unknown }[] = [];
        for (const p of group) {
          const mine = new Map<string, KubeObject | null>();
          const mineEvents: StoreEvent[] = [];
          let rev = revision;
          const read = (key: string) => {
            const v = mine.has(key)
              ? mine.get(key)
              : overlay.has(key)
                ? overlay.get(key)
                : this.objects.get(key);
            return v === null || v === undefined ? undefined : v;
          };
          const tx: Tx = {
            get: (key) => {
              const v = read(key);
              return v === undefined ? undefined : cloneJson(v);
            },
            keys: (prefix) => {
              const all = new Set([...this.objects.keys(), ...overlay.keys(), ...mine.keys()]);
              return [...all].filter((k) => k.startsWith(prefix) && read(k) !== undefined).sort();
            },
            put: (key, object) => {
              const previous = read(key);
              rev++;
              const stored = cloneJson(object);
              stored.metadata.resourceVersion = String(rev);
              mine.set(key, stored);
              mineEvents.push({
                type: previous === undefined ? "ADDED" : "MODIFIED",
                key,
                object: stored,
                ...(previous !== undefined ? { previous } : {}),
                revision: rev,
              });
              return cloneJson(stored);
            },
            delete: (key) => {
              const previous = read(key);
              if (previous === undefined) return undefined;
              rev++;
              mine.set(key, null);
              const last = cloneJson(previous);
              last.metadata.resourceVersion = String(rev);
              mineEvents.push({ type: "DELETED", key, object: last, previous, revision: rev });
              return cloneJson(previous);
            },
          };
          try {
            const value = p.run(tx);
            for (const [k, v] of mine) overlay.set(k, v);
            events.push(...mineEvents);
            revision = rev;
            done.push({ p, value });
          } catch (e) {
            p.reject(e);
          }
        }
        if (events.length > 0) {
          if (this.options.dir !== undefined) {
            // The snapshot needs the whole next state; memory-only stores skip this copy.
            const next = new Map(this.objects);
            for (const [k, v] of overlay) {
              if (v === null) next.delete(k);
              else next.set(k, v);
            }
            try {
              await writeSnapshot(this.options.dir, {
                revision,
                objects: next as Map<string, unknown> as Map<string, Resource>,
              });
            } catch (e) {
              for (const d of done) d.p.reject(e);
              continue;
            }
          }
          // Visible only now (after the snapshot): reads are synchronous, so in place is safe.
          for (const [k, v] of overlay) {
            if (v === null) this.objects.delete(k);
            else this.objects.set(k, v);
          }
          this.revision_ = revision;
          this.record(events);
        }
        for (const d of done) d.p.resolve(d.value);
      }
    } finally {
      this.flushing = false;
    }
  }

  private record(events: readonly StoreEvent[]): void {
    const limit = this.options.historyLimit ?? 10_000;
    for (const e of events) {
      this.history.push(e);
      for (const s of this.subscribers) s(e);
    }
    while (this.history.length > limit) this.floor_ = this.history.shift()!.revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await new Promise((r) => setImmediate(r));
    this.subscribers.clear();
    await this.unlock?.();
  }
}
