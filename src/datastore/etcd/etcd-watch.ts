/**
 * A watch on one kind's etcd prefix, from a revision, as a Datastore Watch. etcd replays the history
 * after `fromRevision` and then streams live changes; the `etcd3` package reconnects after etcd restarts
 * or the connection drops. Two things it gets wrong are fixed here: on reconnect it resumes from the
 * revision of the last *watch response header* rather than of the last event delivered (losing events
 * if the stream breaks during a replay), so the resume revision is reset on every disconnect; and it may
 * deliver a revision twice around a reconnect, so whole revisions at or below the last delivered one
 * are dropped. A cancelled watch is checked against the compaction revision and ends with
 * DATASTORE_GONE when its start was compacted away (etcd's ErrCompacted), otherwise DATASTORE_IO.
 */
import type { Etcd3, IWatchResponse, Watcher } from "etcd3";
import { API_VERSION, type Resource } from "../../api/meta.js";
import type { Logger } from "../../util/logger.js";
import { matcher } from "../embedded-state.js";
import { DatastoreError } from "../errors.js";
import { EventQueue } from "../event-queue.js";
import { kindPrefix, storagePath } from "../keys.js";
import type { Watch, WatchOptions } from "../types.js";
import { keyOf } from "../types.js";
import { decodeValue, ioError } from "./etcd-datastore.js";
import { decodeModel, isModelKind, watchPrefix as modelWatchPrefix } from "./ipam-keys.js";

const gone = (kind: string, from: string, detail: string) =>
  new DatastoreError(
    "DATASTORE_GONE",
    `${kind}: revision ${from} is no longer retained (${detail}); list again and watch from its revision`,
  );

/** True when etcd says `revision` was compacted away (a read at it fails with ErrCompacted). */
async function isCompacted(client: Etcd3, revision: string): Promise<boolean> {
  try {
    await client.get("/calico/").revision(revision).exec();
    return false;
  } catch (e) {
    return /compacted/.test((e as Error).message);
  }
}

/** A deleted object known only by its key: kind, name, namespace, and the deleting revision. */
function tombstone(kind: string, path: string, revision: string): Resource | undefined {
  if (isModelKind(kind)) return decodeModel(kind, path, Buffer.from("{}"), revision);
  const rest = path.slice(kindPrefix(kind).length).split("/");
  const name = rest[rest.length - 1];
  if (name === undefined || name === "" || rest.length > 2) return undefined;
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, ...(rest.length === 2 ? { namespace: rest[0]! } : {}), resourceVersion: revision },
    spec: {},
  };
}

