/**
 * BGPPeer.localWorkloadSelector end to end: one node running `tabby node run`, two pods on it, and a
 * BIRD inside the pod labelled `app: bgp-speaker`, dialling the node (the node's side is passive, as
 * Calico renders `Local_Workload_<ip_>`). The node learns the /32 service VIP the pod announces and
 * programs it in its kernel via the pod's address; the pod whose labels do not match gets no session
 * until it is relabelled.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { Bird } from "../harness/peers/bird.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { AgentLab, type LabNode, type LabPod } from "./agent-lab.js";

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});
const NODE_IP = "10.0.0.11";
const VIP = "10.96.100.1/32";
const sessionName = (ip: string) => `Local_Workload_${ip.replaceAll(".", "_")}`;

describeWith(["root", "iproute2", "bird"], "node agent: BGPPeer localWorkloadSelector", () => {
  const scope = suiteScope();
  let lab: AgentLab;
  let node: LabNode;
  let speaker: LabPod;
  let web: LabPod;
  let bird: Bird;

  const sessions = async () => (await lab.status(node)).peers;
  /** Sets the Pod's labels (the WorkloadEndpoint's, in Kubernetes mode) with a read and a PUT, as kubectl label does. */
  const label = async (pod: string, app: string) => {
    const path = `/api/v1/namespaces/default/pods/${pod}`;
    const p = await lab.ctl<{ metadata: { labels?: Record<string, string> } }>("kube", "GET", path);
    p.metadata.labels = { ...p.metadata.labels, app };
    const file = join(lab.dir, `pod-${pod}-${app}.json`);
    await writeFile(file, JSON.stringify(p));
    await lab.ctl("kube", "PUT", path, file);
  };

  beforeAll(async () => {
    lab = await AgentLab.create(scope);
    await lab.apply([
      v3("BGPConfiguration", "default", { nodeToNodeMeshEnabled: false, asNumber: 64512 }),
      v3("IPPool", "pool-a", { cidr: "10.65.0.0/16", blockSize: 26, ipipMode: "Never", vxlanMode: "Never" }),
      v3("BGPPeer", "pods", { localWorkloadSelector: "app == 'bgp-speaker'", asNumber: 65100 }),
    ]);
    node = await lab.addNode("n1", NODE_IP);
    await lab.waitReady(node);
    speaker = await lab.addPod(node, "speaker");
    web = await lab.addPod(node, "web");
    await label("speaker", "bgp-speaker");
    await label("web", "web");
    bird = await Bird.start(scope, speaker.ns, {
      spec: {
        routerId: speaker.ip,
        as: 65100,
        // The node is one routed hop away (via 169.254.1.1, the host's proxy ARP).
        neighbors: [{ address: NODE_IP, as: 64512, multihop: 2 }],
        originate: [VIP],
      },
    });
  }, 60_000);

  it("the matching pod's session is Established, passive on the node", async () => {
    const s = await lab.withLog(node, () =>
      eventually(
        async () => {
          const p = (await sessions()).find((x) => x.name === sessionName(speaker.ip));
          return p?.state === "Established" ? p : false;
        },
        { what: `${sessionName(speaker.ip)} Established`, timeoutMs: 15_000, intervalMs: 200 },
      ),
    );
    expect(s.address).toBe(speaker.ip);
    const [birdSide] = await bird.sessions();
    expect(birdSide?.state).toBe("Established");
  });

  it("the node learns the pod's VIP and routes it via the pod", async () => {
    const route = await lab.withLog(node, () =>
      eventually(
        async () => {
          const rs = await node.ns.routes({ filter: [VIP.replace("/32", "")] });
          return rs.find((r) => r.gateway === speaker.ip) ?? false;
        },
        { what: `kernel route ${VIP} via ${speaker.ip}`, timeoutMs: 15_000, intervalMs: 200 },
      ),
    );
    expect(route).toMatchObject({ dst: VIP.replace("/32", ""), gateway: speaker.ip });
  });

  it("the pod whose labels do not match has no session, until it is labelled to match", async () => {
    const names = (await sessions()).map((p) => p.name);
    expect(names).toEqual([sessionName(speaker.ip)]);
    expect((await lab.status(node)).ready).toBe(true); // an idle workload session is no readiness concern
    await label("web", "bgp-speaker");
    await eventually(
      async () => (await sessions()).some((p) => p.name === sessionName(web.ip) && p.state !== "Established"),
      { what: `${sessionName(web.ip)} configured`, timeoutMs: 10_000, intervalMs: 200 },
    );
  });
});
