/**
 * The REST semantics of the embedded API server, apart from HTTP: what get, list, create, update,
 * patch and delete do to the store, as the Kubernetes API server's generic registry does them
 * (k8s.io/apiserver/pkg/registry/generic/registry/store.go and the per-kind strategies): server-set
 * metadata (uid, creationTimestamp, generation bumped on spec changes, generateName), resourceVersion
 * preconditions (409 Conflict), custom resources refusing an update without resourceVersion (422),
 * status subresources (the main endpoint ignores status, /status changes only status), no-op updates
 * that keep their resourceVersion, namespaces that must exist and whose deletion removes their
 * contents, CRDs that get their status and take their objects with them, Secrets' stringData, and
 * crd.projectcalico.org validation (calico-validation.ts). Graceful deletion and finalizers are not
 * modelled: a delete removes the object at once.
 */

import { randomUUID } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { type Clock, systemClock } from "../util/clock.js";
import { cloneJson } from "../util/json-data.js";
import { validateCalicoObject } from "./calico-validation.js";
import { compileFieldSelector, compileLabelSelector } from "./label-selector.js";
import type { KubeObject, ObjectStore, Tx } from "./object-store.js";
import { jsonPatch, mergePatch, strategicMerge } from "./patch.js";
import {
  CRDS,
  groupVersion,
  NAMESPACES,
  type ResourceType,
  storeKey,
  storePrefix,
  type TypeRegistry,
} from "./resource-types.js";
import { defaultServiceSpec, type StatusCause } from "./service-ips.js";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  MODIFIED,
  notFound,
  tooLarge,
  unsupportedMediaType,
} from "./status.js";

export interface HandlerOptions {
  readonly clock?: Clock;
  readonly newUid?: () => string;
}

export interface WriteResult {
  readonly object: KubeObject;
  readonly created: boolean;
  readonly warnings: readonly string[];
}

type Json = Record<string, unknown>;

const SERVER_META = [
  "uid",
  "creationTimestamp",
  "resourceVersion",
  "generation",
  "selfLink",
  "managedFields",
];

function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** What generation counts: everything but metadata and status. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

