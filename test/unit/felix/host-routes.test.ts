/**
 * HostRoutes: the mirror of the main table's non-BGP routes that next hops resolve through. It keeps
 * felix's BGP routes (protocol 12) and other tables out, names interfaces, drops routes through links
 * that are down or gone, and says "re-resolve" only when a changed route covers a watched next hop.
 */
import { describe, expect, it } from "vitest";
import type { RtnlEvent } from "../../../felix/netlink/events.js";
import type { Link } from "../../../felix/netlink/link-codec.js";
import type { Route } from "../../../felix/netlink/route-codec.js";
import { HostRoutes } from "../../../felix/routes/host-routes.js";

const route = (dst: string, extra: Partial<Route> = {}): Route => ({
  family: dst.includes(":") ? 6 : 4,
  dst,
  table: 254,
  protocol: 4,
  scope: 0,
  type: 1,
  tos: 0,
  flags: 0,
  oif: 2,
  ...extra,
});
const links: Link[] = [
  { index: 2, name: "eth0", type: 1, flags: 1, mtu: 1500 },
  { index: 3, name: "eth1", type: 1, flags: 0, mtu: 1500 },
];
const ev = (op: "new" | "del", r: Route): RtnlEvent => ({ kind: "route", op, route: r });

describe("HostRoutes", () => {
  it("mirrors the main table without felix's BGP routes, naming interfaces, skipping down links", () => {
    const h = new HostRoutes(254, 12);
    h.reset([
      route("10.0.0.0/24", { protocol: 2, scope: 253 }),
      route("0.0.0.0/0", { gateway: "10.0.0.254", priority: 100 }),
      route("10.9.0.0/16", { gateway: "10.0.0.253", flags: 4 }),
      route("10.66.0.0/26", { gateway: "10.0.0.2", protocol: 12 }),
      route("10.8.0.0/16", { type: 6, oif: undefined }),
      route("10.7.0.0/16", { oif: 3 }),
      route("10.6.0.0/16", { table: 100 }),
      route("10.0.0.1/32", { type: 2 }),
    ]);
    expect(h.list(links)).toEqual([
      { dst: "10.0.0.0/24", type: "unicast", ifName: "eth0" },
      { dst: "0.0.0.0/0", type: "unicast", gateway: "10.0.0.254", ifName: "eth0", metric: 100 },
      { dst: "10.9.0.0/16", type: "unicast", gateway: "10.0.0.253", ifName: "eth0", onlink: true },
      { dst: "10.8.0.0/16", type: "blackhole" },
    ]);
    expect(h.list(links)).toBe(h.list(links)); // unchanged: the same array (indexed once downstream)
  });

  it("asks for a new pass only when a change covers a next hop in use", () => {
    const h = new HostRoutes(254, 12);
    expect(h.reset([route("0.0.0.0/0", { gateway: "10.0.0.254" })])).toBe(false); // nothing watched yet
    h.watch(["10.9.9.9"]);
    const before = h.list(links);
    expect(h.handleEvents([ev("new", route("10.65.0.5/32", { protocol: 3 }))])).toBe(false);
    expect(h.handleEvents([ev("new", route("10.9.0.0/16", { gateway: "10.0.0.253" }))])).toBe(true);
    expect(h.list(links)).not.toBe(before);
    // felix's own BGP routes never count, even when they cover the next hop.
    expect(h.handleEvents([ev("new", route("10.9.9.0/24", { protocol: 12, gateway: "10.0.0.2" }))])).toBe(
      false,
    );
    expect(h.handleEvents([ev("del", route("10.9.0.0/16", { gateway: "10.0.0.253" }))])).toBe(true);
    // A full dump that changes nothing relevant, then one that does.
    const dump = [route("0.0.0.0/0", { gateway: "10.0.0.254" }), route("10.65.0.5/32", { protocol: 3 })];
    expect(h.reset(dump)).toBe(false);
    expect(h.reset([route("0.0.0.0/0", { gateway: "10.0.0.250" })])).toBe(true);
    expect(h.list(links).map((r) => r.gateway)).toEqual(["10.0.0.250"]);
  });
});
