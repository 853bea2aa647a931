/**
 * The small compare-and-swap store IPAM needs, declared here so that ipam/ depends on nothing of ours
 * (design.md): get, list, create, update-if-unchanged, delete-if-unchanged of blocks, affinities and
 * handles, each object carrying the revision it was read at; plus an optional all-or-nothing `commit`
 * (etcd transactions, the embedded store's batches; Kubernetes has none). src/ipam adapts src/datastore's
 * backends to it. Also the read-only inputs an allocation consults (pools, IPAMConfiguration,
 * reservations, node labels), which callers may serve from a cache. Interfaces only.
 *
 * Outcomes are reported as src/datastore reports them: errors branded `Symbol.for("tabby.error")` with
 * code DATASTORE_NOT_FOUND, DATASTORE_ALREADY_EXISTS or DATASTORE_CONFLICT (a stale revision). A conflict
 * may carry `current`, the object as stored now, when the store learnt it for free.
 */
import type { AffinitySpec, BlockSpec, HandleSpec, IpamConfigSpec, Pool } from "./model.js";

export interface KindSpecs {
  IPAMBlock: BlockSpec;
  BlockAffinity: AffinitySpec;
  IPAMHandle: HandleSpec;
}

export type IpamKind = keyof KindSpecs;

export interface Versioned<T> {
  readonly name: string;
  readonly spec: T;
  /** Opaque; changes on every write (the datastore's resourceVersion). */
  readonly revision: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** When the object was created (RFC 3339), if the store knows; the leak check's grace periods use it. */
  readonly createdAt?: string;
}

export type StoreWrite =
  | {
      readonly op: "create";
      readonly kind: IpamKind;
      readonly name: string;
      readonly spec: KindSpecs[IpamKind];
      readonly labels?: Readonly<Record<string, string>>;
    }
  | {
      readonly op: "update";
      readonly kind: IpamKind;
      readonly name: string;
      readonly spec: KindSpecs[IpamKind];
      readonly revision: string;
      readonly labels?: Readonly<Record<string, string>>;
    }
  | { readonly op: "delete"; readonly kind: IpamKind; readonly name: string; readonly revision: string };

export interface ListFilter {
  /** Affinities only: those of this node (a hint; ipam filters again). */
  readonly node?: string;
}

export interface IpamStore {
  get<K extends IpamKind>(kind: K, name: string): Promise<Versioned<KindSpecs[K]> | undefined>;
  list<K extends IpamKind>(kind: K, filter?: ListFilter): Promise<Versioned<KindSpecs[K]>[]>;
  /** DATASTORE_ALREADY_EXISTS when present. */
  create<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>>;
  /** Only if `revision` is still current: DATASTORE_CONFLICT when stale, DATASTORE_NOT_FOUND when gone. */
  update<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    revision: string,
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>>;
  /** Only if `revision` is still current: DATASTORE_CONFLICT when stale, DATASTORE_NOT_FOUND when gone. */
  delete(kind: IpamKind, name: string, revision: string): Promise<void>;
  /**
   * All writes or none, when the backend can; fails with the first write's error and writes nothing.
   * Results are in the order of `writes` (undefined for deletes).
   */
  commit?(writes: readonly StoreWrite[]): Promise<(Versioned<KindSpecs[IpamKind]> | undefined)[]>;
}

/** A node as IPAM sees it: its labels (for pool nodeSelectors). */
export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The read-only cluster state allocations consult; implementations may cache it (src/ipam/inputs.ts). */
export interface IpamInputs {
  /** Every IPPool, enabled or not. */
  pools(): Promise<readonly Pool[]>;
  /** The IPAMConfiguration singleton's spec, undefined when absent (defaults apply). */
  config(): Promise<Partial<IpamConfigSpec> | undefined>;
  /** reservedCIDRs of every IPReservation. */
  reservedCidrs(): Promise<readonly string[]>;
  /** Undefined when the node does not exist. */
  node(name: string): Promise<NodeInfo | undefined>;
}
