/**
 * The `vxlan` networking backend (no BGP at all, as Calico's VXLAN-only installs): two nodes each
 * running `tabby node run`, a VXLAN Always pool. Each agent gives its node a VXLAN tunnel address
 * from the pool through IPAM (handle vxlan-tunnel-addr-<node>) and a VTEP MAC on the Node resource;
 * routes to the other node's blocks come from the datastore alone, through vxlan.calico. Also: a
 * BGPPeer in this cluster opens no session, and a pool change (VXLAN off) releases the tunnel address.
 */
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import type { NodeSpec } from "../../src/api/node.js";
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

describeWith(["root", "iproute2"], "node agent: the vxlan backend (no BGP)", () => {
  const scope = suiteScope();
  let lab: AgentLab;
  let nodes: LabNode[];
  const pods: LabPod[] = [];

  beforeAll(async () => {
    lab = await AgentLab.create(scope);
    await lab.apply([
      v3("IPPool", "pool-vx", {
        cidr: "10.66.0.0/16",
        blockSize: 26,
        vxlanMode: "Always",
        nodeSelector: "all()",
      }),
      v3("BGPPeer", "ignored", { peerIP: "10.0.0.254", asNumber: 65000 }),
    ]);
    nodes = [
      await lab.addNode("v1", "10.0.0.21", { CALICO_NETWORKING_BACKEND: "vxlan" }),
      await lab.addNode("v2", "10.0.0.22", { CALICO_NETWORKING_BACKEND: "vxlan" }),
    ];
    for (const n of nodes) await lab.waitReady(n);
    for (const n of nodes) pods.push(await lab.addPod(n, `${n.name}-a`));
  }, 120_000);

  it("gives each node a VXLAN tunnel address from the pool and a VTEP MAC, and opens no BGP session", async () => {
    const registered = await eventually(
      async () => {
        const ns = await lab.ctl<Resource[]>("list", "Node");
        return ns.every((n) => (n.spec as NodeSpec).ipv4VXLANTunnelAddr !== undefined) ? ns : false;
      },
      { what: "both Nodes to get a VXLAN tunnel address" },
    );
    for (const n of registered) {
      const s = n.spec as NodeSpec;
      expect(s.ipv4VXLANTunnelAddr).toMatch(/^10\.66\./);
      expect(s.vxlanTunnelMACAddr).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    for (const n of nodes) expect((await lab.status(n)).peers).toEqual([]);
  });

  it("pods ping across nodes through vxlan.calico, routed from the datastore's blocks", async () => {
    await eventually(() => ping(pods[0]!.ns, pods[1]!.ip), {
      what: "v1-a -> v2-a over VXLAN",
      timeoutMs: 20_000,
    });
    const routes = await nodes[0]!.ns.routes();
    const remote = routes.filter((r) => r.dev === "vxlan.calico" && String(r.dst).startsWith("10.66."));
    expect(remote.length).toBeGreaterThan(0);
    expect(remote.every((r) => r.protocol === "80" || r.protocol === 80)).toBe(true);
  });

  it("turning VXLAN off in the pool releases the node's tunnel address", async () => {
    await lab.apply([
      v3("IPPool", "pool-vx", {
        cidr: "10.66.0.0/16",
        blockSize: 26,
        vxlanMode: "Never",
        nodeSelector: "all()",
      }),
    ]);
    await eventually(
      async () => {
        const ns = await lab.ctl<Resource[]>("list", "Node");
        return ns.every((n) => (n.spec as NodeSpec).ipv4VXLANTunnelAddr === undefined);
      },
      { what: "the VXLAN tunnel addresses to be released" },
    );
    const handles = await lab.ctl<Resource[]>("list", "IPAMHandle");
    expect(handles.map((h) => h.metadata.name).filter((n) => n.startsWith("vxlan-tunnel-addr-"))).toEqual([]);
  });
});
