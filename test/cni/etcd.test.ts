/**
 * tabby-cni on the etcdv3 datastore (a real etcd), where the plugin records each workload as a
 * WorkloadEndpoint, as Calico's plugin does there: a kubelet-style call (K8S_POD_* in CNI_ARGS) on one
 * node and a plain CNI call (podman's shape, no K8S_POD_*) on another, both through the agents' fast
 * path; the two pods reach each other over the BGP-announced blocks; CHECK notices a missing endpoint;
 * DEL removes endpoints, handles and veths.
 */
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { hostInterfaceName } from "../../src/datastore/kubernetes/workload-mapping.js";
import { type LabNode, ping } from "../agent/agent-lab.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope, testScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { type CniEnv, CniLab } from "./cni-lab.js";

const NETWORK = "k8s-pod-network";

describeWith(["root", "iproute2", "ping", "etcd"], "tabby-cni on etcd writes WorkloadEndpoints", () => {
  const scope = suiteScope();
  let cni: CniLab;
  let e1: LabNode;
  let e2: LabNode;

  const conf = (on: LabNode) => ({ cniVersion: "1.0.0", name: NETWORK, ...cni.conflistPlugin(on) });

  async function endpoints(): Promise<Resource[]> {
    return cni.lab.ctl<Resource[]>("list", "WorkloadEndpoint");
  }

  const handles = () => cni.handles();
  const caliLinks = (on: LabNode) => cni.caliLinks(on);

  beforeAll(async () => {
    cni = await CniLab.create(scope, "etcdv3");
    e1 = await cni.lab.addNode("e1", "10.0.0.41");
    e2 = await cni.lab.addNode("e2", "10.0.0.42");
    await cni.lab.waitReady(e1);
    await cni.lab.waitReady(e2);
    await cni.apply([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "etcd-pool" },
        spec: { cidr: "10.75.0.0/24", blockSize: 28, ipipMode: "Never", vxlanMode: "Never" },
      },
    ]);
  }, 120_000);

  it("records a kubelet pod and a plain CNI container as Calico's WorkloadEndpoints; they ping across nodes; DEL removes all", {
    timeout: 180_000,
  }, async () => {
    const podSandbox = await cni.sandbox(testScope());
    const podId = `d1${"b".repeat(30)}`;
    const podEnv: CniEnv = {
      command: "ADD",
      containerId: podId,
      netns: `/run/netns/${podSandbox.name}`,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=${podId};K8S_POD_UID=u1`,
    };
    const podAdd = await cni.exec(e1, "tabby-cni", podEnv, conf(e1));
    expect(podAdd.code, podAdd.stdout).toBe(0);
    const podIp = (podAdd.json.ips[0].address as string).split("/")[0]!;

    const ctrSandbox = await cni.sandbox(testScope());
    const ctrId = `e2${"c".repeat(62)}`;
    const ctrEnv: CniEnv = { command: "ADD", containerId: ctrId, netns: `/run/netns/${ctrSandbox.name}` };
    const ctrAdd = await cni.exec(e2, "tabby-cni", ctrEnv, conf(e2));
    expect(ctrAdd.code, ctrAdd.stdout).toBe(0);
    const ctrIp = (ctrAdd.json.ips[0].address as string).split("/")[0]!;

    const weps = new Map((await endpoints()).map((w) => [`${w.metadata.namespace}/${w.metadata.name}`, w]));
    const podWep = weps.get("shop/e1-k8s-web-eth0");
    expect(podWep?.metadata.labels).toMatchObject({
      "projectcalico.org/namespace": "shop",
      "projectcalico.org/orchestrator": "k8s",
    });
    expect(podWep?.spec).toEqual({
      orchestrator: "k8s",
      node: "e1",
      pod: "web",
      endpoint: "eth0",
      containerID: podId,
      ipNetworks: [`${podIp}/32`],
      interfaceName: hostInterfaceName("shop", "web"),
      mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
      profiles: ["kns.shop"],
    });
    const ctrWep = weps.get(`default/e2-cni-${ctrId}-eth0`);
    expect(ctrWep?.spec).toMatchObject({
      orchestrator: "cni",
      node: "e2",
      workload: ctrId,
      containerID: ctrId,
      ipNetworks: [`${ctrIp}/32`],
      interfaceName: `cali${ctrId.slice(0, 11)}`,
    });
    expect(await handles()).toEqual([`${NETWORK}.${ctrId}`, `${NETWORK}.${podId}`].sort());

    // Each node announces its own block; the two workloads reach each other through them.
    await eventually(() => ping(podSandbox, ctrIp), { what: `web (e1) -> ${ctrIp} (e2)`, timeoutMs: 30_000 });
    expect(await ping(ctrSandbox, podIp)).toBe(true);

    // CHECK reads the endpoint back: clean now, and names it once it is gone.
    const check = () =>
      cni.exec(e2, "tabby-cni", { ...ctrEnv, command: "CHECK" }, { ...conf(e2), prevResult: ctrAdd.json });
    expect((await check()).code).toBe(0);
    await cni.lab.ctl("delete", "WorkloadEndpoint", `e2-cni-${ctrId}-eth0`, "default");
    const missing = await check();
    expect([missing.code, missing.json.code]).toEqual([1, 999]);
    expect(missing.json.msg).toBe(`WorkloadEndpoint e2-cni-${ctrId}-eth0 is missing`);

    for (const [on, env] of [
      [e1, podEnv],
      [e2, ctrEnv],
    ] as const) {
      const d = await cni.exec(on, "tabby-cni", { ...env, command: "DEL" }, conf(on));
      expect(d.code, d.stdout).toBe(0);
    }
    expect(await endpoints()).toEqual([]);
    expect(await handles()).toEqual([]);
    expect([...(await caliLinks(e1)), ...(await caliLinks(e2))]).toEqual([]);
  });
});
