// tabby's speaker against BIRD 2: eBGP and iBGP, IPv4 and IPv6 over one session, both directions,
// withdraws and attribute fidelity, checked on both sides (tabby's RIB and birdc).
import { expect, it } from "vitest";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { oneSessionConfig, pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const birdConfig = (asn: number, tabbyAs: number) => `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static s4 { ipv4; route 203.0.113.0/24 blackhole; route 198.51.100.0/24 blackhole; }
protocol static s6 { ipv6; route 2001:db8:b::/48 blackhole; }
filter tagged {
  if source = RTS_STATIC then {
    bgp_community.add((${asn},200));
    bgp_large_community.add((${asn},3,4));
    bgp_med = 33;
    ${asn === tabbyAs ? "bgp_local_pref = 250;" : ""}
    accept;
  }
  reject;
}
protocol bgp tabby {
  local 10.0.0.2 as ${asn};
  neighbor 10.0.0.1 as ${tabbyAs};
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ${asn === tabbyAs ? "direct;" : ""}
  ipv4 { import all; export filter tagged; };
  ipv6 { import all; export filter tagged; next hop address fd00::2; };
}
`;

describeWith(["root", "iproute2", "bird"], "tabby <-> BIRD 2", () => {
  for (const mode of ["ebgp", "ibgp"] as const) {
    it(`${mode}: IPv4 and IPv6 over one session, both ways, attributes kept, withdraws travel`, async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      const peerAs = mode === "ebgp" ? 65002 : 65001;
      const bird = await Bird.start(scope, b, { config: birdConfig(peerAs, 65001) });
      const tabby = await startTabby(scope, a, oneSessionConfig(peerAs, mode));
      await waitEstablished(tabby, "10.0.0.2");
      await bird.waitForSession("10.0.0.1");

      // tabby -> BIRD
      const v4 = await bird.waitForRoute("ipv4", "192.0.2.0/24");
      expect(v4).toMatchObject({
        nextHop: "10.0.0.1",
        asPath: mode === "ebgp" ? [65001] : [],
        communities: ["65001:100"],
        largeCommunities: ["65001:1:2"],
        med: 7,
        ...(mode === "ibgp" ? { localPref: 300 } : {}),
      });
      const v6 = await bird.waitForRoute("ipv6", "2001:db8:a::/48");
      expect(v6).toMatchObject({ nextHop: "fd00::1", communities: ["65001:101"] });

      // BIRD -> tabby
      const r4 = await waitTabbyRoute(tabby, "203.0.113.0/24");
      expect(r4).toMatchObject({
        nextHop: "10.0.0.2",
        asPath: mode === "ebgp" ? "65002" : "",
        communities: ["65002:200".replace("65002", String(peerAs))],
        largeCommunities: [`${peerAs}:3:4`],
        med: 33,
        ...(mode === "ibgp" ? { localPref: 250 } : {}),
      });
      expect(await waitTabbyRoute(tabby, "2001:db8:b::/48")).toMatchObject({ nextHop: "fd00::2" });
      const status = tabby.peerStatus()[0]!;
      expect(status).toMatchObject({
        state: "Established",
        type: mode,
        families: expect.arrayContaining(["ipv4", "ipv6"]),
      });
      // Routes are not sent back to the peer they came from (as BIRD and GoBGP do): only ours goes out.
      expect(status.prefixes.ipv4).toMatchObject({ received: 2, accepted: 2, advertised: 1 });

      // Withdraws both ways.
      tabby.withdrawOriginated("192.0.2.0/24");
      await bird.waitForRoute("ipv4", "192.0.2.0/24", { gone: true });
      await bird.birdc("disable", "s4");
      await waitTabbyRoute(tabby, "203.0.113.0/24", { gone: true });
      await waitTabbyRoute(tabby, "198.51.100.0/24", { gone: true });
      expect(await waitTabbyRoute(tabby, "2001:db8:b::/48")).toBeDefined();
    });
  }

  it("RFC 8212: an eBGP peer without policies exchanges nothing", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const bird = await Bird.start(scope, b, { config: birdConfig(65002, 65001) });
    const tabby = await startTabby(scope, a, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "::" },
      peers: [{ address: "10.0.0.2", asn: 65002 }],
      originate: [{ prefix: "192.0.2.0/24" }],
    });
    await waitEstablished(tabby, "10.0.0.2");
    await bird.waitForSession("10.0.0.1");
    // BIRD's routes arrive (so the session carries them) but are not accepted; nothing goes out.
    const { eventually } = await import("../../harness/wait.js");
    await eventually(() => tabby.peerStatus()[0]!.prefixes.ipv4.received === 2, {
      what: "BIRD's routes to be received",
    });
    expect(tabby.peerStatus()[0]!.prefixes.ipv4).toMatchObject({ received: 2, accepted: 0, advertised: 0 });
    expect(tabby.ribEntries("ipv4", "203.0.113.0/24")).toEqual([]);
    expect((await bird.routes("ipv4")).map((r) => r.prefix)).not.toContain("192.0.2.0/24");
  });
});
