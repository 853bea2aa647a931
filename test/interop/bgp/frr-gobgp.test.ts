// tabby's speaker against FRR and GoBGP: eBGP and iBGP, IPv4 and IPv6 over one session, both
// directions, withdraws, communities, large communities, MED and LOCAL_PREF checked on both sides.
import { expect, it } from "vitest";
import { Frr } from "../../harness/peers/frr.js";
import { Gobgp } from "../../harness/peers/gobgp.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { oneSessionConfig, pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const frrConfig = (asn: number) => `frr defaults traditional
hostname frr
route-map OUT permit 10
 set community ${asn}:200 additive
 set large-community ${asn}:3:4
 set metric 33
 ${asn === 65001 ? "set local-preference 250" : ""}
router bgp ${asn}
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers connect 1
 address-family ipv4 unicast
  network 203.0.113.0/24
  network 198.51.100.0/24
  neighbor 10.0.0.1 route-map OUT out
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:b::/48
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 route-map OUT out
 exit-address-family
`;

describeWith(["root", "iproute2", "frr"], "tabby <-> FRR", () => {
  for (const mode of ["ebgp", "ibgp"] as const) {
    it(`${mode}: IPv4 and IPv6 over one session, both ways, attributes kept, withdraws travel`, async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      const asn = mode === "ebgp" ? 65002 : 65001;
      const frr = await Frr.start(scope, b, { config: frrConfig(asn) });
      const tabby = await startTabby(scope, a, oneSessionConfig(asn, mode));
      await waitEstablished(tabby, "10.0.0.2");
      await frr.waitForSession("10.0.0.1");
      await frr.waitForRoute("ipv4", "192.0.2.0/24");
      const [d4] = await frr.routeDetail("ipv4", "192.0.2.0/24");
      expect(d4).toMatchObject({
        nextHop: "10.0.0.1",
        asPath: mode === "ebgp" ? [65001] : [],
        communities: ["65001:100"],
        largeCommunities: ["65001:1:2"],
        med: 7,
        ...(mode === "ibgp" ? { localPref: 300 } : {}),
      });
      await frr.waitForRoute("ipv6", "2001:db8:a::/48");
      const [d6] = await frr.routeDetail("ipv6", "2001:db8:a::/48");
      expect(d6).toMatchObject({ nextHop: "fd00::1", communities: ["65001:101"] });

      const r4 = await waitTabbyRoute(tabby, "203.0.113.0/24");
      expect(r4).toMatchObject({
        nextHop: "10.0.0.2",
        asPath: mode === "ebgp" ? "65002" : "",
        communities: [`${asn}:200`],
        largeCommunities: [`${asn}:3:4`],
        med: 33,
        ...(mode === "ibgp" ? { localPref: 250 } : {}),
      });
      const r6 = await waitTabbyRoute(tabby, "2001:db8:b::/48");
      expect(r6.nextHop).toMatch(/^(fd00::2|fe80:)/);

      tabby.withdrawOriginated("192.0.2.0/24");
      await frr.waitForRoute("ipv4", "192.0.2.0/24", { gone: true });
      await frr.withdraw("203.0.113.0/24");
      await waitTabbyRoute(tabby, "203.0.113.0/24", { gone: true });
      expect(tabby.ribEntries("ipv4", "198.51.100.0/24")).toHaveLength(1);
    });
  }
});

describeWith(["root", "iproute2", "gobgp"], "tabby <-> GoBGP", () => {
  for (const mode of ["ebgp", "ibgp"] as const) {
    it(`${mode}: IPv4 and IPv6 over one session, both ways, attributes kept, withdraws travel`, async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      const asn = mode === "ebgp" ? 65002 : 65001;
      const gobgp = await Gobgp.start(scope, b, {
        spec: {
          routerId: "10.0.0.2",
          as: asn,
          neighbors: [{ address: "10.0.0.1", as: 65001, families: ["ipv4", "ipv6"] }],
        },
      });
      const tabby = await startTabby(scope, a, oneSessionConfig(asn, mode));
      await waitEstablished(tabby, "10.0.0.2");
      await gobgp.waitForSession("10.0.0.1");
      const g4 = await gobgp.waitForRoute("ipv4", "192.0.2.0/24");
      expect(g4).toMatchObject({
        nextHop: "10.0.0.1",
        asPath: mode === "ebgp" ? [65001] : [],
        communities: ["65001:100"],
        largeCommunities: ["65001:1:2"],
        med: 7,
        ...(mode === "ibgp" ? { localPref: 300 } : {}),
      });
      expect(await gobgp.waitForRoute("ipv6", "2001:db8:a::/48")).toMatchObject({
        nextHop: "fd00::1",
        communities: ["65001:101"],
      });

      const lp = mode === "ibgp" ? ["local-pref", "250"] : [];
      await gobgp.announce("203.0.113.0/24", [
        "community",
        `${asn}:200`,
        "large-community",
        `${asn}:3:4`,
        "med",
        "33",
        ...lp,
      ]);
      await gobgp.announce("2001:db8:b::/48", ["community", `${asn}:201`]);
      expect(await waitTabbyRoute(tabby, "203.0.113.0/24")).toMatchObject({
        nextHop: "10.0.0.2",
        asPath: mode === "ebgp" ? "65002" : "",
        communities: [`${asn}:200`],
        largeCommunities: [`${asn}:3:4`],
        med: 33,
        ...(mode === "ibgp" ? { localPref: 250 } : {}),
      });
      expect(await waitTabbyRoute(tabby, "2001:db8:b::/48")).toMatchObject({ communities: [`${asn}:201`] });

      await gobgp.withdraw("203.0.113.0/24");
      await waitTabbyRoute(tabby, "203.0.113.0/24", { gone: true });
      tabby.withdrawOriginated("2001:db8:a::/48");
      await gobgp.waitForRoute("ipv6", "2001:db8:a::/48", { gone: true });
    });
  }
});
