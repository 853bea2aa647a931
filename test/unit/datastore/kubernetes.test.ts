/**
 * The kubernetes backend (@kubernetes/client-node) against the embedded API server: the shared
 * contract, then the Kubernetes-specific mappings (custom resources with Calico's metadata annotation,
 * Node annotations, Pods as WorkloadEndpoints, Secrets).
 */
import { describe, expect, it } from "vitest";
import { KubernetesDatastore } from "../../../src/datastore/kubernetes/kubernetes-datastore.js";
import type { Datastore } from "../../../src/datastore/types.js";
import { testScope } from "../../harness/scope.js";
import { datastoreContract, pool } from "./contract.js";
import { type KubeFixture, startKube } from "./kube-fixture.js";

const fixtures = new WeakMap<Datastore, KubeFixture>();

async function open(): Promise<Datastore> {
  const kube = await startKube();
  const ds = new KubernetesDatastore({ kubeconfigText: kube.kubeconfig, watchRetryMs: 50 });
  const close = ds.close.bind(ds);
  ds.close = async () => {
    await close();
    await kube.close();
  };
  fixtures.set(ds, kube);
  return ds;
}

let lastKube: KubeFixture | undefined;
datastoreContract(
  "kubernetes (embedded API server)",
  async () => {
    const ds = await open();
    lastKube = fixtures.get(ds);
    return ds;
  },
  {
    compact: async (ds, revision) => fixtures.get(ds)!.server.store.compact(Number(revision)),
    prepareWorkload: async (namespace, pod, node) => {
      const kube = lastKube!;
      await kube.request("POST", "/api/v1/namespaces", { metadata: { name: namespace } });
      const r = await kube.request("POST", `/api/v1/namespaces/${namespace}/pods`, {
        metadata: { name: pod },
        spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }] },
      });
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    },
  },
);

