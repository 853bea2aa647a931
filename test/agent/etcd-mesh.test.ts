/**
 * The node agent on the etcdv3 datastore (a real etcd): two nodes in a node-to-node mesh with a
 * no-encapsulation pool. Calico's Node and WorkloadEndpoint are plain resources in etcd here (no
 * Kubernetes Node or Pod); the agents register, the mesh comes up, the blocks travel over BGP and
 * the pods ping each other. Then a missing Secret for a new peer takes only that peer down, with the
 * reason in status.
 */
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { AgentLab, type LabNode, type LabPod, ping } from "./agent-lab.js";

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

describeWith(["root", "iproute2", "etcd"], "node agent on etcd: a two-node mesh", () => {
  const scope = suiteScope();
  let lab: AgentLab;
  let nodes: LabNode[];
  const pods: LabPod[] = [];

  beforeAll(async () => {
    lab = await AgentLab.create(scope, "etcdv3");
    await lab.apply([v3("IPPool", "pool-e", { cidr: "10.67.0.0/16", blockSize: 26, nodeSelector: "all()" })]);
    nodes = [await lab.addNode("e1", "10.0.0.31"), await lab.addNode("e2", "10.0.0.32")];
    for (const n of nodes) await lab.waitReady(n);
    for (const n of nodes) pods.push(await lab.addPod(n, `${n.name}-a`));
  }, 120_000);

  it("brings up the mesh (the lexicographically larger address dials) and routes the pods over it", async () => {
    const s1 = await lab.status(nodes[0]!);
    const s2 = await lab.status(nodes[1]!);
    expect(s1.peers.map((p) => [p.name, p.state, p.passive])).toEqual([
      ["Mesh_10_0_0_32", "Established", true],
    ]);
    expect(s2.peers.map((p) => [p.name, p.state, p.passive])).toEqual([
      ["Mesh_10_0_0_31", "Established", false],
    ]);
    await eventually(() => ping(pods[0]!.ns, pods[1]!.ip), { what: "e1-a -> e2-a", timeoutMs: 20_000 });
    const learned = (await nodes[0]!.ns.routes()).filter((r) => r.protocol === "bird");
    expect(learned.map((r) => [r.gateway, r.dev])).toEqual([["10.0.0.32", "eth0"]]);
  });

  it("a BGPPeer whose Secret is missing is shut down with the reason; the mesh stays up", async () => {
    const before = (await lab.status(nodes[0]!)).peers.find((p) => p.name === "Mesh_10_0_0_32")!;
    await lab.apply([
      v3("BGPPeer", "needs-secret", {
        peerIP: "10.0.0.77",
        asNumber: 65077,
        password: { secretKeyRef: { name: "bgp-secrets", key: "tor" } },
      }),
    ]);
    const s = await eventually(
      async () => {
        const st = await lab.status(nodes[0]!);
        return st.problems.some((p) => p.address === "10.0.0.77") ? st : false;
      },
      { what: "the missing Secret reported" },
    );
    expect(s.problems.find((p) => p.address === "10.0.0.77")!.reason).toMatch(/bgp-secrets/);
    const mesh = s.peers.find((p) => p.name === "Mesh_10_0_0_32")!;
    expect([mesh.state, mesh.flaps, mesh.since]).toEqual(["Established", before.flaps, before.since]);
  });

  it("a Node with a bad address is named in status; the rest of the node keeps working", async () => {
    await lab.apply([v3("Node", "broken", { bgp: { ipv4Address: "10.0.0.300/24" } })]);
    const s = await eventually(
      async () => {
        const st = await lab.status(nodes[0]!);
        return st.problems.some((p) => p.reason.includes("broken")) ? st : false;
      },
      { what: "the broken Node reported" },
    );
    expect(s.problems.find((p) => p.reason.includes("broken"))!.reason).toContain("10.0.0.300/24");
    expect(s.peers.find((p) => p.name === "Mesh_10_0_0_32")!.state).toBe("Established");
    expect(await ping(pods[0]!.ns, pods[1]!.ip)).toBe(true);
    await lab.ctl("delete", "Node", "broken");
  });

  it("a BGPPeer with reachableBy gets its /32 via that gateway in the node's kernel, and loses it with the peer", async () => {
    const e1 = nodes[0]!;
    const peerRoute = async () =>
      (await e1.ns.routes()).filter((r) => r.dst === "10.9.9.9").map((r) => `${r.gateway} ${r.protocol}`);
    await lab.apply([
      v3("BGPPeer", "tor-loopback", {
        node: "e1",
        peerIP: "10.9.9.9",
        asNumber: 65099,
        reachableBy: "10.0.0.254",
      }),
    ]);
    await eventually(async () => (await peerRoute()).length > 0, { what: "the reachableBy route on e1" });
    // felix's own protocol (80), as Calico's BIRD static route reaches the kernel.
    expect(await peerRoute()).toEqual(["10.0.0.254 80"]);
    await lab.ctl("delete", "BGPPeer", "tor-loopback");
    await eventually(async () => (await peerRoute()).length === 0, { what: "the route gone with the peer" });
  });

  it("SIGTERM: a Cease to every peer, and the routes stay in the kernel", async () => {
    const [e1, e2] = nodes as [LabNode, LabNode];
    const before = (await e2.ns.routes()).filter((r) => r.protocol === "bird" || r.type === "blackhole");
    expect(before.length).toBeGreaterThan(0);
    process.kill(e2.proc!.pid, "SIGTERM");
    expect(await e2.proc!.exited).toBe(0);
    e2.proc = undefined;
    const peer = await eventually(
      async () => {
        const p = (await lab.status(e1)).peers.find((x) => x.name === "Mesh_10_0_0_32")!;
        return p.state !== "Established" ? p : false;
      },
      { what: "e1 to see the session closed" },
    );
    expect(peer.lastError).toMatch(/[Cc]ease|shut/);
    const after = (await e2.ns.routes()).filter((r) => r.protocol === "bird" || r.type === "blackhole");
    expect(after).toEqual(before);
  });
});
