/**
 * CrossSubnet with the BGP backend: two nodes on one segment and a third behind a router on another
 * subnet, a VXLAN CrossSubnet pool, the node-to-node mesh across the router. Felix routes the pool's
 * blocks from the datastore (VXLAN pools are always felix's): directly to the node on the same
 * subnet, through vxlan.calico to the node behind the router, which the underlay cannot route pod
 * addresses to. Pods on all three ping each other.
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

describeWith(["root", "iproute2"], "node agent: CrossSubnet across a router", () => {
  const scope = suiteScope();
  let lab: AgentLab;
  let nodes: LabNode[];
  const pods: LabPod[] = [];

  beforeAll(async () => {
    lab = await AgentLab.create(scope);
    await lab.apply([
      v3("IPPool", "pool-x", {
        cidr: "10.68.0.0/16",
        blockSize: 26,
        vxlanMode: "CrossSubnet",
        nodeSelector: "all()",
      }),
    ]);
    nodes = [
      await lab.addNode("c1", "10.0.0.41"),
      await lab.addNode("c2", "10.0.0.42"),
      await lab.addNode("c3", "10.0.1.43", {}, true),
    ];
    for (const n of nodes) await lab.waitReady(n);
    for (const n of nodes) pods.push(await lab.addPod(n, `${n.name}-a`));
  }, 150_000);

  it("routes directly inside the subnet and through VXLAN across it; pods ping everywhere", async () => {
    const [p1, p2, p3] = pods as [LabPod, LabPod, LabPod];
    for (const [a, b] of [
      [p1, p2],
      [p1, p3],
      [p3, p2],
    ] as const) {
      await eventually(() => ping(a.ns, b.ip), { what: `${a.name} -> ${b.name}`, timeoutMs: 20_000 });
    }
    const routes = await nodes[0]!.ns.routes();
    const to = (ip: string) => {
      const block = `${ip.split(".").slice(0, 3).join(".")}.`;
      return routes.find((r) => String(r.dst).startsWith(block) && String(r.dst).endsWith("/26"));
    };
    expect([to(p2.ip)?.dev, to(p2.ip)?.gateway]).toEqual(["eth0", "10.0.0.42"]);
    expect(to(p3.ip)?.dev).toBe("vxlan.calico");
    const s = await lab.status(nodes[2]!);
    expect(s.peers.map((p) => `${p.name} ${p.state}`).sort()).toEqual([
      "Mesh_10_0_0_41 Established",
      "Mesh_10_0_0_42 Established",
    ]);
  });
});
