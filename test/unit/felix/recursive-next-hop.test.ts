/**
 * resolveNextHop: BIRD's `gateway recursive` over the host's main table. Longest prefix wins; the
 * covering route's immediate gateway and device are the answer; BGP routes (recursive themselves),
 * blackholes and the like, multipath routes and no cover at all are unresolvable.
 */
import { describe, expect, it } from "vitest";
import { parseIp } from "../../../felix/ip.js";
import type { HostRouteInput } from "../../../felix/model/inputs.js";
import {
  indexNextHopTable,
  type NextHopResolution,
  resolveNextHop,
} from "../../../felix/model/recursive-next-hop.js";

const host: HostRouteInput[] = [
  { dst: "10.0.0.0/24", type: "unicast", ifName: "eth0" },
  { dst: "0.0.0.0/0", type: "unicast", gateway: "10.0.0.254", ifName: "eth0", metric: 100 },
  { dst: "0.0.0.0/0", type: "unicast", gateway: "10.0.0.253", ifName: "eth0", metric: 200 },
  { dst: "10.9.0.0/16", type: "unicast", gateway: "10.0.0.250", ifName: "eth0" },
  { dst: "10.9.5.0/24", type: "unicast", gateway: "192.168.7.1", ifName: "eth1", onlink: true },
  { dst: "10.20.0.0/16", type: "blackhole" },
  { dst: "10.21.0.0/16", type: "unreachable" },
  { dst: "10.22.0.0/16", type: "unicast", multipath: true },
  { dst: "10.23.0.0/16", type: "unicast", gateway: "10.0.0.250", ifName: "eth0" },
  { dst: "fd00:1::/64", type: "unicast", ifName: "eth0", metric: 256 },
  { dst: "::/0", type: "unicast", gateway: "fd00:1::1", ifName: "eth0", metric: 1024 },
  { dst: "fd00:9::/48", type: "unicast", gateway: "fe80::1", ifName: "eth0", metric: 1024 },
];
/** Destinations learned over BGP (felix programs them; never resolved through). */
const bgp = ["10.30.0.0/16", "10.23.4.0/24", "10.9.0.0/16", "fd00:30::/48"];

const cases: [string, string, NextHopResolution][] = [
  ["on-link: the connected route", "10.0.0.7", { kind: "direct", via: "10.0.0.0/24", ifName: "eth0" }],
  [
    "via the default route, the lowest metric of two",
    "172.16.0.1",
    { kind: "gateway", via: "0.0.0.0/0", gateway: "10.0.0.254", ifName: "eth0" },
  ],
  [
    "via a more specific static route",
    "10.9.1.1",
    { kind: "gateway", via: "10.9.0.0/16", gateway: "10.0.0.250", ifName: "eth0" },
  ],
  [
    "via the most specific one, keeping its onlink",
    "10.9.5.5",
    { kind: "gateway", via: "10.9.5.0/24", gateway: "192.168.7.1", ifName: "eth1", onlink: true },
  ],
  [
    "through a felix BGP route: refused, not resolved through the default behind it",
    "10.30.1.1",
    { kind: "unresolvable", reason: "it resolves only through BGP route 10.30.0.0/16, itself recursive" },
  ],
  [
    "a BGP route more specific than the host's covering route wins, and is refused",
    "10.23.4.1",
    { kind: "unresolvable", reason: "it resolves only through BGP route 10.23.4.0/24, itself recursive" },
  ],
  [
    "a host route of the same prefix as a BGP route is used",
    "10.9.1.2",
    { kind: "gateway", via: "10.9.0.0/16", gateway: "10.0.0.250", ifName: "eth0" },
  ],
  [
    "blackhole: unresolvable",
    "10.20.1.1",
    { kind: "unresolvable", reason: "it is covered by blackhole route 10.20.0.0/16" },
  ],
  [
    "unreachable: unresolvable",
    "10.21.1.1",
    { kind: "unresolvable", reason: "it is covered by unreachable route 10.21.0.0/16" },
  ],
  [
    "multipath: unresolvable",
    "10.22.1.1",
    { kind: "unresolvable", reason: "it is covered by multipath route 10.22.0.0/16 (ECMP is not resolved)" },
  ],
  ["IPv6 on-link", "fd00:1::5", { kind: "direct", via: "fd00:1::/64", ifName: "eth0" }],
  [
    "IPv6 via a link-local gateway of a static route",
    "fd00:9:0:1::1",
    { kind: "gateway", via: "fd00:9::/48", gateway: "fe80::1", ifName: "eth0" },
  ],
  [
    "IPv6 via the default route",
    "2001:db8::1",
    { kind: "gateway", via: "::/0", gateway: "fd00:1::1", ifName: "eth0" },
  ],
  [
    "IPv6 through a BGP route: refused",
    "fd00:30::1",
    { kind: "unresolvable", reason: "it resolves only through BGP route fd00:30::/48, itself recursive" },
  ],
  ["IPv6 link-local next hop: on-link as given", "fe80::2", { kind: "direct", via: "fe80::/64" }],
];

describe("resolveNextHop", () => {
  const table = indexNextHopTable(host, bgp);
  it.each(cases)("%s (%s)", (_what, nextHop, want) => {
    expect(resolveNextHop(parseIp(nextHop), table)).toEqual(want);
  });

  it("without a covering route, or with no routes at all, is unresolvable", () => {
    const noDefault = indexNextHopTable(host.filter((r) => r.dst !== "0.0.0.0/0"));
    expect(resolveNextHop(parseIp("172.16.0.1"), noDefault)).toEqual({
      kind: "unresolvable",
      reason: "no route in the main table covers it",
    });
    expect(resolveNextHop(parseIp("fd00::1"), indexNextHopTable([]))).toMatchObject({ kind: "unresolvable" });
  });

  it("canonicalises destinations and indexes an unchanged routes array once", () => {
    const routes: HostRouteInput[] = [{ dst: "10.9.7.1/16", type: "unicast", gateway: "10.0.0.9" }];
    const a = indexNextHopTable(routes);
    expect(resolveNextHop(parseIp("10.9.1.1"), a)).toEqual({
      kind: "gateway",
      via: "10.9.0.0/16",
      gateway: "10.0.0.9",
    });
    expect(indexNextHopTable(routes, ["10.1.0.0/16"]).host).toBe(a.host);
  });
});
