import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { workloadEndpoint, workloadFor } from "../../../src/cni/workload.js";

const k8sArgs = (pod: string, namespace: string) =>
  new Map([
    ["IgnoreUnknown", "1"],
    ["K8S_POD_NAMESPACE", namespace],
    ["K8S_POD_NAME", pod],
    ["K8S_POD_INFRA_CONTAINER_ID", "0123abcd"],
  ]);
/** Calico's VethNameForWorkload, computed here independently of the code under test. */
const calicoVeth = (namespace: string, pod: string) =>
  `cali${createHash("sha1").update(`${namespace}.${pod}`).digest("hex").slice(0, 11)}`;

describe("workloadFor under Kubernetes", () => {
  it("names the endpoint <node>-k8s-<pod>-<iface> and the veth cali + sha1(<ns>.<pod>)[:11]", () => {
    const w = workloadFor("n1", "0123abcd", "eth0", k8sArgs("web", "default"));
    expect(w).toEqual({
      orchestrator: "k8s",
      node: "n1",
      namespace: "default",
      workload: "web",
      containerId: "0123abcd",
      endpoint: "eth0",
      // Golden: python3 -c 'import hashlib; print(hashlib.sha1(b"default.web").hexdigest()[:11])'
      hostIfName: "cali68caf03a5f4",
      endpointName: "n1-k8s-web-eth0",
    });
    expect(w.hostIfName).toBe(calicoVeth("default", "web"));
    expect(w.hostIfName.length).toBeLessThanOrEqual(15);
  });

  it("doubles the dashes inside each part, as libcalico-go's escapeDashes does", () => {
    const w = workloadFor("node-1", "c1", "eth0", k8sArgs("coredns-7db6d8ff4d-x2x9z", "kube-system"));
    expect(w.endpointName).toBe("node--1-k8s-coredns--7db6d8ff4d--x2x9z-eth0");
    expect(w.hostIfName).toBe("calie78978f7208");
    expect(w.hostIfName).toBe(calicoVeth("kube-system", "coredns-7db6d8ff4d-x2x9z"));
    expect(w.namespace).toBe("kube-system");
  });

  it("hashes the namespace too, so one pod name in two namespaces gets two veths", () => {
    const a = workloadFor("n1", "c1", "eth0", k8sArgs("web", "default"));
    const b = workloadFor("n1", "c2", "eth0", k8sArgs("web", "prod"));
    expect(a.hostIfName).not.toBe(b.hostIfName);
    expect(a.endpointName).toBe(b.endpointName);
    expect(b.hostIfName).toBe(calicoVeth("prod", "web"));
  });

  it("names the endpoint after a non-default container interface (Multus), keeping the pod's veth name", () => {
    const w = workloadFor("n1", "c1", "net1", k8sArgs("web", "default"));
    expect(w.endpoint).toBe("net1");
    expect(w.endpointName).toBe("n1-k8s-web-net1");
    expect(w.hostIfName).toBe(calicoVeth("default", "web"));
  });

  it("is Kubernetes only when both K8S_POD_NAMESPACE and K8S_POD_NAME are set, as in Calico", () => {
    const podOnly = workloadFor("n1", "0123abcd", "eth0", new Map([["K8S_POD_NAME", "web"]]));
    expect(podOnly.orchestrator).toBe("cni");
    expect(podOnly.endpointName).toBe("n1-cni-0123abcd-eth0");
    const nsOnly = workloadFor("n1", "0123abcd", "eth0", new Map([["K8S_POD_NAMESPACE", "prod"]]));
    expect(nsOnly.namespace).toBe("default");
  });
});

describe("workloadFor outside Kubernetes (podman, containerd without kubelet)", () => {
  it("names the endpoint <node>-cni-<containerID>-<iface> and the veth cali + the ID's first 11 chars", () => {
    const id = "9f86d081884c7d659a2feaa0c55ad015";
    const w = workloadFor("n1", id, "eth0", new Map());
    expect(w).toEqual({
      orchestrator: "cni",
      node: "n1",
      namespace: "default",
      workload: id,
      containerId: id,
      endpoint: "eth0",
      hostIfName: "cali9f86d081884",
      endpointName: `n1-cni-${id}-eth0`,
    });
  });

  it("uses a short container ID whole, and doubles dashes in every part", () => {
    const w = workloadFor("node-1", "abc-1", "eth-0", new Map());
    expect(w.hostIfName).toBe("caliabc-1");
    expect(w.endpointName).toBe("node--1-cni-abc--1-eth--0");
  });
});

describe("workloadEndpoint", () => {
  it("builds the projectcalico.org/v3 WorkloadEndpoint of a pod", () => {
    const w = workloadFor("n1", "0123abcd", "eth0", k8sArgs("web", "default"));
    const networks = ["10.244.1.5/32", "fd00::5/128"];
    const r = workloadEndpoint(w, networks, "ee:ee:ee:ee:ee:ee", { app: "web" });
    expect(r).toEqual({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: {
        name: "n1-k8s-web-eth0",
        namespace: "default",
        labels: {
          app: "web",
          "projectcalico.org/namespace": "default",
          "projectcalico.org/orchestrator": "k8s",
        },
      },
      spec: {
        orchestrator: "k8s",
        node: "n1",
        pod: "web",
        endpoint: "eth0",
        containerID: "0123abcd",
        ipNetworks: ["10.244.1.5/32", "fd00::5/128"],
        interfaceName: "cali68caf03a5f4",
        mac: "ee:ee:ee:ee:ee:ee",
        profiles: ["kns.default"],
      },
    });
    expect((r.spec as { ipNetworks: string[] }).ipNetworks).not.toBe(networks);
  });

  it("does not let pod labels override Calico's own labels", () => {
    const w = workloadFor("n1", "c1", "eth0", k8sArgs("web", "prod"));
    const r = workloadEndpoint(w, [], "", {
      "projectcalico.org/namespace": "evil",
      "projectcalico.org/orchestrator": "cni",
    });
    expect(r.metadata.labels).toEqual({
      "projectcalico.org/namespace": "prod",
      "projectcalico.org/orchestrator": "k8s",
    });
  });

  it("leaves mac out when it is not known", () => {
    const w = workloadFor("n1", "c1", "eth0", k8sArgs("web", "default"));
    expect("mac" in (workloadEndpoint(w, [], "").spec as object)).toBe(false);
  });

  it("records a non-Kubernetes workload by container ID, without a namespace profile", () => {
    const w = workloadFor("n1", "9f86d081884c7d65", "eth0", new Map());
    const r = workloadEndpoint(w, ["10.244.1.9/32"], "");
    expect(r.metadata).toMatchObject({ name: "n1-cni-9f86d081884c7d65-eth0", namespace: "default" });
    expect(r.metadata.labels?.["projectcalico.org/orchestrator"]).toBe("cni");
    const spec = r.spec as Record<string, unknown>;
    expect(spec).toMatchObject({
      orchestrator: "cni",
      workload: "9f86d081884c7d65",
      interfaceName: "cali9f86d081884",
      profiles: [],
    });
    expect("pod" in spec).toBe(false);
  });
});