export function watchPrefix(client: Etcd3, options: WatchOptions, logger?: Logger): Watch {
  const model = isModelKind(options.kind);
  const prefix = model ? modelWatchPrefix(options.kind) : kindPrefix(options.kind, options.namespace);
  const match = matcher(options.kind, options);
  const decode = (path: string, value: Buffer, rev: string) =>
    model ? decodeModel(options.kind, path, value, rev) : decodeValue(path, value, rev);
  let watcher: Watcher | undefined;
  const queue = new EventQueue(() => {
    void watcher?.cancel().catch(() => undefined);
  });
  // The last revision whose events were all delivered; undefined until the stream or the caller says.
  let last: bigint | undefined;
  if (options.fromRevision !== undefined) {
    if (!/^\d+$/.test(options.fromRevision)) {
      queue.fail(gone(options.kind, options.fromRevision, "not a revision"));
      return queue;
    }
    last = BigInt(options.fromRevision);
  }
  let builder = client.watch().prefix(prefix).withPreviousKV();
  if (last !== undefined) builder = builder.startRevision(String(last + 1n));

  const onData = (res: IWatchResponse) => {
    let newest = last;
    for (const ev of res.events) {
      const revision = BigInt(ev.kv.mod_revision);
      if (last !== undefined && revision <= last) continue; // replayed after a reconnect
      if (newest === undefined || revision > newest) newest = revision;
      const path = ev.kv.key.toString("utf8");
      let resource: Resource | undefined;
      let type: "added" | "modified" | "deleted";
      if (ev.type === "Delete") {
        // etcd leaves prev_kv out when the previous revision was compacted before the event was sent;
        // the deletion still has to reach the watcher, so it names what the key says.
        if (ev.prev_kv === undefined || ev.prev_kv === null) {
          resource = tombstone(options.kind, path, ev.kv.mod_revision);
          // Its labels are unknown, so a selecting watcher may get the deletion of an object it never
          // matched: harmless, where a lost deletion would leave it holding a ghost.
          if (resource !== undefined) queue.push({ type: "deleted", resource, revision: ev.kv.mod_revision });
          continue;
        }
        resource = decode(path, ev.prev_kv.value, ev.prev_kv.mod_revision);
        type = "deleted";
      } else {
        resource = decode(path, ev.kv.value, ev.kv.mod_revision);
        type = ev.kv.create_revision === ev.kv.mod_revision ? "added" : "modified";
      }
      // Model keys are matched as their v3 storage paths (the matcher selects on those).
      if (resource === undefined || resource.kind !== options.kind) continue;
      const at = model ? storagePath(keyOf(resource)) : path;
      const now = match(at, resource);
      if (type === "modified" && ev.prev_kv !== undefined && ev.prev_kv !== null) {
        // As the Kubernetes API server does for a selecting watch: labels that start to match make the
        // object "added", labels that stop matching make it "deleted".
        const before = decode(path, ev.prev_kv.value, ev.prev_kv.mod_revision);
        const was = before !== undefined && match(at, before);
        if (!was && !now) continue;
        if (!was) type = "added";
        else if (!now) type = "deleted";
      } else if (!now) continue;
      queue.push({ type, resource, revision: ev.kv.mod_revision });
    }
    if (newest !== undefined && (last === undefined || newest > last)) last = newest;
    const header = BigInt(res.header.revision);
    // Nothing of ours happened up to the header revision once this response's events are in.
    if (res.events.length === 0 && last !== undefined && header > last && !queue.closed) {
      queue.progress(String(last));
    }
  };

  if (last !== undefined) {
    // Ask before watching: etcd3 mishandles the cancellation etcd sends for a compacted start revision
    // (it throws "Failed to find watcher" from inside its stream handler).
    const from = last;
    void isCompacted(client, String(from + 1n)).then(
      (compacted) => {
        if (compacted) queue.fail(gone(options.kind, String(from), "etcd compacted it"));
        else if (!queue.closed) open();
      },
      (e: unknown) => queue.fail(ioError(`watch ${prefix}`, e)),
    );
  } else open();
  return queue;

  function open(): void {
    // watcher() attaches at once (create() would resolve a tick after etcd's first response, and a
    // response arriving in that tick would find no listener).
    const w = (builder as unknown as { watcher(): Watcher }).watcher();
    watcher = w;
    w.on("connected", (res: IWatchResponse) => {
      // A watch "from now" starts after the revision etcd reported when it was created.
      if (last === undefined) last = BigInt(res.header.revision);
    });
    w.on("data", onData);
    w.on("disconnected", (e: Error) => {
      logger?.warn({ prefix, err: e.message }, "etcd watch disconnected; resuming");
      // Resume after what was delivered, not after etcd3's idea of the last header.
      if (last !== undefined) {
        (w as unknown as { request: { start_revision: string } }).request.start_revision = String(last + 1n);
      }
    });
    w.on("error", (e: Error) => {
      const from = last === undefined ? "1" : String(last + 1n);
      void isCompacted(client, from).then(
        (compacted) =>
          queue.fail(
            compacted
              ? gone(options.kind, options.fromRevision ?? from, "etcd compacted it")
              : ioError(`watch ${prefix}`, e),
          ),
        () => queue.fail(ioError(`watch ${prefix}`, e)),
      );
    });
  }
}
