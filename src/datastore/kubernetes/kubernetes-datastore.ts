/**
 * The kubernetes backend ("KDD"), on @kubernetes/client-node: Calico's resources as
 * crd.projectcalico.org/v1 custom resources (crd-convert.ts), Calico's Node as the Kubernetes Node's
 * annotations (node-mapping.ts) and WorkloadEndpoints as Pods (workload-mapping.ts), as Calico's KDD
 * backend keeps them; resourceVersion is the Kubernetes one, so compare-and-swap is the API server's
 * (409 on a stale version). Custom resources refuse an update without resourceVersion, so an
 * unconditional update here reads, then replaces, and retries on conflict. Calico selectors are
 * applied here after listing (the API server only knows its own selector language); field selectors
 * go to the server. Watches are kube-watch.ts. No batches: the Kubernetes API has no transactions.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { KindDef } from "../../api/kind.js";
import { CRD_GROUP, type Resource } from "../../api/meta.js";
import { findKind } from "../../api/registry.js";
import { type Clock, systemClock } from "../../util/clock.js";
import type { Logger } from "../../util/logger.js";
import { matcher } from "../embedded-state.js";
import { alreadyExists, DatastoreError, notFound } from "../errors.js";
import { EventQueue } from "../event-queue.js";
import { storagePath } from "../keys.js";
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  ObjectMeta,
  ResourceKey,
  Watch,
  WatchOptions,
} from "../types.js";
import { keyOf } from "../types.js";
import { type CrdObject, crdPlural, fromCrd, toCrd } from "./crd-convert.js";
import { fromApiError } from "./kube-errors.js";
import { watchKube } from "./kube-watch.js";
import { type K8sNode, type K8sObjectMeta, nodeFromK8s, nodePatch } from "./node-mapping.js";
import { serviceObjectKind } from "./service-objects.js";
import {
  type K8sPod,
  parseWorkloadEndpointName,
  podAddresses,
  workloadEndpointFromPod,
  workloadEndpointPatch,
} from "./workload-mapping.js";

export interface KubernetesDatastoreOptions {
  /** Path of a kubeconfig file (KUBECONFIG); absent: the default loading rules (in-cluster, ~/.kube/config). */
  readonly kubeconfig?: string;
  /** A kubeconfig as text (tests, and `tabby datastore serve`'s own clients). */
  readonly kubeconfigText?: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Pause before reopening a watch that failed to connect (default 1 s). */
  readonly watchRetryMs?: number;
}

const VERSION = "v1";
const MAX_ROUNDS = 50;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** A typed client-node object as plain JSON, with timestamps as the API server writes them. */
function plain<T>(o: unknown): T {
  return JSON.parse(JSON.stringify(o), (_k, v) =>
    typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(v) ? v.replace(".000Z", "Z") : v,
  ) as T;
}

function kindDef(kind: string): KindDef {
  const def = findKind(kind);
  if (def === undefined) throw new Error(`no kind ${kind}`);
  return def;
}

export class KubernetesDatastore implements Datastore {
  readonly type = "kubernetes";
  readonly kubeConfig: KubeConfig;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly clock: Clock;
  private readonly watches = new Set<Watch>();

  constructor(private readonly options: KubernetesDatastoreOptions = {}) {
    const kc = new KubeConfig();
    if (options.kubeconfigText !== undefined) kc.loadFromString(options.kubeconfigText);
    else if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    this.kubeConfig = kc;
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.discovery = kc.makeApiClient(DiscoveryV1Api);
    this.clock = options.clock ?? systemClock;
  }

