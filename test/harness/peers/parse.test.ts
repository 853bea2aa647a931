// The daemon-output parsers against outputs captured from BIRD 2.0.12, FRR 8.4.4 and GoBGP 3.10 on this
// project's VM (fixtures/, captured 2026-11-22 with the harness; see peers.test.ts for the live checks).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseBirdProtocols, parseBirdRoutes } from "./parse-bird.js";
import {
  parseFrrAdvertised,
  parseFrrNeighbors,
  parseFrrPrefixDetail,
  parseFrrRouteTable,
} from "./parse-frr.js";
import { parseGobgpNeighbors, parseGobgpRib } from "./parse-gobgp.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("BIRD parsers", () => {
  it("reads sessions, states, AS and per-channel counters from show protocols all", () => {
    const sessions = parseBirdProtocols(fixture("bird-show-protocols-all.txt"));
    expect(sessions.map((s) => [s.name, s.neighbor, s.remoteAs, s.state])).toEqual([
      ["b4", "10.0.0.2", 65002, "Established"],
      ["b6", "fd00::2", 65002, "Established"],
    ]);
    expect(sessions[0]?.prefixes?.ipv4).toEqual({ received: 2, advertised: 2 });
  });

  it("maps a protocol stuck after an error to its state and last error", () => {
    const text = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
b6         BGP        ---        start  17:10:39.594  Idle          Received: Finite state machine error
  BGP state:          Idle
    Neighbor address: fd00::2
    Neighbor AS:      65002
    Local AS:         65001
    Last error:       Received: Finite state machine error
`;
    expect(parseBirdProtocols(text)).toEqual([
      {
        name: "b6",
        neighbor: "fd00::2",
        remoteAs: 65002,
        state: "Idle",
        lastError: "Received: Finite state machine error",
        prefixes: {},
      },
    ]);
  });

  it("reads BGP and static routes with attributes from show route all", () => {
    const routes = parseBirdRoutes(fixture("bird-show-route-all.txt"), new Map([["b4", "10.0.0.2"]]));
    const byPrefix = new Map(routes.map((r) => [r.prefix, r]));
    expect(byPrefix.get("198.18.0.0/24")).toEqual({
      prefix: "198.18.0.0/24",
      nextHop: "10.0.0.2",
      asPath: [65002, 65010, 65011],
      origin: "incomplete",
      med: 5,
      localPref: 100,
      communities: [],
      largeCommunities: ["65000:1:2"],
      best: true,
      from: "10.0.0.2",
    });
    expect(byPrefix.get("203.0.113.0/24")?.communities).toEqual(["65000:100"]);
    expect(byPrefix.get("192.0.2.0/24")).toMatchObject({ nextHop: undefined, asPath: [], best: true });
    expect(byPrefix.get("2001:db8:b::/48")).toMatchObject({ nextHop: "fd00::2", asPath: [65002] });
  });

  it("keeps every path of a prefix, marking only the primary as best", () => {
    const text = `Table master4:
10.9.0.0/24          unicast [n0 17:00:00.000] * (100) [AS65002i]
\tvia 10.0.0.2 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65002
\tBGP.next_hop: 10.0.0.2
                     unicast [n1 17:00:01.000 from 10.0.0.9] (100) [AS65003i]
\tvia 10.0.0.3 on eth0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65003 {65004 65005}
\tBGP.next_hop: 10.0.0.3
\tBGP.originator_id: 10.0.0.3
\tBGP.cluster_list: 10.0.0.9 10.0.0.8
`;
    const routes = parseBirdRoutes(
      text,
      new Map([
        ["n0", "10.0.0.2"],
        ["n1", "10.0.0.9"],
      ]),
    );
    expect(routes.map((r) => [r.prefix, r.best, r.from, r.asPath])).toEqual([
      ["10.9.0.0/24", true, "10.0.0.2", [65002]],
      ["10.9.0.0/24", false, "10.0.0.9", [65003, 65004, 65005]],
    ]);
    expect(routes[1]).toMatchObject({ originatorId: "10.0.0.3", clusterList: ["10.0.0.9", "10.0.0.8"] });
  });
});

describe("FRR parsers", () => {
  it("reads neighbors with state, AS and per-family counters; no stale error on a fresh session", () => {
    const sessions = parseFrrNeighbors(fixture("frr-show-bgp-neighbors.json"));
    expect(sessions.map((s) => [s.neighbor, s.remoteAs, s.state])).toEqual([
      ["10.0.0.1", 65001, "Established"],
      ["10.0.0.9", 65009, "Connect"],
    ]);
    expect(sessions[0]?.prefixes?.ipv6?.received).toBe(1);
    expect(sessions[0]?.lastError).toBeUndefined();
  });

  it("reads the table, local routes without next hop, and the IPv6 next hop", () => {
    const v4 = parseFrrRouteTable(fixture("frr-show-bgp-ipv4-unicast.json"));
    expect(v4.find((r) => r.prefix === "203.0.113.0/24")).toMatchObject({
      nextHop: undefined,
      asPath: [],
      best: true,
    });
    expect(v4.find((r) => r.prefix === "198.51.100.0/24")).toMatchObject({
      nextHop: "10.0.0.1",
      asPath: [65001, 65010],
      from: "10.0.0.1",
    });
    const v6 = parseFrrRouteTable(fixture("frr-show-bgp-ipv6-unicast.json"));
    expect(v6).toEqual([expect.objectContaining({ prefix: "2001:db8:c::/48", asPath: [65001], best: true })]);
  });

  it("reads communities and MED from the per-prefix detail", () => {
    const [r] = parseFrrPrefixDetail(fixture("frr-show-bgp-ipv4-prefix-detail.json"));
    expect(r).toMatchObject({
      prefix: "198.51.100.0/24",
      med: 7,
      communities: ["65000:100"],
      largeCommunities: ["65000:1:2"],
      best: true,
    });
  });

  it("reads advertised routes", () => {
    const adv = parseFrrAdvertised(fixture("frr-advertised-routes.json"));
    expect(adv.map((r) => r.prefix)).toContain("203.0.113.0/24");
  });
});

describe("GoBGP parsers", () => {
  it("reads neighbors with numeric session states", () => {
    const sessions = parseGobgpNeighbors(fixture("gobgp-neighbor.json"));
    expect(sessions.map((s) => [s.neighbor, s.remoteAs, s.state]).sort()).toEqual([
      ["10.0.0.1", 65001, "Established"],
      ["fd00::1", 65001, "Established"],
    ]);
    expect(sessions.find((s) => s.neighbor === "10.0.0.1")?.prefixes?.ipv4?.received).toBe(2);
  });

  it("reads paths with communities, MED, local-pref, large communities and MP_REACH next hops", () => {
    const v4 = parseGobgpRib(fixture("gobgp-global-rib-ipv4.json"));
    expect(v4.find((r) => r.prefix === "203.0.113.0/24")).toMatchObject({
      communities: ["65000:100"],
      origin: "incomplete",
      nextHop: undefined,
    });
    expect(v4.find((r) => r.prefix === "198.18.0.0/24")).toMatchObject({
      asPath: [65010, 65011],
      med: 5,
      localPref: 200,
      largeCommunities: ["65000:1:2"],
    });
    expect(v4.find((r) => r.prefix === "192.0.2.0/24")).toMatchObject({
      from: "10.0.0.1",
      nextHop: "10.0.0.1",
    });
    const v6 = parseGobgpRib(fixture("gobgp-global-rib-ipv6.json"));
    expect(v6.find((r) => r.prefix === "2001:db8:a::/48")).toMatchObject({
      nextHop: "fd00::1",
      asPath: [65001],
    });
    expect(parseGobgpRib("null")).toEqual([]);
  });
});
