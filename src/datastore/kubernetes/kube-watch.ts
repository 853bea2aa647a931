/**
 * A Kubernetes watch as a Datastore Watch, on @kubernetes/client-node's Watch: `?watch=true` from a
 * resourceVersion with allowWatchBookmarks, each event mapped to a tabby resource by the caller.
 * When the stream ends (the API server closes watches after a while; connections drop) it is opened
 * again from the last delivered or bookmarked resourceVersion, after `retryMs`, for as long as the
 * consumer keeps it; an ERROR event with a 410 Status (or an HTTP 410) ends it with DATASTORE_GONE, for
 * the caller to relist (reflector.ts). Timers go through the injected clock.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { Watch as KubeWatch } from "@kubernetes/client-node";
import type { Clock } from "../../util/clock.js";
import type { Logger } from "../../util/logger.js";
import { DatastoreError } from "../errors.js";
import { EventQueue } from "../event-queue.js";
import type { Watch, WatchEvent } from "../types.js";

export interface KubeWatchSpec {
  readonly path: string;
  readonly fieldSelector?: string;
  readonly fromRevision: string;
  /** Maps one API event to zero or one tabby events. */
  readonly map: (
    type: "ADDED" | "MODIFIED" | "DELETED",
    obj: Record<string, unknown>,
  ) => WatchEvent | undefined;
  readonly what: string;
}

export function watchKube(
  kc: KubeConfig,
  spec: KubeWatchSpec,
  clock: Clock,
  retryMs: number,
  logger?: Logger,
): Watch {
  let abort: AbortController | undefined;
  let revision = spec.fromRevision;
  const queue = new EventQueue(() => abort?.abort());
  const gone = (detail: string) =>
    new DatastoreError(
      "DATASTORE_GONE",
      `${spec.what}: revision ${revision} is no longer retained (${detail}); list again and watch from its revision`,
    );
  const start = () => {
    if (queue.closed) return;
    let failed = false;
    new KubeWatch(kc)
      .watch(
        spec.path,
        {
          allowWatchBookmarks: true,
          resourceVersion: revision,
          ...(spec.fieldSelector !== undefined ? { fieldSelector: spec.fieldSelector } : {}),
        },
        (phase, obj: Record<string, unknown>) => {
          if (queue.closed) return;
          const rv = (obj?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
          if (phase === "BOOKMARK") {
            if (rv !== undefined) {
              revision = rv;
              queue.progress(rv);
            }
            return;
          }
          if (phase === "ERROR") {
            failed = true;
            const status = obj as { code?: number; message?: string };
            queue.fail(
              status.code === 410
                ? gone(status.message ?? "410 Gone")
                : new DatastoreError(
                    "DATASTORE_IO",
                    `${spec.what}: watch error: ${status.message ?? JSON.stringify(obj)}`,
                  ),
            );
            return;
          }
          if (phase !== "ADDED" && phase !== "MODIFIED" && phase !== "DELETED") return;
          if (rv !== undefined) revision = rv;
          const e = spec.map(phase, obj);
          if (e !== undefined) queue.push(e);
          else if (rv !== undefined) queue.progress(rv);
        },
        (err: unknown) => {
          if (queue.closed || failed) return;
          if (err !== null && err !== undefined && /\b410\b/.test(String((err as Error).message ?? err))) {
            queue.fail(gone("410 Gone"));
            return;
          }
          if (err) logger?.warn({ path: spec.path, err: (err as Error).message }, "watch ended; resuming");
          clock.setTimer(err ? retryMs : 0, start);
        },
      )
      .then(
        (a) => {
          abort = a;
          if (queue.closed) a.abort();
        },
        (err: unknown) => {
          if (queue.closed) return;
          logger?.warn({ path: spec.path, err: (err as Error).message }, "cannot open watch; retrying");
          clock.setTimer(retryMs, start);
        },
      );
  };
  start();
  return queue;
}
