// Route reflection (RFC 4456): tabby reflecting between a BIRD and an FRR client, and tabby as a client
// of an FRR route reflector. ORIGINATOR_ID, CLUSTER_LIST and the original next hop checked on the clients.
import { expect, it } from "vitest";
import { connectToBridge, Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { Frr } from "../../harness/peers/frr.js";
import { describeWith } from "../../harness/requirements.js";
import type { Scope } from "../../harness/scope.js";
import { testScope } from "../../harness/scope.js";
import { startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

/** One L2 segment (bridge) with three hosts: 10.0.0.1, 10.0.0.2, 10.0.0.3. */
async function segment(scope: Scope) {
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const hosts: Netns[] = [];
  for (let i = 1; i <= 3; i++) {
    const ns = await Netns.create(scope);
    await connectToBridge(sw, "br0", `p${i}`, { ns, name: "eth0", addresses: [`10.0.0.${i}/24`] });
    hosts.push(ns);
  }
  return hosts as [Netns, Netns, Netns];
}

describeWith(["root", "iproute2", "bird", "frr"], "route reflection", () => {
  it("tabby reflects between a BIRD client and an FRR client", async () => {
    const scope = testScope();
    const [c1, rr, c3] = await segment(scope);
    const tabby = await startTabby(scope, rr, {
      routerId: "10.0.0.2",
      asn: 65000,
      clusterId: "10.0.0.100",
      listen: { address: "0.0.0.0" },
      peers: [
        { address: "10.0.0.1", asn: 65000, routeReflectorClient: true, passive: true },
        { address: "10.0.0.3", asn: 65000, routeReflectorClient: true, passive: true },
      ],
    });
    const bird = await Bird.start(scope, c1, {
      spec: {
        routerId: "10.0.0.1",
        as: 65000,
        neighbors: [{ address: "10.0.0.2", as: 65000 }],
        originate: ["192.0.2.0/24"],
      },
    });
    const frr = await Frr.start(scope, c3, {
      spec: {
        routerId: "10.0.0.3",
        as: 65000,
        neighbors: [{ address: "10.0.0.2", as: 65000 }],
        originate: ["203.0.113.0/24"],
      },
    });
    await waitEstablished(tabby, "10.0.0.1");
    await waitEstablished(tabby, "10.0.0.3");
    // The FRR client's route at the BIRD client: next hop of the originator, reflection attributes.
    const atBird = await bird.waitForRoute("ipv4", "203.0.113.0/24");
    expect(atBird).toMatchObject({
      nextHop: "10.0.0.3",
      originatorId: "10.0.0.3",
      clusterList: ["10.0.0.100"],
      asPath: [],
    });
    await frr.waitForRoute("ipv4", "192.0.2.0/24");
    const [atFrr] = await frr.routeDetail("ipv4", "192.0.2.0/24");
    expect(atFrr).toMatchObject({
      nextHop: "10.0.0.1",
      originatorId: "10.0.0.1",
      clusterList: ["10.0.0.100"],
    });
    // tabby's own view.
    expect(await waitTabbyRoute(tabby, "192.0.2.0/24")).toMatchObject({
      from: "10.0.0.1",
      nextHop: "10.0.0.1",
    });
  });

  it("tabby as a client of an FRR route reflector learns the other client's routes and is reflected", async () => {
    const scope = testScope();
    const [me, rr, other] = await segment(scope);
    await Frr.start(scope, rr, {
      config: `frr defaults traditional
hostname rr
router bgp 65000
 bgp router-id 10.0.0.2
 bgp cluster-id 10.0.0.2
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65000
 neighbor 10.0.0.1 timers connect 1
 neighbor 10.0.0.3 remote-as 65000
 neighbor 10.0.0.3 timers connect 1
 address-family ipv4 unicast
  neighbor 10.0.0.1 route-reflector-client
  neighbor 10.0.0.3 route-reflector-client
 exit-address-family
`,
    });
    const bird = await Bird.start(scope, other, {
      spec: {
        routerId: "10.0.0.3",
        as: 65000,
        neighbors: [{ address: "10.0.0.2", as: 65000 }],
        originate: ["203.0.113.0/24"],
      },
    });
    const tabby = await startTabby(scope, me, {
      routerId: "10.0.0.1",
      asn: 65000,
      listen: { address: "0.0.0.0" },
      peers: [{ address: "10.0.0.2", asn: 65000, families: ["ipv4"] }],
      originate: [{ prefix: "192.0.2.0/24" }],
    });
    await waitEstablished(tabby, "10.0.0.2");
    const learned = await waitTabbyRoute(tabby, "203.0.113.0/24");
    expect(learned).toMatchObject({
      nextHop: "10.0.0.3",
      originatorId: "10.0.0.3",
      clusterList: ["10.0.0.2"],
      from: "10.0.0.2",
    });
    const atBird = await bird.waitForRoute("ipv4", "192.0.2.0/24");
    expect(atBird).toMatchObject({
      nextHop: "10.0.0.1",
      originatorId: "10.0.0.1",
      clusterList: ["10.0.0.2"],
    });
  });
});
