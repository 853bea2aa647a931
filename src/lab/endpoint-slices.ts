/**
 * The EndpointSlice controller's job, for the lab (a real cluster runs it in kube-controller-manager):
 * for every Service with a selector, one EndpointSlice `<service>-lab` listing the pods the selector
 * matches that have an address (their WorkloadEndpoints, so the CNI plugin has wired them), with the
 * pod's node, ready, and the Service's ports (a numeric targetPort, else the port). Slices it wrote
 * carry `endpointslice.kubernetes.io/managed-by: tabby-lab`; only those are replaced or deleted.
 * Lets an operator try per-service route advertisement in the lab: the agents read these slices as
 * they read the controller's. `desiredSlices` is pure; `runEndpointSlices` follows the datastore.
 */
import type { Resource } from "../api/meta.js";
import { reflect } from "../datastore/reflector.js";
import type { Datastore } from "../datastore/types.js";
import { type Clock, delay } from "../util/clock.js";

export const MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
const SERVICE_NAME = "kubernetes.io/service-name";

export interface SliceObject {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  addressType: "IPv4" | "IPv6";
  endpoints: {
    addresses: string[];
    nodeName: string;
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    targetRef: { kind: "Pod"; namespace: string; name: string };
  }[];
  ports: { name?: string; port: number; protocol: string }[];
}

type ServicePort = { name?: string; port?: number; targetPort?: number | string; protocol?: string };

/** The slices the lab's controller wants, by `namespace/name`. */
export function desiredSlices(
  services: readonly Resource[],
  weps: readonly Resource[],
): Map<string, SliceObject> {
  const out = new Map<string, SliceObject>();
  for (const svc of services) {
    const spec = (svc.spec ?? {}) as { selector?: Record<string, string>; ports?: ServicePort[] };
    const selector = spec.selector;
    if (selector === undefined || Object.keys(selector).length === 0) continue; // managed by hand
    const namespace = svc.metadata.namespace ?? "default";
    const v4 = weps.filter((w) => {
      if ((w.metadata.namespace ?? "default") !== namespace) return false;
      const labels = w.metadata.labels ?? {};
      return Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
    const endpoints = v4.flatMap((w) => {
      const s = w.spec as { node?: string; pod?: string; ipNetworks?: string[] };
      const ip = (s.ipNetworks ?? []).map((n) => n.split("/")[0]!).find((a) => !a.includes(":"));
      if (ip === undefined || s.node === undefined || s.pod === undefined) return [];
      return [
        {
          addresses: [ip],
          nodeName: s.node,
          conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: "Pod" as const, namespace, name: s.pod },
        },
      ];
    });
    endpoints.sort((a, b) => (a.targetRef.name < b.targetRef.name ? -1 : 1));
    const name = `${svc.metadata.name}-lab`;
    out.set(`${namespace}/${name}`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        namespace,
        labels: { [SERVICE_NAME]: svc.metadata.name, [MANAGED_BY]: "tabby-lab" },
      },
      addressType: "IPv4",
      endpoints,
      ports: (spec.ports ?? []).map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        port: typeof p.targetPort === "number" ? p.targetPort : (p.port ?? 0),
        protocol: p.protocol ?? "TCP",
      })),
    });
  }
  return out;
}

export interface SliceWriter {
  /** The slices this controller wrote earlier (managed-by tabby-lab), by `namespace/name`, as JSON text. */
  list(): Promise<Map<string, string>>;
  put(slice: SliceObject, exists: boolean): Promise<void>;
  remove(namespace: string, name: string): Promise<void>;
}

/** Follows Services and WorkloadEndpoints in `ds` and keeps the slices in step until `stop` resolves. */
export async function runEndpointSlices(
  ds: Datastore,
  writer: SliceWriter,
  clock: Clock,
  stop: Promise<void>,
  onError: (e: Error) => void,
): Promise<void> {
  const services = new Map<string, Resource>();
  const weps = new Map<string, Resource>();
  let dirty = true;
  let wake: (() => void) | undefined;
  const follow = (kind: string, into: Map<string, Resource>) => {
    const w = reflect(ds, { kind, clock });
    void stop.then(() => w.close());
    void (async () => {
      for await (const ev of w) {
        const k = `${ev.resource.metadata.namespace}/${ev.resource.metadata.name}`;
        if (ev.type === "deleted") into.delete(k);
        else into.set(k, ev.resource);
        dirty = true;
        wake?.();
      }
    })().catch(onError);
  };
  follow("Service", services);
  follow("WorkloadEndpoint", weps);
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  let written: Map<string, string> | undefined;
  while (!stopped) {
    let failed = false;
    if (dirty) {
      dirty = false;
      try {
        written ??= await writer.list();
        const want = desiredSlices([...services.values()], [...weps.values()]);
        for (const [k, slice] of want) {
          const text = JSON.stringify(slice);
          if (written.get(k) === text) continue;
          await writer.put(slice, written.has(k));
          written.set(k, text);
        }
        for (const k of [...written.keys()]) {
          if (want.has(k)) continue;
          const [namespace, name] = k.split("/") as [string, string];
          await writer.remove(namespace, name);
          written.delete(k);
        }
      } catch (e) {
        written = undefined; // read back what is there on the next round
        dirty = true;
        failed = true;
        onError(e as Error);
      }
    }
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    await Promise.race([failed ? delay(clock, 1_000) : dirty ? Promise.resolve() : changed, stop]);
  }
}
