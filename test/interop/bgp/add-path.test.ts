// ADD-PATH send (RFC 7911) from tabby as a route reflector: two ToRs (BIRD) announce the same prefix;
// a BIRD client (`add paths rx`, kernel `merge paths on`) and an FRR client (`maximum-paths ibgp 2`,
// which advertises ADD-PATH receive by default) receive both paths and install ECMP in their kernels.
// One ToR withdraws: the clients are left with the other path alone.
import { expect, it } from "vitest";
import { connectToBridge, Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { Frr } from "../../harness/peers/frr.js";
import { describeWith } from "../../harness/requirements.js";
import type { Scope } from "../../harness/scope.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { startTabby, waitEstablished } from "./lab.js";

const P = "203.0.113.0/24";

/** One L2 segment with hosts 10.0.0.1 .. 10.0.0.n. */
async function segment(scope: Scope, n: number): Promise<Netns[]> {
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const hosts: Netns[] = [];
  for (let i = 1; i <= n; i++) {
    const ns = await Netns.create(scope);
    await connectToBridge(sw, "br0", `p${i}`, { ns, name: "eth0", addresses: [`10.0.0.${i}/24`] });
    hosts.push(ns);
  }
  return hosts;
}

const birdClient = `router id 10.0.0.4;
log stderr all;
protocol device { }
protocol direct { ipv4; interface "eth0"; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; merge paths on; }
protocol bgp reflector {
  local 10.0.0.4 as 65000;
  neighbor 10.0.0.3 as 65000;
  direct;
  connect retry time 1;
  ipv4 { import all; export none; add paths rx; gateway direct; };
}
`;

const frrClient = `frr defaults traditional
hostname client
router bgp 65000
 bgp router-id 10.0.0.5
 no bgp ebgp-requires-policy
 timers bgp 3 9
 neighbor 10.0.0.3 remote-as 65000
 neighbor 10.0.0.3 timers connect 1
 address-family ipv4 unicast
  maximum-paths ibgp 2
 exit-address-family
`;

/** The next hops of the kernel's route to P in `ns` ("" when there is none). */
async function kernelNextHops(ns: Netns): Promise<string[]> {
  const out = (await ns.exec("ip", ["-4", "route", "show", P])).stdout;
  return [...out.matchAll(/via (\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!).sort();
}

describeWith(["root", "iproute2", "bird", "frr"], "ADD-PATH send", () => {
  it("tabby as route reflector gives BIRD and FRR clients both ToRs' paths, and they install ECMP", async () => {
    const scope = testScope();
    const [h1, h2, h3, h4, h5] = (await segment(scope, 5)) as [Netns, Netns, Netns, Netns, Netns];
    const client = (address: string) => ({
      address,
      asn: 65000,
      routeReflectorClient: true,
      passive: true,
      addPathSend: "all" as const,
    });
    const tabby = await startTabby(scope, h3, {
      routerId: "10.0.0.3",
      asn: 65000,
      listen: { address: "0.0.0.0" },
      peers: [
        { address: "10.0.0.1", asn: 65000, routeReflectorClient: true, passive: true },
        { address: "10.0.0.2", asn: 65000, routeReflectorClient: true, passive: true },
        client("10.0.0.4"),
        client("10.0.0.5"),
      ],
    });
    const tor = (ns: Netns, id: string) =>
      Bird.start(scope, ns, {
        spec: { routerId: id, as: 65000, neighbors: [{ address: "10.0.0.3", as: 65000 }], originate: [P] },
      });
    const tor1 = await tor(h1, "10.0.0.1");
    await tor(h2, "10.0.0.2");
    const bird = await Bird.start(scope, h4, { config: birdClient });
    const frr = await Frr.start(scope, h5, { config: frrClient });
    for (const a of ["10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5"]) await waitEstablished(tabby, a);

    // Both paths negotiated and sent to each client.
    const status = (a: string) => tabby.peerStatus().find((p) => p.address === a)!;
    await eventually(() => status("10.0.0.4").prefixes.ipv4.advertised === 2 || undefined, {
      what: `two paths advertised to the BIRD client (${JSON.stringify(status("10.0.0.4").prefixes)})`,
    });
    expect(status("10.0.0.5").prefixes.ipv4.advertised).toBe(2);

    // The clients hold both and install them together.
    await eventually(async () => (await kernelNextHops(h4)).join(",") === "10.0.0.1,10.0.0.2" || undefined, {
      what: "ECMP via both ToRs in the BIRD client's kernel",
      timeoutMs: 20_000,
    });
    await eventually(async () => (await kernelNextHops(h5)).join(",") === "10.0.0.1,10.0.0.2" || undefined, {
      what: "ECMP via both ToRs in the FRR client's kernel",
      timeoutMs: 20_000,
    });
    const frrPaths = JSON.parse(await frr.vtysh(`show ip bgp ${P} json`)) as {
      paths: { nexthops: { ip: string }[] }[];
    };
    expect(frrPaths.paths.map((p) => p.nexthops[0]!.ip).sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
    const birdRoutes = await bird.birdc("show", "route", P);
    expect(birdRoutes).toContain("10.0.0.1");
    expect(birdRoutes).toContain("10.0.0.2");

    // One ToR withdraws: only its path is withdrawn, the clients keep the other.
    await tor1.withdraw(P);
    await eventually(async () => (await kernelNextHops(h4)).join(",") === "10.0.0.2" || undefined, {
      what: "the BIRD client left with the second ToR",
      timeoutMs: 20_000,
    });
    await eventually(async () => (await kernelNextHops(h5)).join(",") === "10.0.0.2" || undefined, {
      what: "the FRR client left with the second ToR",
      timeoutMs: 20_000,
    });
    expect(status("10.0.0.4").prefixes.ipv4.advertised).toBe(1);
  }, 90_000);
});
