import { describe, expect, it } from "vitest";
import {
  computeServiceRoutes,
  endpointSliceInput,
  type ServiceRouteSettings,
  serviceInput,
} from "../../../src/agent/service-routes.js";
import type { Resource } from "../../../src/api/meta.js";
import { type Cidr, formatCidr, parseCidr } from "../../../src/api/net.js";

const cidrs = (...t: string[]): Cidr[] => t.map((x) => parseCidr(x)!);

function svc(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Resource {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { type: "ClusterIP", ipFamilies: ["IPv4"], ...spec },
    ...(status !== undefined ? { status } : {}),
  };
}

function slice(
  service: string,
  endpoints: { node: string; ready?: boolean }[],
  addressType = "IPv4",
): Resource {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service}-abcde`,
      namespace: "default",
      labels: { "kubernetes.io/service-name": service },
    },
    spec: {
      addressType,
      endpoints: endpoints.map((e, i) => ({
        addresses: [`10.244.0.${i + 1}`],
        nodeName: e.node,
        ...(e.ready !== undefined ? { conditions: { ready: e.ready } } : {}),
      })),
    },
  };
}

const base: ServiceRouteSettings = {
  nodeName: "n1",
  excluded: false,
  clusterCidrs: cidrs("10.96.0.0/12"),
  externalCidrs: cidrs("192.0.2.0/24"),
  loadBalancerCidrs: cidrs("198.51.100.0/24"),
  aggregate: true,
};

function routes(services: Resource[], slices: Resource[], s: Partial<ServiceRouteSettings> = {}): string[] {
  return computeServiceRoutes(
    services.map(serviceInput),
    slices.flatMap((x) => endpointSliceInput(x) ?? []),
    { ...base, ...s },
  ).map((r) => formatCidr(r.cidr));
}

const local = { externalTrafficPolicy: "Local" };

describe("per-service routes (confd's route generator)", () => {
  it.each([
    [
      "Local with a ready endpoint here: cluster IP",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n1" }])],
      {},
      ["10.96.0.10/32"],
    ],
    [
      "Local with the endpoint on another node: nothing",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n2" }])],
      {},
      [],
    ],
    [
      "Local, the endpoint here not ready: nothing",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n1", ready: false }])],
      {},
      [],
    ],
    [
      "Local, no serviceClusterIPs: the cluster IP is not announced",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n1" }])],
      { clusterCidrs: [] },
      [],
    ],
    [
      "Cluster policy with aggregation: only the ranges (no /32)",
      [svc("a", { clusterIP: "10.96.0.10" })],
      [slice("a", [{ node: "n1" }])],
      {},
      [],
    ],
    [
      "Cluster policy, aggregation Disabled, a ready endpoint anywhere",
      [
        svc(
          "a",
          { clusterIP: "10.96.0.10", type: "LoadBalancer" },
          { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
        ),
      ],
      [slice("a", [{ node: "n2" }])],
      { aggregate: false },
      ["10.96.0.10/32", "198.51.100.7/32"],
    ],
    [
      "Local LoadBalancer: cluster, external and ingress IPs in their allowed ranges",
      [
        svc(
          "a",
          {
            clusterIP: "10.96.0.10",
            type: "LoadBalancer",
            externalIPs: ["192.0.2.5", "203.0.113.1"],
            ...local,
          },
          { loadBalancer: { ingress: [{ ip: "198.51.100.7" }, { hostname: "lb.example" }] } },
        ),
      ],
      [slice("a", [{ node: "n1" }])],
      {},
      ["10.96.0.10/32", "192.0.2.5/32", "198.51.100.7/32"],
    ],
    [
      "Cluster policy with an external IP listed as a single /32: announced from every node, endpoints or not",
      [svc("a", { clusterIP: "10.96.0.10", externalIPs: ["203.0.113.9"] })],
      [],
      { externalCidrs: cidrs("203.0.113.9/32") },
      ["10.96.0.10/32", "203.0.113.9/32"],
    ],
    [
      "Cluster LoadBalancer with a single-address LB range",
      [
        svc(
          "a",
          { clusterIP: "10.96.0.10", type: "LoadBalancer" },
          { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
        ),
      ],
      [],
      { loadBalancerCidrs: cidrs("198.51.100.7/32") },
      ["10.96.0.10/32", "198.51.100.7/32"],
    ],
    [
      "headless: nothing",
      [svc("a", { clusterIP: "None", ...local })],
      [slice("a", [{ node: "n1" }])],
      {},
      [],
    ],
    [
      "ExternalName: nothing",
      [svc("a", { clusterIP: "10.96.0.10", type: "ExternalName", ...local })],
      [slice("a", [{ node: "n1" }])],
      {},
      [],
    ],
    [
      "excluded node: nothing",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n1" }])],
      { excluded: true },
      [],
    ],
    [
      "a slice of the wrong family does not count",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("a", [{ node: "n1" }], "IPv6")],
      {},
      [],
    ],
    [
      "a slice of another Service does not count",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [slice("b", [{ node: "n1" }])],
      {},
      [],
    ],
    [
      "one ready endpoint in any of the Service's slices is enough",
      [svc("a", { clusterIP: "10.96.0.10", ...local })],
      [
        slice("a", [{ node: "n1", ready: false }]),
        {
          ...slice("a", [{ node: "n1" }]),
          metadata: { name: "a-2", namespace: "default", labels: { "kubernetes.io/service-name": "a" } },
        },
      ],
      {},
      ["10.96.0.10/32"],
    ],
    [
      "dual stack: both cluster IPs",
      [
        svc("a", {
          clusterIP: "10.96.0.10",
          clusterIPs: ["10.96.0.10", "fd00:96::a"],
          ipFamilies: ["IPv4", "IPv6"],
          ...local,
        }),
      ],
      [slice("a", [{ node: "n1" }])],
      {},
      ["10.96.0.10/32", "fd00:96::a/128"],
    ],
    [
      "two Services with one external IP: announced once",
      [
        svc("a", { clusterIP: "10.96.0.10", externalIPs: ["192.0.2.5"], ...local }),
        svc("b", { clusterIP: "10.96.0.11", externalIPs: ["192.0.2.5"], ...local }),
      ],
      [slice("a", [{ node: "n1" }]), slice("b", [{ node: "n1" }])],
      {},
      ["10.96.0.10/32", "10.96.0.11/32", "192.0.2.5/32"],
    ],
  ])("%s", (_what, services, slices, settings, expected) => {
    expect(routes(services, slices, settings)).toEqual(expected);
  });

  it("the node name matched is the Kubernetes one (CALICO_K8S_NODE_REF)", () => {
    const s = [svc("a", { clusterIP: "10.96.0.10", ...local })];
    expect(routes(s, [slice("a", [{ node: "k8s-n1" }])], { nodeName: "k8s-n1" })).toEqual(["10.96.0.10/32"]);
  });

  it("names the Services behind each prefix", () => {
    const r = computeServiceRoutes(
      [
        svc("a", { clusterIP: "10.96.0.10", externalIPs: ["192.0.2.5"], ...local }),
        svc("b", { clusterIP: "10.96.0.11", externalIPs: ["192.0.2.5"], ...local }),
      ].map(serviceInput),
      [slice("a", [{ node: "n1" }]), slice("b", [{ node: "n1" }])].flatMap(
        (x) => endpointSliceInput(x) ?? [],
      ),
      base,
    );
    expect(r.find((x) => formatCidr(x.cidr) === "192.0.2.5/32")?.services).toEqual([
      "default/a",
      "default/b",
    ]);
  });

  it("an EndpointSlice without the service-name label is ignored", () => {
    const s = slice("a", [{ node: "n1" }]);
    expect(endpointSliceInput({ ...s, metadata: { name: "x", namespace: "default" } })).toBeUndefined();
  });
});
