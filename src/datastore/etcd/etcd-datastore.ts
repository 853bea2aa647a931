/**
 * The etcdv3 backend: projectcalico.org/v3 resources as JSON under Calico's etcd keys
 * (/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>, keys.ts; calico.md §1.13),
 * through the `etcd3` package. A resource's resourceVersion is its key's mod revision, as in Calico's
 * etcdv3 backend; the stored JSON leaves it out. Every write is one transaction whose compares pin the
 * state it was planned from (plan.ts): compare-and-swap on mod revision, all-or-nothing batches. An
 * update whose old object this client saw at exactly the given revision needs no read first (a key at
 * a given mod revision never changes), so a get-modify-update loop costs what a raw etcd CAS costs.
 * Watches are etcd-watch.ts. IPAMBlock, BlockAffinity, IPAMHandle and IPAMConfiguration are stored as
 * Calico's IPAM stores them in etcd, as model values under /calico/ipam/v2/ (ipam-keys.ts), so tabby and
 * calico-ipam can share one etcd.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Etcd3, type IOptions, Range } from "etcd3";
import type { Resource } from "../../api/meta.js";
import { type Clock, systemClock } from "../../util/clock.js";
import { cloneJson } from "../../util/json-data.js";
import type { Logger } from "../../util/logger.js";
import { matcher } from "../embedded-state.js";
import { DatastoreError, describeKey, notFound } from "../errors.js";
import { kindPrefix, storagePath } from "../keys.js";
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  ResourceKey,
  Watch,
  WatchOptions,
  WriteOp,
} from "../types.js";
import { keyOf } from "../types.js";
import { watchPrefix } from "./etcd-watch.js";
import {
  candidatePaths,
  decodeModel,
  encodeModel,
  IPAM_ROOT,
  isModelKind,
  listPrefixes,
  mayBeHashedAffinity,
  modelKindOf,
  pathOfResource,
} from "./ipam-keys.js";
import { planBatch } from "./plan.js";

export interface EtcdTls {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface EtcdDatastoreOptions {
  /** Client URLs, e.g. http://127.0.0.1:2379 (ETCD_ENDPOINTS). */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  readonly username?: string;
  readonly password?: string;
  readonly clock?: Clock;
  readonly newUid?: () => string;
  readonly logger?: Logger;
  /** How long one request may take before it fails with DATASTORE_IO (default 10 s). */
  readonly requestTimeoutMs?: number;
}

/** A conditional write that keeps losing to concurrent writers gives up after this many rounds. */
const MAX_ROUNDS = 100;
const CACHE_SIZE = 4096;
/** Keys per range request of a list; with the raised receive limit below, pages stay well inside it. */
const LIST_PAGE = 500;
/** gRPC's default 4 MB reply cap is below what one page of large IPAM blocks can weigh. */
const MAX_RECEIVE_BYTES = 256 * 1024 * 1024;

export function decodeValue(path: string, value: Buffer, modRevision: string): Resource {
  let r: Resource;
  try {
    r = JSON.parse(value.toString("utf8")) as Resource;
  } catch (e) {
    throw new DatastoreError("DATASTORE_IO", `${path}@${modRevision}: value is not JSON`, undefined, {
      cause: e,
    });
  }
  r.metadata = { ...r.metadata, resourceVersion: modRevision };
  return r;
}

function encodeValue(r: Resource): string {
  if (isModelKind(r.kind)) return encodeModel(r);
  const { resourceVersion: _rv, ...metadata } = r.metadata;
  return JSON.stringify({ ...r, metadata });
}

/** The resource at any key tabby reads: a v3 object, or an IPAM model value (undefined: not one). */
export function decodeAt(path: string, value: Buffer, modRevision: string): Resource | undefined {
  if (!path.startsWith(IPAM_ROOT)) return decodeValue(path, value, modRevision);
  const kind = modelKindOf(path);
  return kind === undefined ? undefined : decodeModel(kind, path, value, modRevision);
}

/** The key a write of `r` goes to. */
function pathOf(r: Resource): string {
  return isModelKind(r.kind) ? pathOfResource(r) : storagePath(keyOf(r));
}

/** etcd3's errors, mapped to ours (connection trouble is DATASTORE_IO, named with what we were doing). */
export function ioError(what: string, e: unknown): DatastoreError {
  if (e instanceof DatastoreError) return e;
  return new DatastoreError("DATASTORE_IO", `etcd: ${what}: ${(e as Error).message}`, undefined, {
    cause: e,
  });
}

export class EtcdDatastore implements Datastore {
  readonly type = "etcdv3";
  readonly client: Etcd3;
  private readonly clock: Clock;
  private readonly newUid: () => string;
  /** Objects this client read or wrote, by path, at the mod revision it saw them (LRU). */
  private readonly seen = new Map<string, Resource>();
  private readonly timeoutMs: number;

