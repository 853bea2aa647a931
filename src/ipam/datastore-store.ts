/**
 * ipam's compare-and-swap store (ipam/store.ts) over any src/datastore backend: IPAMBlock, BlockAffinity
 * and IPAMHandle as projectcalico.org/v3 resources (spec as Calico stores it, the resourceVersion as the
 * CAS revision), with the backend's typed errors passed through unchanged (DATASTORE_CONFLICT,
 * DATASTORE_NOT_FOUND, DATASTORE_ALREADY_EXISTS carry the brand ipam checks). `commit` is the backend's
 * all-or-nothing `batch` where it has one (embedded, etcd), absent where it has none (Kubernetes).
 */

import type { IpamKind, IpamStore, KindSpecs, ListFilter, StoreWrite, Versioned } from "../../ipam/store.js";
import { API_VERSION, type Resource } from "../api/meta.js";
import type { Datastore, WriteOp } from "../datastore/types.js";

function toResource(
  kind: IpamKind,
  name: string,
  spec: unknown,
  labels: Readonly<Record<string, string>> | undefined,
  revision?: string,
): Resource {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name,
      ...(labels !== undefined && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
      ...(revision !== undefined ? { resourceVersion: revision } : {}),
    },
    spec,
  };
}

function fromResource<T>(r: Resource): Versioned<T> {
  return {
    name: r.metadata.name,
    spec: r.spec as T,
    revision: r.metadata.resourceVersion ?? "",
    ...(r.metadata.labels !== undefined ? { labels: r.metadata.labels } : {}),
    ...(r.metadata.creationTimestamp !== undefined ? { createdAt: r.metadata.creationTimestamp } : {}),
  };
}

function toOp(w: StoreWrite): WriteOp {
  switch (w.op) {
    case "create":
      return { op: "create", resource: toResource(w.kind, w.name, w.spec, w.labels) };
    case "update":
      return { op: "update", resource: toResource(w.kind, w.name, w.spec, w.labels, w.revision) };
    case "delete":
      return { op: "delete", key: { kind: w.kind, name: w.name }, resourceVersion: w.revision };
  }
}

export class DatastoreIpamStore implements IpamStore {
  readonly commit: IpamStore["commit"];

  constructor(readonly ds: Datastore) {
    const batch = ds.batch?.bind(ds);
    this.commit =
      batch === undefined
        ? undefined
        : async (writes) => {
            const results = await batch(writes.map(toOp));
            return results.map((r, i) => (writes[i]!.op === "delete" ? undefined : fromResource(r)));
          };
  }

  async get<K extends IpamKind>(kind: K, name: string): Promise<Versioned<KindSpecs[K]> | undefined> {
    try {
      return fromResource(await this.ds.get({ kind, name }));
    } catch (e) {
      if ((e as { code?: string }).code === "DATASTORE_NOT_FOUND") return undefined;
      throw e;
    }
  }

  async list<K extends IpamKind>(kind: K, filter: ListFilter = {}): Promise<Versioned<KindSpecs[K]>[]> {
    const items = (await this.ds.list(kind)).items.map((r) => fromResource<KindSpecs[K]>(r));
    // Every backend can list a kind; not every stored affinity carries the hostname-hash label Calico
    // selects on (older ones do not), so the node filter is applied here.
    if (kind === "BlockAffinity" && filter.node !== undefined) {
      return items.filter((a) => (a.spec as KindSpecs["BlockAffinity"]).node === filter.node);
    }
    return items;
  }

  async create<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>> {
    return fromResource(await this.ds.create(toResource(kind, name, spec, labels)));
  }

  async update<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    revision: string,
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>> {
    return fromResource(await this.ds.update(toResource(kind, name, spec, labels, revision)));
  }

  async delete(kind: IpamKind, name: string, revision: string): Promise<void> {
    await this.ds.delete({ kind, name }, { resourceVersion: revision });
  }
}
