/**
 * Recursive next hops, end to end: a BIRD route reflector (iBGP, on the node's segment) passes a route
 * whose next hop, 10.0.9.1, is on no link of the node. Like Calico's BIRD (`gateway recursive`), the
 * agent installs it via the immediate gateway of the node's route covering the next hop: first the
 * default route, then a more specific static route through a router namespace, whose address in the
 * learned prefix then answers pings. Changing the covering route re-programs the learned one; a
 * blackhole over the next hop withdraws it from the kernel, and removing that brings it back.
 */
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { connectToBridge, Netns } from "../harness/netns.js";
import { Bird } from "../harness/peers/bird.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { AgentLab, type LabNode, ping, TOR_IP } from "./agent-lab.js";

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

const NODE_IP = "10.0.0.31";
const ROUTER_IP = "10.0.0.253";
const PREFIX = "10.99.0.0/24";
const NEXT_HOP = "10.0.9.1";

describeWith(
  ["root", "iproute2", "bird", "ping"],
  "node agent: recursive next hops (gateway recursive)",
  () => {
    const scope = suiteScope();
    let lab: AgentLab;
    let node: LabNode;

    beforeAll(async () => {
      lab = await AgentLab.create(scope);
      await lab.apply([
        v3("BGPConfiguration", "default", { nodeToNodeMeshEnabled: true, asNumber: 64512 }),
        v3("IPPool", "pool-r", { cidr: "10.71.0.0/16", blockSize: 26, nodeSelector: "all()" }),
        v3("BGPPeer", "rr", { peerIP: TOR_IP, asNumber: 64512 }),
      ]);
      // A router on the segment that owns an address inside the learned prefix.
      const router = await Netns.create(scope);
      await connectToBridge(lab.sw, "br0", "prtr", {
        ns: router,
        name: "eth0",
        addresses: [`${ROUTER_IP}/24`],
      });
      await router.ip("link", "set", "lo", "up");
      await router.addAddress("lo", "10.99.0.1/32");
      // iBGP keeps a next hop set by the export filter: one the node can only reach through a router.
      await Bird.start(scope, lab.tor, {
        config: [
          `router id ${TOR_IP};`,
          "log stderr all;",
          "protocol device { }",
          `protocol static s4 { ipv4; route ${PREFIX} blackhole; }`,
          "protocol bgp n0 {",
          "  local as 64512;",
          `  neighbor ${NODE_IP} as 64512;`,
          "  direct;",
          "  connect retry time 2; connect delay time 1; error wait time 1, 5;",
          "  graceful restart on;",
          `  ipv4 { import all; export filter { if net = ${PREFIX} then bgp_next_hop = ${NEXT_HOP}; accept; }; };`,
          "}",
          "",
        ].join("\n"),
      });
      node = await lab.addNode("r1", NODE_IP);
      await lab.waitReady(node);
    }, 120_000);

    const learnedRoute = async () => {
      const rs = await node.ns.routes({ filter: [PREFIX] });
      return rs.length === 0 ? "none" : `${rs[0]!.gateway} ${rs[0]!.dev} ${rs[0]!.protocol}`;
    };
    const waitRoute = (want: string, what: string) =>
      lab.withLog(node, () =>
        eventually(async () => ((await learnedRoute()) === want ? true : undefined), {
          what: `${PREFIX} ${what} (${want})`,
          timeoutMs: 30_000,
        }).catch(async (e: Error) => {
          e.message += `; kernel has: ${await learnedRoute()}`;
          throw e;
        }),
      );

    it("installs the learned route via the default route's gateway when nothing more specific covers the next hop", async () => {
      await waitRoute(`${TOR_IP} eth0 bird`, "via the default gateway");
    });

    it("re-programs it via the router when a static route covers the next hop; the prefix answers pings", async () => {
      await node.ns.addRoute("10.0.9.0/24", "via", ROUTER_IP);
      await waitRoute(`${ROUTER_IP} eth0 bird`, "via the static route's gateway");
      expect(await ping(node.ns, "10.99.0.1")).toBe(true);
    });

    it("follows a change of the covering route", async () => {
      await node.ns.ip("route", "replace", "10.0.9.0/24", "via", "10.0.0.252");
      await waitRoute("10.0.0.252 eth0 bird", "via the changed gateway");
    });

    it("withdraws it from the kernel while a blackhole covers the next hop, and brings it back after", async () => {
      await node.ns.ip("route", "replace", "blackhole", "10.0.9.0/24");
      await waitRoute("none", "gone");
      const s = await lab.status(node);
      expect(JSON.stringify(s)).toContain(`next hop ${NEXT_HOP} is unresolvable`);
      await node.ns.ip("route", "del", "blackhole", "10.0.9.0/24");
      await waitRoute(`${TOR_IP} eth0 bird`, "back via the default gateway");
    });
  },
);