  constructor(private readonly options: EtcdDatastoreOptions) {
    const tls = options.tls;
    const etcdOptions: IOptions = {
      hosts: [...options.endpoints],
      dialTimeout: 5_000,
      grpcOptions: { "grpc.max_receive_message_length": MAX_RECEIVE_BYTES },
      ...(tls?.caFile !== undefined
        ? {
            credentials: {
              rootCertificate: readFileSync(tls.caFile),
              ...(tls.certFile !== undefined ? { certChain: readFileSync(tls.certFile) } : {}),
              ...(tls.keyFile !== undefined ? { privateKey: readFileSync(tls.keyFile) } : {}),
            },
          }
        : {}),
      ...(options.username !== undefined
        ? { auth: { username: options.username, password: options.password ?? "" } }
        : {}),
    };
    this.client = new Etcd3(etcdOptions);
    this.clock = options.clock ?? systemClock;
    this.newUid = options.newUid ?? randomUUID;
    this.timeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  private deadline() {
    return { deadline: new Date(this.clock.wallTime() + this.timeoutMs) };
  }

  private remember(path: string, r: Resource | undefined): void {
    this.seen.delete(path);
    if (r === undefined) return;
    this.seen.set(path, r);
    if (this.seen.size > CACHE_SIZE) this.seen.delete(this.seen.keys().next().value!);
  }

  async get(key: ResourceKey): Promise<Resource> {
    const at = await this.resolve(key);
    const r = at.read ? at.found : at.path === undefined ? undefined : await this.read(at.path);
    if (r === undefined) throw notFound(key);
    return cloneJson(r);
  }

  /**
   * The key a name denotes. v3 kinds: one path. IPAM model kinds are keyed by their spec, so a name can
   * denote several keys (an IPv6 affinity) or, hashed, none that can be computed: the one that exists
   * wins, else the likeliest. `read` says the candidates were read on the way (`found` is what is
   * there), so a get need not read again.
   */
  private async resolve(key: ResourceKey): Promise<{ path?: string; read: boolean; found?: Resource }> {
    if (!isModelKind(key.kind)) return { path: storagePath(key), read: false };
    const candidates = candidatePaths(key);
    if (candidates.length === 1) return { path: candidates[0]!, read: false };
    for (const path of candidates) {
      const found = await this.read(path);
      if (found !== undefined) return { path, read: true, found };
    }
    if (mayBeHashedAffinity(key)) {
      const found = (await this.list(key.kind)).items.find((r) => r.metadata.name === key.name);
      if (found !== undefined) return { path: pathOf(found), read: true, found };
    }
    return { ...(candidates[0] !== undefined ? { path: candidates[0] } : {}), read: true };
  }

  private async read(path: string): Promise<Resource | undefined> {
    let res: Awaited<ReturnType<ReturnType<Etcd3["get"]>["exec"]>>;
    try {
      res = await this.client.get(path).options(this.deadline()).exec();
    } catch (e) {
      throw ioError(`get ${path}`, e);
    }
    const kv = res.kvs[0];
    const r = kv === undefined ? undefined : decodeAt(path, kv.value, kv.mod_revision);
    this.remember(path, r);
    return r;
  }

  /**
   * Reads the prefix in pages pinned to the first page's revision, so the result is one consistent
   * snapshot however many keys there are, and no single reply nears gRPC's receive limit (10,000
   * IPAM handles or a few hundred full blocks already exceed 4 MB in one range reply).
   */
  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    const model = isModelKind(kind);
    const prefixes = model ? listPrefixes(kind) : [kindPrefix(kind, options.namespace)];
    const match = matcher(kind, options);
    const items: Resource[] = [];
    let revision: string | undefined;
    for (const prefix of prefixes) {
      const end = prefix.endsWith("/") ? Range.prefix(prefix).end : Buffer.from(`${prefix}\0`, "utf8");
      let start = Buffer.from(prefix, "utf8");
      for (;;) {
        let res: Awaited<ReturnType<Etcd3["kv"]["range"]>>;
        try {
          res = await this.client.kv.range(
            {
              key: start,
              range_end: end,
              limit: LIST_PAGE,
              ...(revision !== undefined ? { revision } : {}),
            },
            this.deadline(),
          );
        } catch (e) {
          throw ioError(`list ${prefix}`, e);
        }
        revision ??= res.header.revision;
        for (const kv of res.kvs) {
          const path = kv.key.toString("utf8");
          const r = model
            ? decodeModel(kind, path, kv.value, kv.mod_revision)
            : decodeValue(path, kv.value, kv.mod_revision);
          // The matcher selects on v3 storage paths, whatever key the object came from.
          if (r !== undefined && match(model ? storagePath(keyOf(r)) : path, r)) items.push(r);
        }
        const last = res.kvs[res.kvs.length - 1];
        if (!res.more || last === undefined) break;
        start = Buffer.concat([last.key, Buffer.from([0])]);
      }
    }
    return { items, revision: revision! };
  }

