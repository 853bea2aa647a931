/**
 * List-then-watch that never gives up on a resource kind, as client-go's Reflector does for
 * Kubernetes informers and Calico's syncers do for both datastores: list, watch from the list's
 * revision, resume from the last delivered revision when a watch ends, and when the backend says the
 * revision is gone (etcd compaction, a Kubernetes 410) list again and emit only the difference from
 * what the consumer was already told, so its view converges without duplicates. I/O failures are
 * retried after `retryMs` on the injected clock. The same for every backend: it uses only the
 * Datastore interface.
 */
import type { Resource } from "../api/meta.js";
import { type Clock, delay, systemClock } from "../util/clock.js";
import { isTabbyError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { EventQueue } from "./event-queue.js";
import type { Datastore, Watch, WatchOptions } from "./types.js";

export interface ReflectOptions extends Omit<WatchOptions, "fromRevision"> {
  readonly clock?: Clock;
  /** Pause before retrying after an I/O failure (default 1 s). */
  readonly retryMs?: number;
  readonly logger?: Logger;
}

const id = (r: Resource) => `${r.metadata.namespace ?? ""}/${r.metadata.name}`;

/**
 * The kind's objects as `added` events (the initial list), then every change. `revision` is where the
 * consumer's view stands. Relists after DATASTORE_GONE show up as the added/modified/deleted events
 * that turn the old view into the new one.
 */
export function reflect(ds: Datastore, options: ReflectOptions): Watch {
  const clock = options.clock ?? systemClock;
  const { clock: _c, retryMs: _r, logger, ...watchOptions } = options;
  const known = new Map<string, Resource>();
  let current: Watch | undefined;
  const queue = new EventQueue(() => current?.close());

  const relist = async (): Promise<string> => {
    const list = await ds.list(options.kind, watchOptions);
    const listed = new Map(list.items.map((r) => [id(r), r] as const));
    // Deletions first: a consumer that stops at the last object it waits for has then seen every
    // removal the relist found, not only the additions.
    for (const [k, old] of known) {
      if (!listed.has(k)) {
        known.delete(k);
        queue.push({ type: "deleted", resource: old, revision: list.revision });
      }
    }
    for (const [k, r] of listed) {
      const old = known.get(k);
      if (old === undefined) queue.push({ type: "added", resource: r, revision: list.revision });
      else if (old.metadata.resourceVersion !== r.metadata.resourceVersion) {
        queue.push({ type: "modified", resource: r, revision: list.revision });
      }
      known.set(k, r);
    }
    queue.progress(list.revision);
    return list.revision;
  };

  const run = async () => {
    let revision: string | undefined;
    while (!queue.closed) {
      try {
        revision ??= await relist();
        if (queue.closed) break;
        current = ds.watch({ ...watchOptions, fromRevision: revision });
        for await (const e of current) {
          if (e.type === "deleted") known.delete(id(e.resource));
          else known.set(id(e.resource), e.resource);
          queue.push(e);
          revision = e.revision;
        }
        revision = current.revision ?? revision;
      } catch (e) {
        if (queue.closed) break;
        if (isTabbyError(e, "DATASTORE_GONE")) {
          logger?.info({ kind: options.kind, revision }, "watch revision gone; relisting");
          revision = undefined;
        } else if (isTabbyError(e, "DATASTORE_IO")) {
          logger?.warn({ kind: options.kind, err: (e as Error).message }, "datastore unreachable; retrying");
          await delay(clock, options.retryMs ?? 1_000);
        } else {
          queue.fail(e as Error);
          return;
        }
      }
    }
  };
  void run();
  return queue;
}
