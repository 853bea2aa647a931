import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import { desiredSlices } from "../../../src/lab/endpoint-slices.js";

const svc = (name: string, spec: Record<string, unknown>, namespace = "default"): Resource => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec,
});

const wep = (
  pod: string,
  node: string,
  labels: Record<string, string>,
  ips: string[],
  namespace = "default",
): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "WorkloadEndpoint",
  metadata: { name: `${node}-k8s-${pod}-eth0`, namespace, labels },
  spec: { node, pod, ipNetworks: ips },
});

describe("the lab's EndpointSlice controller", () => {
  const pods = [
    wep("b", "node2", { app: "web", "lab-node": "node2" }, ["10.244.1.2/32"]),
    wep("a", "node1", { app: "web", "lab-node": "node1" }, ["10.244.0.2/32", "fd00::2/128"]),
    wep("c", "node3", { app: "db" }, ["10.244.2.2/32"]),
    wep("d", "node3", { app: "web" }, ["10.244.2.3/32"], "other"),
  ];

  it("lists the pods the selector matches in the Service's namespace, with node, readiness and ports", () => {
    const want = desiredSlices(
      [svc("web", { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] })],
      pods,
    );
    expect([...want.keys()]).toEqual(["default/web-lab"]);
    expect(want.get("default/web-lab")).toEqual({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "web-lab",
        namespace: "default",
        labels: {
          "kubernetes.io/service-name": "web",
          "endpointslice.kubernetes.io/managed-by": "tabby-lab",
        },
      },
      addressType: "IPv4",
      endpoints: [
        {
          addresses: ["10.244.0.2"],
          nodeName: "node1",
          conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: "Pod", namespace: "default", name: "a" },
        },
        {
          addresses: ["10.244.1.2"],
          nodeName: "node2",
          conditions: { ready: true, serving: true, terminating: false },
          targetRef: { kind: "Pod", namespace: "default", name: "b" },
        },
      ],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
  });

  it("a selector on every label; a Service without a selector is left to whoever writes its slices", () => {
    const want = desiredSlices(
      [
        svc("n2", { selector: { app: "web", "lab-node": "node2" }, ports: [{ port: 80 }] }),
        svc("manual", { ports: [{ port: 80 }] }),
      ],
      pods,
    );
    expect([...want.keys()]).toEqual(["default/n2-lab"]);
    expect(want.get("default/n2-lab")!.endpoints.map((e) => e.targetRef.name)).toEqual(["b"]);
    expect(want.get("default/n2-lab")!.ports).toEqual([{ port: 80, protocol: "TCP" }]);
  });

  it("a Service matching no pod gets an empty slice (as the controller writes one)", () => {
    const want = desiredSlices([svc("none", { selector: { app: "nothing" } })], pods);
    expect(want.get("default/none-lab")!.endpoints).toEqual([]);
  });
});