  watch(options: WatchOptions): Watch {
    return watchPrefix(this.client, options, this.options.logger);
  }

  async create(resource: Resource): Promise<Resource> {
    return (await this.commit([{ op: "create", resource }]))[0]!;
  }

  async update(resource: Resource): Promise<Resource> {
    return (await this.commit([{ op: "update", resource }]))[0]!;
  }

  async delete(key: ResourceKey, options: DeleteOptions = {}): Promise<Resource> {
    const op: WriteOp =
      options.resourceVersion === undefined
        ? { op: "delete", key }
        : { op: "delete", key, resourceVersion: options.resourceVersion };
    return (await this.commit([op]))[0]!;
  }

  batch(ops: readonly WriteOp[]): Promise<Resource[]> {
    return this.commit(ops);
  }

  /** The snapshot a first attempt may assume without reading: absent for creates, seen for CAS updates. */
  private guess(ops: readonly WriteOp[]): Map<string, Resource | undefined> | undefined {
    const snap = new Map<string, Resource | undefined>();
    for (const op of ops) {
      if (op.op === "delete") return undefined;
      const path = pathOf(op.resource);
      if (snap.has(path)) return undefined;
      if (op.op === "create") snap.set(path, undefined);
      else {
        const known = this.seen.get(path);
        const given = op.resource.metadata.resourceVersion;
        if (known === undefined || given === undefined || known.metadata.resourceVersion !== given) {
          return undefined;
        }
        snap.set(path, known);
      }
    }
    return snap;
  }

  private async readAll(paths: readonly string[]): Promise<Map<string, Resource | undefined>> {
    const values = await Promise.all(paths.map((p) => this.read(p)));
    return new Map(paths.map((p, i) => [p, values[i]]));
  }

  private async commit(ops: readonly WriteOp[]): Promise<Resource[]> {
    if (ops.length === 0) return [];
    const opPaths: string[] = [];
    for (const op of ops) {
      const path = op.op === "delete" ? (await this.resolve(op.key)).path : pathOf(op.resource);
      if (path === undefined) throw notFound((op as { key: ResourceKey }).key);
      opPaths.push(path);
    }
    const paths = [...new Set(opPaths)];
    let snapshot = this.guess(ops);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      snapshot ??= await this.readAll(paths);
      const plan = planBatch(snapshot, ops, opPaths, {
        newUid: this.newUid,
        wallTimeMs: this.clock.wallTime(),
      });
      const first = compareOf(plan.compares.get(paths[0]!)!);
      let txn = this.client.if(paths[0]!, first.column, "==", first.value);
      for (const p of paths.slice(1)) {
        const c = compareOf(plan.compares.get(p)!);
        txn = txn.and(p, c.column, "==", c.value);
      }
      const puts = [...plan.writes].map(([p, r]) =>
        r === null ? this.client.delete().key(p) : this.client.put(p).value(encodeValue(r)),
      );
      let res: Awaited<ReturnType<typeof txn.commit>>;
      try {
        res = await txn
          .then(...puts)
          .options(this.deadline())
          .commit();
      } catch (e) {
        // The transaction may have been applied with only its reply lost: what this client remembers
        // of these keys can no longer be trusted as the current state.
        for (const p of paths) this.seen.delete(p);
        throw ioError(`transaction on ${paths.join(", ")}`, e);
      }
      if (res.succeeded) {
        const revision = res.header.revision;
        for (const [p, r] of plan.writes) {
          this.remember(
            p,
            r === null ? undefined : { ...r, metadata: { ...r.metadata, resourceVersion: revision } },
          );
        }
        return plan.results.map(({ resource, written }) =>
          written ? { ...resource, metadata: { ...resource.metadata, resourceVersion: revision } } : resource,
        );
      }
      // Someone wrote in between: plan again from what is there now (which raises the typed error
      // when a caller's precondition no longer holds).
      snapshot = undefined;
    }
    const op = ops[0]!;
    const key = op.op === "delete" ? op.key : keyOf(op.resource);
    throw new DatastoreError(
      "DATASTORE_CONFLICT",
      `update conflict: ${describeKey(key)} kept changing under ${MAX_ROUNDS} attempts; try again`,
      key,
    );
  }

  /** Drops history up to `revision` (etcd's compaction); watches from before it fail with DATASTORE_GONE. */
  async compact(revision: string): Promise<void> {
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (e) {
      throw ioError(`compact to ${revision}`, e);
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

/** An absent key has create_revision 0; a present one must still be at the mod revision we read. */
function compareOf(revision: string): { column: "Create" | "Mod"; value: string | number } {
  return revision === "0" ? { column: "Create", value: 0 } : { column: "Mod", value: revision };
}