describe("kubernetes backend mappings", () => {
  it("stores Calico resources as crd.projectcalico.org/v1 with the projectcalico.org/metadata annotation", async () => {
    const ds = await open();
    testScope().defer("close", () => ds.close());
    const kube = fixtures.get(ds)!;
    await ds.create(pool("a", "10.0.0.0/16", { zone: "east", "projectcalico.org/x": "y" }));
    const raw = (await kube.request("GET", "/apis/crd.projectcalico.org/v1/ippools/a")).body;
    expect(raw.apiVersion).toBe("crd.projectcalico.org/v1");
    expect(raw.metadata.labels).toEqual({ "projectcalico.org/x": "y" });
    expect(JSON.parse(raw.metadata.annotations["projectcalico.org/metadata"]).labels).toEqual({
      zone: "east",
      "projectcalico.org/x": "y",
    });
    expect(raw.spec.cidr).toBe("10.0.0.0/16");
  });

  it("maps Calico Nodes onto Kubernetes Node annotations and back", async () => {
    const ds = await open();
    testScope().defer("close", () => ds.close());
    const kube = fixtures.get(ds)!;
    await kube.request("POST", "/api/v1/nodes", {
      metadata: { name: "n1", labels: { "kubernetes.io/hostname": "n1" } },
      status: { addresses: [{ type: "InternalIP", address: "192.0.2.1" }] },
    });
    const before = await ds.get({ kind: "Node", name: "n1" });
    expect(before.spec).toEqual({
      orchRefs: [{ nodeName: "n1", orchestrator: "k8s" }],
      addresses: [{ address: "192.0.2.1", type: "InternalIP" }],
    });
    const after = await ds.update({
      ...before,
      spec: {
        ...(before.spec as object),
        bgp: { ipv4Address: "192.0.2.1/24", asNumber: 64512 },
        ipv4VXLANTunnelAddr: "10.65.0.1",
      },
    });
    const raw = (await kube.request("GET", "/api/v1/nodes/n1")).body;
    expect(raw.metadata.annotations).toEqual({
      "projectcalico.org/IPv4Address": "192.0.2.1/24",
      "projectcalico.org/ASNumber": "64512",
      "projectcalico.org/IPv4VXLANTunnelAddr": "10.65.0.1",
    });
    expect((after.spec as { bgp: unknown }).bgp).toEqual({ ipv4Address: "192.0.2.1/24", asNumber: 64512 });
    await expect(ds.update(before)).rejects.toMatchObject({ code: "DATASTORE_CONFLICT" });
  });

  it("sees Pods as WorkloadEndpoints and records the CNI plugin's endpoint as Pod annotations", async () => {
    const ds = await open();
    testScope().defer("close", () => ds.close());
    const kube = fixtures.get(ds)!;
    await kube.request("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "web-1", labels: { app: "web" } },
      spec: {
        nodeName: "node-a",
        serviceAccountName: "sa1",
        containers: [{ name: "c", ports: [{ name: "http", containerPort: 80 }] }],
      },
    });
    expect((await ds.list("WorkloadEndpoint")).items).toEqual([]);
    const wep = await ds.create({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: { name: "node--a-k8s-web--1-eth0", namespace: "default" },
      spec: { ipNetworks: ["10.65.1.2/32"], containerID: "abc123" },
    });
    expect(wep.spec).toMatchObject({
      node: "node-a",
      pod: "web-1",
      ipNetworks: ["10.65.1.2/32"],
      profiles: ["kns.default", "ksa.default.sa1"],
      ports: [{ name: "http", protocol: "TCP", port: 80 }],
      containerID: "abc123",
    });
    expect(wep.metadata.labels).toMatchObject({ app: "web", "projectcalico.org/namespace": "default" });
    const pod = (await kube.request("GET", "/api/v1/namespaces/default/pods/web-1")).body;
    expect(pod.metadata.annotations["cni.projectcalico.org/podIP"]).toBe("10.65.1.2/32");
    await ds.delete({ kind: "WorkloadEndpoint", name: wep.metadata.name, namespace: "default" });
    expect((await ds.list("WorkloadEndpoint")).items).toEqual([]);
  });

  it("reads Secrets for BGP passwords", async () => {
    const ds = await open();
    testScope().defer("close", () => ds.close());
    const kube = fixtures.get(ds)!;
    await kube.request("POST", "/api/v1/namespaces/kube-system/secrets", {
      metadata: { name: "bgp-secrets" },
      stringData: { "rr-password": "s3cret" },
    });
    expect(await ds.readSecret!("kube-system", "bgp-secrets")).toEqual({ "rr-password": "s3cret" });
    await expect(ds.readSecret!("kube-system", "nope")).rejects.toMatchObject({
      code: "DATASTORE_NOT_FOUND",
    });
  });

  it("lists and watches Services and EndpointSlices for service advertisement", async () => {
    const ds = await open();
    testScope().defer("close", () => ds.close());
    const kube = fixtures.get(ds)!;
    const svc = await kube.request("POST", "/api/v1/namespaces/default/services", {
      metadata: { name: "web" },
      spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 80 }] },
    });
    expect(svc.status).toBe(201);
    const listed = await ds.list("Service");
    expect(listed.items.map((r) => [r.kind, r.metadata.namespace, r.metadata.name])).toEqual([
      ["Service", "default", "web"],
    ]);
    expect(listed.items[0]!.spec).toMatchObject({ clusterIP: "10.96.0.2", externalTrafficPolicy: "Local" });
    const w = ds.watch({ kind: "EndpointSlice", fromRevision: (await ds.list("EndpointSlice")).revision });
    testScope().defer("close watch", () => w.close());
    const slice = await kube.request("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
      metadata: { name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.65.0.5"], nodeName: "n1", conditions: { ready: true } }],
    });
    expect(slice.status).toBe(201);
    const it = w[Symbol.asyncIterator]();
    const ev = (await it.next()).value;
    expect(ev.type).toBe("added");
    expect(ev.resource).toMatchObject({
      kind: "EndpointSlice",
      metadata: { name: "web-1", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
      spec: { addressType: "IPv4", endpoints: [{ nodeName: "n1", conditions: { ready: true } }] },
    });
    const again = await ds.list("EndpointSlice");
    expect(again.items[0]!.spec).toMatchObject({ addressType: "IPv4" });
  });
});
