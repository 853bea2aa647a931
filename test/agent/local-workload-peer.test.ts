/**
 * BGPPeer.localWorkloadSelector end to end: one node running `tabby node run`, two pods on it, and a
 * BIRD inside the pod labelled `app: bgp-speaker`, dialling the node (the node's side is passive, as
 * Calico renders `Local_Workload_<ip_>`) at BGPConfiguration's localWorkloadPeeringIPV4, which felix puts
 * on the pod's cali* as a /32 with scope link (Calico's endpoint manager). The node learns the /32
 * service VIP the pod announces and programs it in its kernel via the pod's address; the pod whose
 * labels do not match gets no session (and no address) until it is relabelled; deleting the BGPPeer
 * takes the addresses away.
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
/** The link-local address Calico's own tests use (felix/dataplane/linux/endpoint_mgr_test.go). */
const PEERING_IP = "169.254.0.179";
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
  /** IPv4 addresses on a pod's host-side interface, as `ip -j addr show` gives them. */
  const addrsOn = async (pod: LabPod) => {
    const out = await node.ns.ip("-j", "-4", "addr", "show", "dev", pod.ifName);
    const [link] = JSON.parse(out.stdout) as {
      addr_info?: { local: string; prefixlen: number; scope: string }[];
    }[];
    return (link?.addr_info ?? []).map((a) => ({ local: a.local, prefixlen: a.prefixlen, scope: a.scope }));
  };
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
      v3("BGPConfiguration", "default", {
        nodeToNodeMeshEnabled: false,
        asNumber: 64512,
        localWorkloadPeeringIPV4: PEERING_IP,
      }),
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
        // The node's peering address is one routed hop away (via 169.254.1.1, the host's proxy ARP).
        neighbors: [{ address: PEERING_IP, as: 64512, multihop: 2 }],
        originate: [VIP],
      },
    });
  }, 60_000);

  it("felix puts the peering address on the matching pod's cali, scope link, and only there", async () => {
    const a = await lab.withLog(node, () =>
      eventually(
        async () => {
          const got = await addrsOn(speaker);
          return got.some((x) => x.local === PEERING_IP) ? got : false;
        },
        { what: `${PEERING_IP} on ${speaker.ifName}`, timeoutMs: 15_000, intervalMs: 200 },
      ),
    );
    expect(a).toEqual([{ local: PEERING_IP, prefixlen: 32, scope: "link" }]);
    expect(await addrsOn(web)).toEqual([]);
  });

  it("the matching pod's session to the peering address is Established, passive on the node", async () => {
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
    expect(birdSide).toMatchObject({ neighbor: PEERING_IP, state: "Established" });
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
    await eventually(async () => (await addrsOn(web)).some((x) => x.local === PEERING_IP), {
      what: `${PEERING_IP} on ${web.ifName}`,
      timeoutMs: 10_000,
      intervalMs: 200,
    });
  });

  it("deleting the BGPPeer removes the sessions and the peering address from both pods' interfaces", async () => {
    await lab.ctl("delete", "BGPPeer", "pods");
    await lab.withLog(node, () =>
      eventually(
        async () =>
          (await sessions()).length === 0 &&
          (await addrsOn(speaker)).length === 0 &&
          (await addrsOn(web)).length === 0,
        {
          what: `no sessions and no ${PEERING_IP} on the pods' interfaces`,
          timeoutMs: 15_000,
          intervalMs: 200,
        },
      ),
    );
    // The pod's own address is untouched: only the peering address was felix's to remove.
    const pod = JSON.parse((await speaker.ns.ip("-j", "-4", "addr", "show", "dev", "eth0")).stdout) as {
      addr_info: { local: string }[];
    }[];
    expect(pod[0]?.addr_info.map((x) => x.local)).toEqual([speaker.ip]);
  });
});
