/**
 * One `?watch=true` request, as the API server streams it: a chunked response of JSON objects, one per
 * line, `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}`. Without a resourceVersion (or
 * with "0") the current objects come first as ADDED; from a resourceVersion, exactly the changes after
 * it, or one ERROR event carrying a 410 Expired Status when that revision is no longer retained (as the
 * watch cache answers "too old resource version"). Selectors apply to the object before and after a
 * change, so an object that stops matching is sent as DELETED and one that starts as ADDED. With
 * allowWatchBookmarks, a BOOKMARK with the current revision every `bookmarkIntervalMs`; with
 * sendInitialEvents, the initial-events-end bookmark after the initial objects. Timers go through the
 * injected clock.
 */
import type { ServerResponse } from "node:http";
import type { Clock, TimerHandle } from "../util/clock.js";
import type { KubeObject, ObjectStore, StoreEvent } from "./object-store.js";
import { groupVersion, type ResourceType, storePrefix } from "./resource-types.js";
import { expired } from "./status.js";

export interface WatchRequest {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly query: URLSearchParams;
  readonly matches: (o: KubeObject) => boolean;
  /** Turns an object into what is sent (itself, or a one-row Table for `kubectl get -w`). */
  readonly render: (o: KubeObject) => unknown;
}

export function serveWatch(
  store: ObjectStore,
  req: WatchRequest,
  res: ServerResponse,
  clock: Clock,
  bookmarkIntervalMs: number,
): void {
  const { type: t, query } = req;
  const prefix = storePrefix(t, t.namespaced ? req.namespace : undefined);
  res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
  // Headers go out now, as the API server's do: a client waits for them before reading events.
  res.flushHeaders();
  let ended = false;
  let unsubscribe: () => void = () => {};
  const timers: TimerHandle[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const h of timers) h.cancel();
    res.end();
  };
  res.on("close", end);
  const send = (type: string, object: unknown) => {
    if (!ended) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>) =>
    send("BOOKMARK", {
      kind: t.kind,
      apiVersion: groupVersion(t),
      metadata: { resourceVersion: String(store.revision), ...(annotations ? { annotations } : {}) },
    });
  const deliver = (e: StoreEvent) => {
    if (!e.key.startsWith(prefix)) return;
    const now = e.type !== "DELETED" && req.matches(e.object);
    const before = e.previous !== undefined && req.matches(e.previous);
    const stamp = (o: KubeObject) => ({ apiVersion: groupVersion(t), kind: t.kind, ...o });
    if (e.type === "ADDED") {
      if (now) send("ADDED", req.render(stamp(e.object)));
    } else if (e.type === "MODIFIED") {
      if (now && before) send("MODIFIED", req.render(stamp(e.object)));
      else if (now) send("ADDED", req.render(stamp(e.object)));
      else if (before) send("DELETED", req.render(stamp(e.object)));
    } else if (before) send("DELETED", req.render(stamp(e.object)));
  };

  const rv = query.get("resourceVersion") ?? "";
  if (rv === "" || rv === "0") {
    for (const o of store.list(prefix)) {
      if (req.matches(o)) send("ADDED", req.render({ apiVersion: groupVersion(t), kind: t.kind, ...o }));
    }
    if (query.get("sendInitialEvents") === "true") bookmark({ "k8s.io/initial-events-end": "true" });
  } else {
    const from = Number(rv);
    const replay = Number.isInteger(from) && from >= 0 ? store.since(from, prefix) : undefined;
    if (replay === undefined) {
      send("ERROR", expired(rv, store.floor + 1).toStatus());
      end();
      return;
    }
    for (const e of replay) deliver(e);
  }
  // Replay and subscription happen in the same tick, so no commit falls between them.
  unsubscribe = store.subscribe(deliver);

  if (query.get("allowWatchBookmarks") === "true" && bookmarkIntervalMs > 0) {
    const arm = () => {
      timers[0] = clock.setTimer(bookmarkIntervalMs, () => {
        bookmark();
        if (!ended) arm();
      });
    };
    arm();
  }
  const timeoutSeconds = Number(query.get("timeoutSeconds") ?? "0");
  if (timeoutSeconds > 0) timers.push(clock.setTimer(timeoutSeconds * 1000, end));
}