  private async call<T>(key: ResourceKey | undefined, what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw fromApiError(e, key, what);
    }
  }

  // --- custom resources -------------------------------------------------------------------------

  private crd(def: KindDef) {
    return { group: CRD_GROUP, version: VERSION, plural: crdPlural(def) };
  }

  async get(key: ResourceKey): Promise<Resource> {
    const def = kindDef(key.kind);
    if (def.kind === "Node") return nodeFromK8s(await this.readNode(key));
    if (def.kind === "WorkloadEndpoint") {
      const pod = await this.readPodOf(key);
      const wep = workloadEndpointFromPod(pod);
      if (wep === undefined || wep.metadata.name !== key.name) throw notFound(key);
      return wep;
    }
    const o = await this.call(key, "get", () =>
      this.custom.getClusterCustomObject({ ...this.crd(def), name: key.name }),
    );
    return fromCrd(o as CrdObject);
  }

  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    const objects = serviceObjectKind(kind);
    if (objects !== undefined) {
      const list = plain<{ items: Record<string, unknown>[]; metadata: { resourceVersion: string } }>(
        await this.call(undefined, `list ${kind}`, () =>
          kind === "Service"
            ? this.core.listServiceForAllNamespaces()
            : this.discovery.listEndpointSliceForAllNamespaces(),
        ),
      );
      return { items: list.items.map(objects.toResource), revision: list.metadata.resourceVersion };
    }
    const def = kindDef(kind);
    const match = matcher(kind, options);
    const keep = (items: Resource[]) => items.filter((r) => match(storagePath(keyOf(r)), r));
    const fieldSelector = options.fieldSelector !== undefined ? { fieldSelector: options.fieldSelector } : {};
    if (def.kind === "Node") {
      const list = plain<{ items: K8sNode[]; metadata: { resourceVersion: string } }>(
        await this.call(undefined, "list nodes", () => this.core.listNode({ ...fieldSelector })),
      );
      return { items: keep(list.items.map(nodeFromK8s)), revision: list.metadata.resourceVersion };
    }
    if (def.kind === "WorkloadEndpoint") {
      const list = await this.listPods(options.namespace);
      const items = list.items.flatMap((p) => workloadEndpointFromPod(p) ?? []);
      items.sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1,
      );
      return { items: keep(items), revision: list.metadata.resourceVersion };
    }
    const list = (await this.call(undefined, `list ${crdPlural(def)}`, () =>
      this.custom.listClusterCustomObject({ ...this.crd(def), ...fieldSelector }),
    )) as { items: CrdObject[]; metadata: { resourceVersion: string } };
    const items = list.items.map(fromCrd).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    return { items: keep(items), revision: list.metadata.resourceVersion };
  }

  async create(resource: Resource): Promise<Resource> {
    const key = keyOf(resource);
    const def = kindDef(resource.kind);
    if (def.kind === "Node") return this.createNode(resource);
    if (def.kind === "WorkloadEndpoint") return this.writeWorkloadEndpoint(resource, "create");
    const body = toCrd({ ...resource, metadata: { ...resource.metadata, resourceVersion: "" } }, def);
    delete body.metadata.uid;
    const o = await this.call(key, "create", () =>
      this.custom.createClusterCustomObject({ ...this.crd(def), body }),
    );
    return fromCrd(o as CrdObject);
  }

  async update(resource: Resource): Promise<Resource> {
    const key = keyOf(resource);
    const def = kindDef(resource.kind);
    if (def.kind === "Node") return this.updateNode(resource);
    if (def.kind === "WorkloadEndpoint") return this.writeWorkloadEndpoint(resource, "update");
    const given = resource.metadata.resourceVersion;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      // Custom resources need a resourceVersion on update: without one, take the current one.
      const rv = given !== undefined && given !== "" ? given : (await this.get(key)).metadata.resourceVersion;
      const body = toCrd({ ...resource, metadata: { ...resource.metadata, resourceVersion: rv! } }, def);
      try {
        const o = await this.call(key, "update", () =>
          this.custom.replaceClusterCustomObject({ ...this.crd(def), name: key.name, body }),
        );
        return fromCrd(o as CrdObject);
      } catch (e) {
        if (!(e instanceof DatastoreError && e.code === "DATASTORE_CONFLICT") || (given ?? "") !== "")
          throw e;
      }
    }
    throw new DatastoreError(
      "DATASTORE_CONFLICT",
      `update conflict: ${key.kind}(${key.name}) kept changing; try again`,
      key,
    );
  }

  async updateStatus(resource: Resource): Promise<Resource> {
    const key = keyOf(resource);
    const def = kindDef(resource.kind);
    if (def.kind === "Node" || def.kind === "WorkloadEndpoint") return this.update(resource);
    const rv = resource.metadata.resourceVersion || (await this.get(key)).metadata.resourceVersion;
    const body = toCrd({ ...resource, metadata: { ...resource.metadata, resourceVersion: rv! } }, def);
    const o = await this.call(key, "update status", () =>
      this.custom.replaceClusterCustomObjectStatus({ ...this.crd(def), name: key.name, body }),
    );
    return fromCrd(o as CrdObject);
  }

  async delete(key: ResourceKey, options: DeleteOptions = {}): Promise<Resource> {
    const def = kindDef(key.kind);
    const body =
      options.resourceVersion !== undefined
        ? { preconditions: { resourceVersion: options.resourceVersion } }
        : {};
    if (def.kind === "Node") {
      const before = nodeFromK8s(await this.readNode(key));
      await this.call(key, "delete", () => this.core.deleteNode({ name: key.name, body }));
      return before;
    }
    if (def.kind === "WorkloadEndpoint") {
      const pod = await this.readPodOf(key);
      const before = workloadEndpointFromPod(pod);
      if (before === undefined || before.metadata.name !== key.name) throw notFound(key);
      const rv = options.resourceVersion;
      await this.patchPod(key, pod, workloadEndpointPatch(undefined, rv));
      return before;
    }
    const o = await this.call(key, "delete", () =>
      this.custom.deleteClusterCustomObject({ ...this.crd(def), name: key.name, body }),
    );
    return fromCrd(o as CrdObject);
  }

  watch(options: WatchOptions): Watch {
    const objects = serviceObjectKind(options.kind);
    const def: Pick<KindDef, "kind"> = objects !== undefined ? { kind: options.kind } : kindDef(options.kind);
    const match = objects !== undefined ? () => true : matcher(options.kind, options);
    const fieldSelector =
      def.kind === "WorkloadEndpoint" || def.kind === "Node" ? undefined : options.fieldSelector;
    let path: string;
    let map: (o: Record<string, unknown>, type: string) => Resource | undefined;
    if (objects !== undefined) {
      path = objects.path;
      map = objects.toResource;
    } else if (def.kind === "Node") {
      path = "/api/v1/nodes";
      map = (o) => nodeFromK8s(o as unknown as K8sNode);
    } else if (def.kind === "WorkloadEndpoint") {
      path =
        options.namespace !== undefined ? `/api/v1/namespaces/${options.namespace}/pods` : "/api/v1/pods";
      map = (o, type) => workloadEndpointFromPod(o as unknown as K8sPod, type === "ADDED");
    } else {
      path = `/apis/${CRD_GROUP}/${VERSION}/${crdPlural(def as KindDef)}`;
      map = (o) => fromCrd(o as unknown as CrdObject);
    }
    // Calico selectors are applied here, so the API server cannot tell this watch that an object's
    // labels stopped (or started) matching: whether each object matched is remembered instead, and a
    // change is reported as the API server reports it for its own selectors (ADDED when it starts to
    // match, DELETED when it stops). An object first seen in a MODIFIED event that no longer matches is
    // reported DELETED: the consumer may hold it from its list, and a stray deletion is harmless.
    const matched = new Map<string, boolean>();
    const selecting = options.labelSelector !== undefined && options.labelSelector.trim() !== "";
    const selection = (r: Resource, type: "ADDED" | "MODIFIED" | "DELETED") => {
      const key =
        objects !== undefined ? `${r.metadata.namespace}/${r.metadata.name}` : storagePath(keyOf(r));
      const now = match(key, r);
      if (!selecting) return now ? type : undefined;
      const was = matched.get(key);
      if (type === "DELETED") {
        matched.delete(key);
        return was === false || (was === undefined && !now) ? undefined : type;
      }
      matched.set(key, now);
      if (type === "ADDED") return now ? type : undefined;
      if (was === undefined) return now ? type : "DELETED";
      if (was && now) return type;
      if (now) return "ADDED";
      return was ? "DELETED" : undefined;
    };
    const spec = {
      path,
      ...(fieldSelector !== undefined ? { fieldSelector } : {}),
      what: `${options.kind} watch`,
      map: (type: "ADDED" | "MODIFIED" | "DELETED", o: Record<string, unknown>) => {
        const r = map(o, type);
        if (r === undefined) return undefined;
        const seen = selection(r, type);
        if (seen === undefined) return undefined;
        const kind =
          def.kind === "WorkloadEndpoint" && podAddresses(o as unknown as K8sPod).length === 0
            ? "DELETED"
            : seen;
        const revision = r.metadata.resourceVersion ?? "";
        return {
          type: ({ ADDED: "added", MODIFIED: "modified", DELETED: "deleted" } as const)[kind],
          resource: r,
          revision,
        };
      },
    };
    const retry = this.options.watchRetryMs ?? 1_000;
    if (options.fromRevision !== undefined) {
      if (!/^\d+$/.test(options.fromRevision)) {
        const q = new EventQueue();
        q.fail(
          new DatastoreError(
            "DATASTORE_GONE",
            `${options.kind}: revision ${options.fromRevision} is not a revision`,
          ),
        );
        return q;
      }
      return this.track(
        watchKube(
          this.kubeConfig,
          { ...spec, fromRevision: options.fromRevision },
          this.clock,
          retry,
          this.options.logger,
        ),
      );
    }
    // "From now": the revision of a list, then changes after it (a watch without one would replay ADDED).
    let inner: Watch | undefined;
    const outer = new EventQueue(() => inner?.close());
    void this.list(options.kind, {
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    }).then(
      async (l) => {
        if (outer.closed) return;
        inner = watchKube(
          this.kubeConfig,
          { ...spec, fromRevision: l.revision },
          this.clock,
          retry,
          this.options.logger,
        );
        try {
          for await (const e of inner) outer.push(e);
          outer.close();
        } catch (e) {
          outer.fail(e as Error);
        }
      },
      (e: unknown) => outer.fail(e as Error),
    );
    return this.track(outer);
  }

  private track(w: Watch): Watch {
    this.watches.add(w);
    return w;
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string>> {
    const key = { kind: "Secret", name, namespace };
    const s = plain<{ data?: Record<string, string>; stringData?: Record<string, string> }>(
      await this.call(undefined, `read secret ${namespace}/${name}`, () =>
        this.core.readNamespacedSecret({ name, namespace }),
      ).catch((e: unknown) => {
        if (e instanceof DatastoreError && e.message.includes("HTTP 404")) throw notFound(key);
        throw e;
      }),
    );
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
    Object.assign(out, s.stringData ?? {});
    return out;
  }

  async readObjectMeta(kind: "Pod" | "Namespace", name: string, namespace?: string): Promise<ObjectMeta> {
    const key = namespace === undefined ? { kind, name } : { kind, name, namespace };
    const o = plain<{ metadata?: K8sObjectMeta }>(
      await this.call<object>(
        key,
        `read ${kind.toLowerCase()} ${namespace ? `${namespace}/` : ""}${name}`,
        () =>
          kind === "Pod"
            ? this.core.readNamespacedPod({ name, namespace: namespace ?? "default" })
            : this.core.readNamespace({ name }),
      ),
    );
    const m = o.metadata ?? { name };
    return {
      name: m.name ?? name,
      ...(m.uid !== undefined ? { uid: m.uid } : {}),
      labels: m.labels ?? {},
      annotations: m.annotations ?? {},
    };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.close();
    this.watches.clear();
  }

  // --- Nodes ------------------------------------------------------------------------------------

  private async readNode(key: ResourceKey): Promise<K8sNode> {
    return plain<K8sNode>(await this.call(key, "get", () => this.core.readNode({ name: key.name })));
  }

  private async createNode(r: Resource): Promise<Resource> {
    const key = keyOf(r);
    let current: K8sNode;
    try {
      current = await this.readNode(key);
    } catch (e) {
      if (!(e instanceof DatastoreError && e.code === "DATASTORE_NOT_FOUND")) throw e;
      // No kubelet registered it (the lab): create the Kubernetes Node with Calico's annotations.
      const empty: K8sNode = { metadata: { name: key.name } };
      const patch = nodePatch({ ...r, metadata: { ...r.metadata, resourceVersion: "" } }, empty) as {
        metadata: { annotations: Record<string, string | null>; labels: Record<string, string | null> };
      };
      const clean = (m: Record<string, string | null>) =>
        Object.fromEntries(Object.entries(m).filter((e): e is [string, string] => e[1] !== null));
      const body = {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: key.name,
          annotations: clean(patch.metadata.annotations),
          labels: clean(patch.metadata.labels),
        },
      };
      return nodeFromK8s(
        plain<K8sNode>(await this.call(key, "create", () => this.core.createNode({ body }))),
      );
    }
    const have = current.metadata.annotations ?? {};
    if (
      have["projectcalico.org/IPv4Address"] !== undefined ||
      have["projectcalico.org/IPv6Address"] !== undefined
    ) {
      throw alreadyExists(key);
    }
    const patch = nodePatch(
      { ...r, metadata: { ...r.metadata, resourceVersion: current.metadata.resourceVersion! } },
      current,
    );
    return nodeFromK8s(
      plain<K8sNode>(
        await this.call(key, "create", () =>
          this.core.patchNode({ name: key.name, body: patch }, mergePatch),
        ),
      ),
    );
  }

  private async updateNode(r: Resource): Promise<Resource> {
    const key = keyOf(r);
    const current = await this.readNode(key);
    const given = r.metadata.resourceVersion;
    if (given !== undefined && given !== "" && given !== current.metadata.resourceVersion) {
      throw new DatastoreError(
        "DATASTORE_CONFLICT",
        `update conflict: Node(${key.name}): resource version ${given} is out of date`,
        key,
      );
    }
    const patch = nodePatch(r, current);
    return nodeFromK8s(
      plain<K8sNode>(
        await this.call(key, "update", () =>
          this.core.patchNode({ name: key.name, body: patch }, mergePatch),
        ),
      ),
    );
  }

  // --- WorkloadEndpoints (Pods) -----------------------------------------------------------------

  private async listPods(
    namespace?: string,
  ): Promise<{ items: K8sPod[]; metadata: { resourceVersion: string } }> {
    const list =
      namespace === undefined
        ? await this.call(undefined, "list pods", () => this.core.listPodForAllNamespaces())
        : await this.call(undefined, "list pods", () => this.core.listNamespacedPod({ namespace }));
    return plain(list);
  }

  private async readPodOf(key: ResourceKey): Promise<K8sPod> {
    const parsed = parseWorkloadEndpointName(key.name);
    if (parsed === undefined) throw notFound(key);
    return plain<K8sPod>(
      await this.call(key, "get", () =>
        this.core.readNamespacedPod({ name: parsed.pod, namespace: key.namespace ?? "default" }),
      ),
    );
  }

  private async patchPod(key: ResourceKey, pod: K8sPod, body: object): Promise<K8sPod> {
    return plain<K8sPod>(
      await this.call(key, "write", () =>
        this.core.patchNamespacedPod(
          { name: pod.metadata.name, namespace: pod.metadata.namespace ?? "default", body },
          mergePatch,
        ),
      ),
    );
  }

  private async writeWorkloadEndpoint(r: Resource, op: "create" | "update"): Promise<Resource> {
    const key = keyOf(r);
    const pod = await this.readPodOf(key);
    const existing = workloadEndpointFromPod(pod);
    if (
      op === "create" &&
      existing !== undefined &&
      (pod.metadata.annotations ?? {})["cni.projectcalico.org/podIP"]
    ) {
      throw alreadyExists(key);
    }
    if (op === "update" && existing === undefined) throw notFound(key);
    // The pod's own resourceVersion guards the write: the given one, or the one just read.
    const rv =
      op === "update" && (r.metadata.resourceVersion ?? "") !== ""
        ? r.metadata.resourceVersion
        : pod.metadata.resourceVersion;
    const written = await this.patchPod(key, pod, workloadEndpointPatch(r, rv));
    const wep = workloadEndpointFromPod(written);
    if (wep === undefined)
      throw new DatastoreError(
        "DATASTORE_INVALID",
        `${key.kind}(${key.name}): the pod is not on a node or has no addresses`,
        key,
      );
    return wep;
  }
}
