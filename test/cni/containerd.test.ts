/**
 * Real containerd's CRI plugin networking pods through tabby-cni, exactly as kubelet makes it do:
 * RunPodSandbox (containerd creates the netns and calls ADD with K8S_POD_* in CNI_ARGS),
 * PodSandboxStatus (the address containerd took from our result), StopPodSandbox (DEL),
 * RemovePodSandbox, and a hostPort through portmap. One lab node with its agent, the embedded API server holding the Pods.
 */
import { beforeAll, expect, it } from "vitest";
import { hostInterfaceName } from "../../src/datastore/kubernetes/workload-mapping.js";
import { type LabNode, ping } from "../agent/agent-lab.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { CniLab } from "./cni-lab.js";
import { Containerd } from "./containerd.js";

const NETWORK = "k8s-pod-network";

describeWith(["root", "iproute2", "ping", "containerd"], "containerd's CRI drives tabby-cni", () => {
  const scope = suiteScope();
  let cni: CniLab;
  let node: LabNode;
  let ctrd: Containerd;

  const handles = () => cni.handles();
  const caliLinks = () => cni.caliLinks(node);

  beforeAll(async () => {
    cni = await CniLab.create(scope);
    await cni.createObjects([{ apiVersion: "v1", kind: "Node", metadata: { name: "k1" }, spec: {} }]);
    node = await cni.lab.addNode("k1", "10.0.0.51");
    await cni.lab.waitReady(node);
    await cni.apply([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "cri-pool" },
        spec: { cidr: "10.76.0.0/24", blockSize: 28, ipipMode: "Never", vxlanMode: "Never" },
      },
    ]);
    ctrd = await Containerd.start(scope, node, cni.binDir, {
      cniVersion: "1.0.0",
      name: NETWORK,
      plugins: [
        cni.conflistPlugin(node),
        { type: "portmap", snat: true, capabilities: { portMappings: true } },
      ],
    });
  }, 180_000);

  it("RunPodSandbox networks the pod as kubelet expects, its hostPort answers through portmap; StopPodSandbox releases it", {
    timeout: 120_000,
  }, async () => {
    expect((await ctrd.version()).runtimeName).toBe("containerd");
    await cni.createObjects([
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace: "default", uid: "uid-web" },
        spec: { nodeName: "k1", containers: [{ name: "c", image: "none" }] },
      },
    ]);
    const id = await ctrd.runPodSandbox({
      name: "web",
      namespace: "default",
      uid: "uid-web",
      hostPorts: [{ containerPort: 8080, hostPort: 18081, hostIp: node.ip }],
    });
    const st = await ctrd.status(id);
    expect(st.state).toBe("SANDBOX_READY");
    const ip = st.network?.ip ?? "";
    expect(ip).toMatch(/^10\.76\.0\.\d+$/);

    // What the plugin did with containerd's CNI_ARGS: the pod's handle, annotations and veth.
    expect(await handles()).toContain(`${NETWORK}.${id}`);
    const pod = await cni.kube("GET", "/api/v1/namespaces/default/pods/web");
    expect(pod.metadata.annotations["cni.projectcalico.org/podIP"]).toBe(`${ip}/32`);
    expect(pod.metadata.annotations["cni.projectcalico.org/containerID"]).toBe(id);
    expect(await caliLinks()).toEqual([hostInterfaceName("default", "web")]);
    expect(await ping(node.ns, ip)).toBe(true);
    // The pod's hostPort, which containerd hands to portmap (chained after tabby-cni) as a capability,
    // answers from outside the node.
    const got = await eventually(
      async () => {
        const r = await cni.lab.api.exec(
          "bash",
          ["-c", `exec 3<>/dev/tcp/${node.ip}/18081; timeout 2 cat <&3`],
          {
            allowFailure: true,
          },
        );
        return r.stdout.includes("hello") ? r.stdout.trim() : undefined;
      },
      { what: "hello from the pod's hostPort", timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(got).toBe("hello");

    await ctrd.stopPodSandbox(id);
    expect(await handles()).not.toContain(`${NETWORK}.${id}`);
    expect(await caliLinks()).toEqual([]);
    expect(
      (await cni.kube("GET", "/api/v1/namespaces/default/pods/web")).metadata.annotations?.[
        "cni.projectcalico.org/podIP"
      ] ?? "",
    ).toBe("");
    await ctrd.removePodSandbox(id);
  });
});