export class ResourceHandlers {
  private readonly clock: Clock;
  private readonly newUid: () => string;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: TypeRegistry,
    options: HandlerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.newUid = options.newUid ?? randomUUID;
  }

  private stamp(t: ResourceType, o: KubeObject): KubeObject {
    return { apiVersion: groupVersion(t), kind: t.kind, ...o };
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const o = this.store.get(storeKey(t, name, namespace));
    if (o === undefined) throw notFound(t, name);
    return o;
  }

  list(t: ResourceType, namespace: string | undefined, query: URLSearchParams): Json {
    const rv = query.get("resourceVersion");
    const match = query.get("resourceVersionMatch");
    const current = this.store.revision;
    if (rv !== null && rv !== "" && rv !== "0") {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid resourceVersion ${JSON.stringify(rv)}`);
      if (n > current) throw tooLarge(rv, current);
      // Lists are served at the latest revision; an exact older one is only what an API server
      // whose etcd compacted it would answer.
      if (match === "Exact" && n !== current) throw expired(rv, this.store.floor + 1);
    } else if (match === "Exact") {
      throw badRequest("resourceVersionMatch: Exact requires a resourceVersion");
    }
    const items = this.select(t, namespace, query);
    return {
      apiVersion: groupVersion(t),
      kind: t.listKind,
      metadata: { resourceVersion: String(current) },
      items,
    };
  }

  /** Current objects matching the namespace and the label/field selectors of a request. */
  select(t: ResourceType, namespace: string | undefined, query: URLSearchParams): KubeObject[] {
    const matches = this.matcher(query);
    return this.store
      .list(storePrefix(t, t.namespaced ? namespace : undefined))
      .filter(matches)
      .map((o) => this.stamp(t, o));
  }

  matcher(query: URLSearchParams): (o: KubeObject) => boolean {
    const labels = compileLabelSelector(query.get("labelSelector"));
    const fields = compileFieldSelector(query.get("fieldSelector"));
    return (o) => (labels === undefined || labels(o.metadata.labels)) && (fields === undefined || fields(o));
  }

  async create(
    t: ResourceType,
    namespace: string | undefined,
    body: unknown,
    query: URLSearchParams,
  ): Promise<WriteResult> {
    const obj = this.checkBody(t, namespace, body);
    const warnings: string[] = [];
    const object = await this.store.write((tx) => this.createIn(tx, t, namespace, obj, query, warnings));
    return { object, created: true, warnings };
  }

  private createIn(
    tx: Tx,
    t: ResourceType,
    namespace: string | undefined,
    input: KubeObject,
    query: URLSearchParams,
    warnings: string[],
  ): KubeObject {
    const obj = cloneJson(input);
    const meta = obj.metadata;
    if ((meta.name ?? "") === "") {
      if ((meta.generateName ?? "") === "") {
        throw invalid(t, "", [
          {
            reason: "FieldValueRequired",
            message: "Required value: name or generateName is required",
            field: "metadata.name",
          },
        ]);
      }
      do {
        meta.name =
          meta.generateName +
          Array.from({ length: 5 }, () => ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)]).join("");
      } while (tx.get(storeKey(t, meta.name, namespace)) !== undefined);
    }
    const name = meta.name!;
    if (t.namespaced) {
      meta.namespace = namespace ?? "default";
      if (tx.get(storeKey(NAMESPACES, meta.namespace)) === undefined)
        throw notFound(NAMESPACES, meta.namespace);
    } else delete meta.namespace;
    const key = storeKey(t, name, meta.namespace);
    if (tx.get(key) !== undefined) throw alreadyExists(t, name);
    for (const k of SERVER_META) delete meta[k];
    meta.uid = this.newUid();
    meta.creationTimestamp = timestamp(this.clock.wallTime());
    if (t.group !== "" || t.kind === "Pod") meta.generation = 1;
    // Status is the server's (or a controller's) on create, except a Node's, which the kubelet reports.
    if (t.statusSubresource && t !== NAMESPACES && !(t.group === "" && t.kind === "Node")) delete obj.status;
    if (t.group === "" && t.kind === "Pod") obj.status = { phase: "Pending" };
    this.normalise(t, obj);
    this.validate(t, obj, query, warnings);
    if (isService(t)) {
      obj.spec ??= {};
      const causes = defaultServiceSpec(obj.spec as object, clusterIpsInUse(tx, t));
      if (causes.length > 0) throw invalid(t, name, causes);
    }
    return tx.put(key, this.stamp(t, obj));
  }

  async update(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: string | undefined,
    query: URLSearchParams,
  ): Promise<WriteResult> {
    const obj = this.checkBody(t, namespace, body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    const warnings: string[] = [];
    const object = await this.store.write((tx) => {
      const key = storeKey(t, name, namespace);
      const old = tx.get(key);
      if (old === undefined) throw notFound(t, name);
      const given = obj.metadata.resourceVersion;
      if (given === undefined || given === "") {
        if (!t.unconditionalUpdate) {
          throw invalid(t, name, [
            {
              reason: "FieldValueInvalid",
              message: "Invalid value: 0x0: must be specified for an update",
              field: "metadata.resourceVersion",
            },
          ]);
        }
      } else if (given !== old.metadata.resourceVersion) {
        throw conflict(t, name, MODIFIED);
      }
      return this.replaceIn(tx, t, key, old, obj, subresource, query, warnings);
    });
    return { object, created: false, warnings };
  }

  private replaceIn(
    tx: Tx,
    t: ResourceType,
    key: string,
    old: KubeObject,
    incoming: KubeObject,
    subresource: string | undefined,
    query: URLSearchParams,
    warnings: string[],
  ): KubeObject {
    let next: KubeObject;
    if (subresource === "status") {
      // PUT .../status changes only status (and keeps the rest as stored).
      next = { ...cloneJson(old) };
      if (incoming.status === undefined) delete next.status;
      else next.status = cloneJson(incoming.status);
    } else {
      next = cloneJson(incoming);
      if (t.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = cloneJson(old.status);
      }
      next.metadata = { ...next.metadata };
      for (const k of SERVER_META) delete next.metadata[k];
      if (old.metadata.generateName !== undefined) next.metadata.generateName = old.metadata.generateName;
      else delete next.metadata.generateName;
      next.metadata.uid = old.metadata.uid;
      next.metadata.creationTimestamp = old.metadata.creationTimestamp;
      if (old.metadata.namespace !== undefined) next.metadata.namespace = old.metadata.namespace;
      else delete next.metadata.namespace;
    }
    next.metadata.name = old.metadata.name;
    if (old.metadata.generation !== undefined) {
      next.metadata.generation =
        old.metadata.generation + (specOf(old) !== specOf(this.stamp(t, next)) ? 1 : 0);
    }
    next = this.stamp(t, next);
    this.normalise(t, next);
    this.validate(t, next, query, warnings);
    if (isService(t) && subresource !== "status") {
      const causes = keepServiceIps(old, next);
      if (causes.length > 0) throw invalid(t, old.metadata.name ?? "", causes);
    }
    const comparable = {
      ...next,
      metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion },
    };
    if (JSON.stringify(sortKeys(comparable)) === JSON.stringify(sortKeys(this.stamp(t, old)))) {
      return this.stamp(t, old);
    }
    return tx.put(key, next);
  }

  async patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    text: string,
    subresource: string | undefined,
    query: URLSearchParams,
  ): Promise<WriteResult> {
    const type = contentType.split(";")[0]!.trim();
    let patch: unknown;
    try {
      patch = type === "application/apply-patch+yaml" ? parseYaml(text) : JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const warnings: string[] = [];
    let created = false;
    const object = await this.store.write((tx) => {
      const key = storeKey(t, name, namespace);
      const old = tx.get(key);
      if (old === undefined) {
        if (type !== "application/apply-patch+yaml") throw notFound(t, name);
        // Server-side apply creates what is not there.
        const obj = this.checkBody(t, namespace, patch);
        obj.metadata.name ??= name;
        created = true;
        return this.createIn(tx, t, namespace, obj, query, warnings);
      }
      let patched: unknown;
      switch (type) {
        case "application/merge-patch+json":
        case "application/apply-patch+yaml":
          // Server-side apply is approximated by a merge of the applied configuration (no field managers).
          patched = mergePatch(old, patch);
          break;
        case "application/strategic-merge-patch+json":
          if (t.crd !== undefined)
            throw unsupportedMediaType(`${type} (custom resources take merge or JSON patches)`);
          patched = strategicMerge(old, patch);
          break;
        case "application/json-patch+json":
          patched = jsonPatch(old, patch);
          break;
        default:
          throw unsupportedMediaType(type);
      }
      const obj = this.checkBody(t, namespace, patched);
      // A resourceVersion in the patch is a precondition; none means "whatever is there now".
      if (
        obj.metadata.resourceVersion !== undefined &&
        obj.metadata.resourceVersion !== old.metadata.resourceVersion
      ) {
        throw conflict(t, name, MODIFIED);
      }
      if (obj.metadata.name !== name) throw badRequest("a patch may not change metadata.name");
      return this.replaceIn(tx, t, key, old, obj, subresource, query, warnings);
    });
    return { object, created, warnings };
  }

  async delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
  ): Promise<KubeObject> {
    const pre = (body as { preconditions?: { resourceVersion?: string; uid?: string } } | undefined)
      ?.preconditions;
    return this.store.write((tx) => {
      const key = storeKey(t, name, namespace);
      const old = tx.get(key);
      if (old === undefined) throw notFound(t, name);
      if (pre?.uid !== undefined && pre.uid !== old.metadata.uid) {
        throw conflict(
          t,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw conflict(
          t,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        );
      }
      tx.delete(key);
      if (t === NAMESPACES) {
        // The namespace controller would delete everything in it before the namespace goes.
        for (const rt of this.registry.all()) {
          if (!rt.namespaced) continue;
          for (const k of tx.keys(storePrefix(rt, name))) tx.delete(k);
        }
      }
      if (t === CRDS) {
        const spec = old.spec as { group: string; names: { plural: string } };
        for (const k of tx.keys(storePrefix({ group: spec.group, plural: spec.names.plural }))) tx.delete(k);
      }
      return this.stamp(t, old);
    });
  }

  /** Checks a request body is an object of this type and returns it with metadata present. */
  private checkBody(t: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest("the request body must be a JSON object");
    }
    const obj = cloneJson(body) as KubeObject;
    if (obj.kind !== undefined && obj.kind !== t.kind) {
      throw badRequest(`the kind of the object (${obj.kind}) does not match the resource (${t.kind})`);
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== groupVersion(t)) {
      throw badRequest(`the API version of the object (${obj.apiVersion}) does not match ${groupVersion(t)}`);
    }
    if (typeof obj.metadata !== "object" || obj.metadata === null) obj.metadata = {};
    const ns = obj.metadata.namespace;
    if (t.namespaced && ns !== undefined && ns !== "" && namespace !== undefined && ns !== namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    return obj;
  }

  /** Per-kind fix-ups the API server's strategies make before storing. */
  private normalise(t: ResourceType, obj: KubeObject): void {
    if (t.kind === "Secret" && t.group === "") {
      const stringData = obj.stringData as Record<string, string> | undefined;
      if (stringData !== undefined) {
        const data = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
        for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, "utf8").toString("base64");
        obj.data = data;
        delete obj.stringData;
      }
      obj.type ??= "Opaque";
    }
    if (t === NAMESPACES) obj.status = { phase: "Active" };
    if (t === CRDS) obj.status = this.crdStatus(obj);
  }

  private validate(t: ResourceType, obj: KubeObject, query: URLSearchParams, warnings: string[]): void {
    const verdict = validateCalicoObject(obj, t);
    if (verdict.unknown.length > 0) {
      const mode = query.get("fieldValidation") ?? "Warn";
      const text = verdict.unknown.map((f) => `unknown field "${f}"`);
      if (mode === "Strict") throw badRequest(`strict decoding error: ${text.join(", ")}`);
      if (mode === "Warn") warnings.push(...text);
    }
    if (verdict.causes.length > 0) throw invalid(t, obj.metadata.name ?? "", verdict.causes);
  }

  /** A CRD is accepted and established at once (there is no controller to wait for). */
  private crdStatus(crd: KubeObject): Json {
    const spec = crd.spec as
      | { names?: unknown; versions?: { name: string; storage?: boolean }[] }
      | undefined;
    const since = crd.metadata.creationTimestamp;
    return {
      conditions: [
        {
          type: "NamesAccepted",
          status: "True",
          lastTransitionTime: since,
          reason: "NoConflicts",
          message: "no conflicts found",
        },
        {
          type: "Established",
          status: "True",
          lastTransitionTime: since,
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
        },
      ],
      acceptedNames: spec?.names ?? {},
      storedVersions: (spec?.versions ?? []).filter((v) => v.storage).map((v) => v.name),
    };
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

export { ApiError };

const isService = (t: ResourceType) => t.group === "" && t.kind === "Service";

function clusterIpsInUse(tx: Tx, t: ResourceType): Set<string> {
  const used = new Set<string>();
  for (const k of tx.keys(storePrefix(t))) {
    const spec = (tx.get(k)?.spec ?? {}) as { clusterIPs?: string[] };
    for (const ip of spec.clusterIPs ?? []) used.add(ip);
  }
  return used;
}

/** A Service's cluster IP is immutable: an update without one keeps the stored one (as kubectl apply relies on). */
function keepServiceIps(old: KubeObject, next: KubeObject): StatusCause[] {
  const was = (old.spec ?? {}) as Record<string, unknown>;
  next.spec ??= {};
  const spec = next.spec as Record<string, unknown>;
  for (const f of [
    "clusterIP",
    "clusterIPs",
    "ipFamilies",
    "ipFamilyPolicy",
    "type",
    "sessionAffinity",
    "internalTrafficPolicy",
  ])
    if (spec[f] === undefined && was[f] !== undefined) spec[f] = was[f];
  if (spec.clusterIP !== was.clusterIP) {
    return [
      {
        reason: "FieldValueInvalid",
        message: "Invalid value: field is immutable",
        field: "spec.clusterIPs[0]",
      },
    ];
  }
  return [];
}
