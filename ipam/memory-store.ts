/**
 * An in-memory IpamStore and IpamInputs, for tests and for using ipam/ as a library without a datastore.
 * Revisions are a global counter as in etcd; every outcome is reported as the store interface says
 * (branded DATASTORE_* errors). `atomic: false` leaves `commit` out, to exercise the Kubernetes-style
 * ordering of handle and block writes; `beforeWrite` lets a test fail or delay a chosen write (a crash
 * between two steps of a claim). Pure data in, promises out; no I/O.
 */
import { formatTime } from "./clock.js";
import { StoreError } from "./errors.js";
import type { IpamConfigSpec, Pool } from "./model.js";
import type {
  IpamInputs,
  IpamKind,
  IpamStore,
  KindSpecs,
  ListFilter,
  NodeInfo,
  StoreWrite,
  Versioned,
} from "./store.js";

type Any = Versioned<KindSpecs[IpamKind]>;

export interface MemoryStoreOptions {
  /** Offer `commit` (default true). */
  readonly atomic?: boolean;
  /** Stamps `createdAt` (default: the epoch, so everything looks old to grace periods). */
  readonly wallTime?: () => number;
  /** Called before each write is applied; throw to make it fail. */
  readonly beforeWrite?: (w: StoreWrite) => void | Promise<void>;
}

export class MemoryStore implements IpamStore {
  private revision = 0;
  readonly objects = new Map<string, Any>();
  readonly commit: IpamStore["commit"];
  /** Writes applied, for tests that count transactions. */
  writes = 0;

  constructor(private readonly options: MemoryStoreOptions = {}) {
    this.commit = options.atomic === false ? undefined : (ws) => this.applyAll(ws);
  }

  private key(kind: IpamKind, name: string): string {
    return `${kind}/${name}`;
  }

  async get<K extends IpamKind>(kind: K, name: string): Promise<Versioned<KindSpecs[K]> | undefined> {
    const v = this.objects.get(this.key(kind, name));
    return v === undefined ? undefined : (structuredClone(v) as Versioned<KindSpecs[K]>);
  }

  async list<K extends IpamKind>(kind: K, _filter?: ListFilter): Promise<Versioned<KindSpecs[K]>[]> {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${kind}/`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, v]) => structuredClone(v) as Versioned<KindSpecs[K]>);
  }

  async create<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>> {
    return (
      await this.applyAll([{ op: "create", kind, name, spec, ...(labels ? { labels } : {}) }])
    )[0] as Versioned<KindSpecs[K]>;
  }

  async update<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    revision: string,
    labels?: Readonly<Record<string, string>>,
  ): Promise<Versioned<KindSpecs[K]>> {
    return (
      await this.applyAll([{ op: "update", kind, name, spec, revision, ...(labels ? { labels } : {}) }])
    )[0] as Versioned<KindSpecs[K]>;
  }

  async delete(kind: IpamKind, name: string, revision: string): Promise<void> {
    await this.applyAll([{ op: "delete", kind, name, revision }]);
  }

  /** Puts an object as is (test setup: state another client or a crash left behind). */
  put<K extends IpamKind>(
    kind: K,
    name: string,
    spec: KindSpecs[K],
    labels?: Record<string, string>,
  ): Versioned<KindSpecs[K]> {
    const v: Any = {
      name,
      spec: structuredClone(spec),
      revision: String(++this.revision),
      ...(labels ? { labels } : {}),
      createdAt: formatTime(this.options.wallTime?.() ?? 0),
    };
    this.objects.set(this.key(kind, name), v);
    return structuredClone(v) as Versioned<KindSpecs[K]>;
  }

  private async applyAll(ws: readonly StoreWrite[]): Promise<(Any | undefined)[]> {
    for (const w of ws) await this.options.beforeWrite?.(w);
    // Check every write against the state as the earlier ones leave it, then apply all or nothing.
    const next = new Map(this.objects);
    const out: (Any | undefined)[] = [];
    let rev = this.revision;
    for (const w of ws) {
      const k = this.key(w.kind, w.name);
      const cur = next.get(k);
      if (w.op === "create") {
        if (cur !== undefined)
          throw new StoreError("DATASTORE_ALREADY_EXISTS", `resource already exists: ${w.kind}(${w.name})`);
        const v: Any = {
          name: w.name,
          spec: structuredClone(w.spec),
          revision: String(++rev),
          ...(w.labels ? { labels: { ...w.labels } } : {}),
          createdAt: formatTime(this.options.wallTime?.() ?? 0),
        };
        next.set(k, v);
        out.push(structuredClone(v));
        continue;
      }
      if (cur === undefined)
        throw new StoreError("DATASTORE_NOT_FOUND", `resource does not exist: ${w.kind}(${w.name})`);
      if (cur.revision !== w.revision) {
        throw new StoreError(
          "DATASTORE_CONFLICT",
          `update conflict: ${w.kind}(${w.name}): revision ${w.revision} is out of date (latest: ${cur.revision})`,
          structuredClone(cur),
        );
      }
      if (w.op === "delete") {
        next.delete(k);
        out.push(undefined);
        continue;
      }
      const v: Any = {
        ...cur,
        spec: structuredClone(w.spec),
        revision: String(++rev),
        ...(w.labels ? { labels: { ...w.labels } } : {}),
      };
      next.set(k, v);
      out.push(structuredClone(v));
    }
    this.objects.clear();
    for (const [k, v] of next) this.objects.set(k, v);
    this.revision = rev;
    this.writes++;
    return out;
  }
}

/** IpamInputs over plain values a test can change between calls. */
export class MemoryInputs implements IpamInputs {
  poolList: Pool[] = [];
  configSpec: Partial<IpamConfigSpec> | undefined;
  reserved: string[] = [];
  nodes = new Map<string, Record<string, string>>();

  async pools(): Promise<readonly Pool[]> {
    return structuredClone(this.poolList);
  }
  async config(): Promise<Partial<IpamConfigSpec> | undefined> {
    return this.configSpec === undefined ? undefined : { ...this.configSpec };
  }
  async reservedCidrs(): Promise<readonly string[]> {
    return [...this.reserved];
  }
  async node(name: string): Promise<NodeInfo | undefined> {
    const labels = this.nodes.get(name);
    return labels === undefined ? undefined : { name, labels: { ...labels } };
  }
}
