/**
 * The one datastore interface tabby uses, whatever holds the data: the Kubernetes API (CRDs in
 * crd.projectcalico.org/v1), etcd v3 in Calico's key layout, or the embedded store. Kubernetes semantics:
 * `resourceVersion` changes on every write; `update`/`delete` given one are compare-and-swap
 * (DATASTORE_CONFLICT when stale); `watch` resumes from a revision or fails with DATASTORE_GONE.
 * Resources are src/api's projectcalico.org/v3 objects; validation is the caller's job, not the store's.
 * reflector.ts adds the relist-on-GONE loop on top, the same for every backend.
 */
import type { Resource } from "../api/meta.js";

export interface ResourceKey {
  readonly kind: string;
  readonly name: string;
  /** Only for namespaced kinds (WorkloadEndpoint). */
  readonly namespace?: string;
}

export interface ListOptions {
  /** Namespaced kinds only; absent means all namespaces. */
  readonly namespace?: string;
  /** A Calico selector over metadata.labels (`rack == 'a' && has(rr)`). */
  readonly labelSelector?: string;
  /**
   * A Kubernetes field selector over `metadata.name` and `metadata.namespace` (`metadata.name=a,
   * metadata.namespace!=kube-system`): the fields every backend can select on (field-selector.ts).
   */
  readonly fieldSelector?: string;
}

export interface ListResult {
  readonly items: readonly Resource[];
  /** The store's revision at the time of the list; watch from here to miss nothing. */
  readonly revision: string;
}

export interface WatchOptions extends ListOptions {
  readonly kind: string;
  /** Deliver changes made after this revision; absent means from now on. */
  readonly fromRevision?: string;
}

export interface WatchEvent {
  readonly type: "added" | "modified" | "deleted";
  /** For deletes, the object as it was last stored. */
  readonly resource: Resource;
  readonly revision: string;
}

/** A stream of changes; `close()` ends it. Iterating rethrows a DatastoreError the backend hit. */
export interface Watch extends AsyncIterable<WatchEvent> {
  close(): void;
  /**
   * The revision up to which this watch has delivered every change: the last event's, or later when the
   * backend said so (a Kubernetes BOOKMARK). Undefined until known. Resume from here after `close()`.
   */
  readonly revision: string | undefined;
}

export interface DeleteOptions {
  /** Delete only if the stored object still has this resourceVersion. */
  readonly resourceVersion?: string;
}

export type WriteOp =
  | { readonly op: "create"; readonly resource: Resource }
  | { readonly op: "update"; readonly resource: Resource }
  | { readonly op: "delete"; readonly key: ResourceKey; readonly resourceVersion?: string };

export interface Datastore {
  readonly type: "embedded" | "kubernetes" | "etcdv3";
  /** DATASTORE_NOT_FOUND when absent. */
  get(key: ResourceKey): Promise<Resource>;
  list(kind: string, options?: ListOptions): Promise<ListResult>;
  watch(options: WatchOptions): Watch;
  /** Sets uid, creationTimestamp and resourceVersion. DATASTORE_ALREADY_EXISTS when present. */
  create(resource: Resource): Promise<Resource>;
  /**
   * Replaces spec, status, labels and annotations. With metadata.resourceVersion set, only if it is still
   * current (DATASTORE_CONFLICT otherwise); without, unconditionally, as the Kubernetes API does. An update
   * that changes nothing returns the stored object without a new revision.
   */
  update(resource: Resource): Promise<Resource>;
  delete(key: ResourceKey, options?: DeleteOptions): Promise<Resource>;
  /**
   * Replaces only `status` (the Kubernetes /status subresource, where `update` leaves status alone);
   * backends without subresources leave it undefined and `update` writes status as well.
   */
  updateStatus?(resource: Resource): Promise<Resource>;
  /**
   * All of `ops` or none, when the backend can (the embedded store can; Kubernetes cannot and leaves it
   * undefined). Fails with the first op's error and writes nothing.
   */
  batch?(ops: readonly WriteOp[]): Promise<Resource[]>;
  /**
   * The string values of a Kubernetes Secret (`data` decoded, `stringData` as is), for BGPPeer passwords
   * (`spec.password.secretKeyRef`). Only the kubernetes backend has Secrets; DATASTORE_NOT_FOUND if absent.
   */
  readSecret?(namespace: string, name: string): Promise<Record<string, string>>;
  /**
   * A Pod's or Namespace's metadata, for the CNI plugin's pool annotations and the namespace selector
   * (`namespace` undefined reads a Namespace). Only the kubernetes backend has them; DATASTORE_NOT_FOUND
   * if absent.
   */
  readObjectMeta?(kind: "Pod" | "Namespace", name: string, namespace?: string): Promise<ObjectMeta>;
  close(): Promise<void>;
}

export interface ObjectMeta {
  readonly name: string;
  readonly uid?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export function keyOf(r: Resource): ResourceKey {
  return r.metadata.namespace === undefined
    ? { kind: r.kind, name: r.metadata.name }
    : { kind: r.kind, name: r.metadata.name, namespace: r.metadata.namespace };
}
