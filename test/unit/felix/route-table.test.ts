/**
 * The route reconciler on an in-memory kernel and a fake clock: ownership (protocol 80, workload and
 * tunnel interfaces, never kernel or foreign protocols), adoption without writes, grace for strays,
 * partial resync from events, periodic full resync, retries, and errors that name the route.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { DesiredRoute } from "../../../felix/model/desired.js";
import { RTN, RTNH_F } from "../../../felix/netlink/constants.js";
import type { Route } from "../../../felix/netlink/route-codec.js";
import {
  classifyRoute,
  diffRoutes,
  type OwnershipPolicy,
  toKernelRoute,
} from "../../../felix/routes/route-diff.js";
import { RouteTable } from "../../../felix/routes/route-table.js";
import { FakeClock } from "../../harness/clock.js";
import { FakeRtnetlink } from "./fake-rtnetlink.js";

const logger = pino({ level: "silent" });

const policy: OwnershipPolicy = {
  table: 254,
  exclusiveProtocols: new Set([80]),
  isWorkloadIface: (n) => n.startsWith("cali"),
  specialIfaces: new Set(["vxlan.calico", "tunl0"]),
};

const k = (x: Partial<Route> & Pick<Route, "dst">): Route => ({
  family: 4,
  table: 254,
  protocol: 80,
  scope: 0,
  type: RTN.UNICAST,
  tos: 0,
  flags: 0,
  ...x,
});

const workload = (ip: string, ifName: string): DesiredRoute => ({
  dst: `${ip}/32`,
  type: "unicast",
  protocol: 3,
  ifName,
  metric: 0,
  owner: `workload on ${ifName}`,
});
const remote = (dst: string, gw: string): DesiredRoute => ({
  dst,
  type: "unicast",
  protocol: 80,
  ifName: "vxlan.calico",
  gateway: gw,
  onlink: true,
  metric: 0,
  mtu: 1450,
  owner: `remote block ${dst}`,
});
const blackhole = (dst: string): DesiredRoute => ({
  dst,
  type: "blackhole",
  protocol: 80,
  metric: 0,
  owner: `local block ${dst}`,
});

describe("route ownership and diff", () => {
  it("owns protocol 80 anywhere, any non-kernel route on workload or tunnel devices, nothing else", () => {
    expect(classifyRoute(k({ dst: "10.1.0.0/24", protocol: 80, oif: 2 }), "eth0", policy)).toBe("ours");
    expect(classifyRoute(k({ dst: "10.1.0.0/24", protocol: 12, oif: 2 }), "eth0", policy)).toBe("foreign");
    expect(classifyRoute(k({ dst: "10.1.0.0/24", protocol: 3, oif: 2 }), "eth0", policy)).toBe("foreign");
    expect(classifyRoute(k({ dst: "10.1.0.5/32", protocol: 3, oif: 5 }), "cali1", policy)).toBe("stray");
    expect(classifyRoute(k({ dst: "10.1.0.5/32", protocol: 12, oif: 5 }), "cali1", policy)).toBe("stray");
    expect(classifyRoute(k({ dst: "10.1.0.0/26", protocol: 12, oif: 6 }), "vxlan.calico", policy)).toBe(
      "ours",
    );
    expect(classifyRoute(k({ dst: "10.0.0.0/24", protocol: 2, oif: 5 }), "cali1", policy)).toBe("foreign");
    expect(classifyRoute(k({ dst: "10.1.0.0/24", protocol: 80, table: 100 }), undefined, policy)).toBe(
      "foreign",
    );
  });

  it("turns desired routes into exactly the kernel routes the kernel dumps back", () => {
    const idx = (n: string) => ({ cali1: 5, "vxlan.calico": 6 })[n];
    expect(toKernelRoute(workload("10.65.1.5", "cali1"), 254, idx)).toEqual(
      k({ dst: "10.65.1.5/32", protocol: 3, scope: 253, oif: 5 }),
    );
    expect(toKernelRoute(remote("10.65.2.0/26", "10.65.2.0"), 254, idx)).toEqual(
      k({ dst: "10.65.2.0/26", gateway: "10.65.2.0", oif: 6, flags: RTNH_F.ONLINK, mtu: 1450 }),
    );
    expect(toKernelRoute(blackhole("10.65.1.0/26"), 254, idx)).toEqual(
      k({ dst: "10.65.1.0/26", type: RTN.BLACKHOLE }),
    );
    // IPv6 routes without a metric get 1024 from the kernel: the key must say so or nothing would converge.
    expect(toKernelRoute({ ...blackhole("fd65::/122") }, 254, idx)).toMatchObject({
      family: 6,
      priority: 1024,
    });
  });

  it("plans nothing when the kernel already matches, ignoring flags the kernel adds", () => {
    const desired = new Map([["254|10.65.2.0/26|0|0", remote("10.65.2.0/26", "10.65.2.0")]]);
    const actual = new Map([
      [
        "254|10.65.2.0/26|0|0",
        k({
          dst: "10.65.2.0/26",
          gateway: "10.65.2.0",
          oif: 6,
          flags: RTNH_F.ONLINK | RTNH_F.LINKDOWN,
          mtu: 1450,
        }),
      ],
    ]);
    const plan = diffRoutes(desired, actual, {
      policy,
      ifIndex: () => 6,
      ifName: () => "vxlan.calico",
    });
    expect(plan).toEqual({ replaces: [], deletes: [], strays: [], errors: [] });
  });
});

function setup() {
  const nl = new FakeRtnetlink();
  nl.addLink("lo");
  const eth0 = nl.addLink("eth0").index;
  const cali1 = nl.addLink("cali1").index;
  const vx = nl.addLink("vxlan.calico").index;
  const clock = new FakeClock();
  const table = new RouteTable({ nl, clock, logger });
  return { nl, clock, table, eth0, cali1, vx };
}

describe("RouteTable", () => {
  it("programs the desired routes, then adopts them: a second table over the same kernel writes nothing", async () => {
    const { nl, clock } = setup();
    const t1 = new RouteTable({ nl, clock, logger });
    const want = [
      workload("10.65.1.5", "cali1"),
      remote("10.65.2.0/26", "10.65.2.0"),
      blackhole("10.65.1.0/26"),
    ];
    t1.setDesired(want);
    expect(await t1.apply()).toMatchObject({ full: true, replaced: 3, deleted: 0, errors: [] });
    const writes = nl.counts.routeWrites;
    const t2 = new RouteTable({ nl, clock, logger });
    t2.setDesired(want);
    expect(await t2.apply()).toMatchObject({ full: true, replaced: 0, deleted: 0, errors: [] });
    expect(nl.counts.routeWrites).toBe(writes);
  });

  it("deletes its own stale routes, leaves foreign ones, takes over a foreign route at a wanted key", async () => {
    const { nl, table, eth0 } = setup();
    nl.putRoute(k({ dst: "10.65.9.0/26", protocol: 80, type: RTN.BLACKHOLE }));
    nl.putRoute(k({ dst: "10.77.0.0/16", protocol: 12, gateway: "10.0.0.9", oif: eth0 }));
    nl.putRoute(k({ dst: "10.0.0.0/24", protocol: 2, scope: 253, oif: eth0 }));
    nl.putRoute(k({ dst: "10.65.2.0/26", protocol: 12, gateway: "10.0.0.2", oif: eth0 }));
    table.setDesired([remote("10.65.2.0/26", "10.65.2.0")]);
    expect(await table.apply()).toMatchObject({ replaced: 1, deleted: 1, errors: [] });
    expect([...nl.routes.values()].map((r) => `${r.dst} ${r.protocol}`).sort()).toEqual([
      "10.0.0.0/24 2",
      "10.65.2.0/26 80",
      "10.77.0.0/16 12",
    ]);
  });

  it("leaves BGP's protocol-12 routes alone until it owns that protocol, then deletes the ones not wanted", async () => {
    const { nl, table, eth0 } = setup();
    nl.putRoute(k({ dst: "10.77.0.0/16", protocol: 12, gateway: "10.0.0.9", oif: eth0 }));
    nl.putRoute(k({ dst: "10.78.0.0/16", protocol: 12, gateway: "10.0.0.9", oif: eth0 }));
    const bgp: DesiredRoute = {
      dst: "10.77.0.0/16",
      type: "unicast",
      protocol: 12,
      ifName: "eth0",
      gateway: "10.0.0.9",
      metric: 0,
      owner: "BGP route",
    };
    table.setDesired([]);
    expect(await table.apply()).toMatchObject({ replaced: 0, deleted: 0 });
    table.ownProtocol(12, true);
    table.setDesired([bgp]);
    // The wanted one is adopted as it stands (zero writes), the other goes.
    expect(await table.apply()).toMatchObject({ replaced: 0, deleted: 1, errors: [] });
    expect([...nl.routes.values()].map((r) => r.dst)).toEqual(["10.77.0.0/16"]);
  });

  it("touches nothing before it is told what it wants (a restarted agent adopts, never flushes)", async () => {
    const { nl, table, clock } = setup();
    nl.putRoute(k({ dst: "10.65.9.0/26", protocol: 80, type: RTN.BLACKHOLE }));
    table.start();
    await clock.advanceAsync(120_000);
    expect(nl.routes.size).toBe(1);
    expect(nl.counts.routeWrites).toBe(0);
    table.setDesired([blackhole("10.65.9.0/26")]);
    await clock.advanceAsync(0);
    expect(nl.counts.routeWrites).toBe(0);
    table.stop();
  });

  it("gives an unexpected route on a workload interface its grace period before deleting it", async () => {
    const { nl, table, clock, cali1 } = setup();
    nl.putRoute(k({ dst: "10.65.1.9/32", protocol: 3, scope: 253, oif: cali1 })); // as the CNI plugin adds it
    table.setDesired([]);
    table.start();
    await clock.advanceAsync(0);
    expect(nl.routes.size).toBe(1);
    await clock.advanceAsync(9_999);
    expect(nl.routes.size).toBe(1);
    await clock.advanceAsync(1);
    expect(nl.routes.size).toBe(0);
    table.stop();
  });

  it("keeps a stray that becomes desired during its grace period", async () => {
    const { nl, table, clock, cali1 } = setup();
    nl.putRoute(k({ dst: "10.65.1.9/32", protocol: 3, scope: 253, oif: cali1 }));
    table.start();
    await clock.advanceAsync(5_000);
    table.setDesired([workload("10.65.1.9", "cali1")]);
    await clock.advanceAsync(20_000);
    expect([...nl.routes.values()]).toEqual([
      k({ dst: "10.65.1.9/32", protocol: 3, scope: 253, oif: cali1 }),
    ]);
    table.stop();
  });

  it("repairs from events without a full dump, and re-dumps every 90 s", async () => {
    const { nl, table, clock } = setup();
    table.setDesired([remote("10.65.2.0/26", "10.65.2.0")]);
    table.start();
    await clock.advanceAsync(0);
    const dumps = nl.counts.dumps;
    // Someone deletes our route; the kernel tells us.
    const gone = [...nl.routes.values()][0]!;
    nl.routes.clear();
    table.handleEvents([{ kind: "route", op: "del", route: gone }]);
    await clock.advanceAsync(0);
    expect(nl.routes.size).toBe(1);
    expect(nl.counts.dumps).toBe(dumps);
    // Changed behind our back without an event: only the periodic full resync notices.
    nl.routes.clear();
    await clock.advanceAsync(89_000);
    expect(nl.routes.size).toBe(0);
    await clock.advanceAsync(1_000);
    expect(nl.routes.size).toBe(1);
    expect(nl.counts.dumps).toBe(dumps + 2); // links + routes
    table.stop();
  });

  it("names a route via a missing interface, applies the rest, and programs it when the interface appears", async () => {
    const { nl, table, clock } = setup();
    table.setDesired([workload("10.65.1.5", "cali1"), workload("10.65.1.7", "cali7")]);
    const r = await table.apply();
    expect(r.replaced).toBe(1);
    expect(r.errors.map((e) => [e.code, e.message])).toEqual([
      ["FELIX_NO_INTERFACE", "route 10.65.1.7/32 (workload on cali7): interface cali7 does not exist"],
    ]);
    table.start();
    const link = nl.addLink("cali7");
    table.handleEvents([{ kind: "link", op: "new", link }]);
    await clock.advanceAsync(0);
    expect([...nl.routes.values()].map((x) => x.dst).sort()).toEqual(["10.65.1.5/32", "10.65.1.7/32"]);
    table.stop();
  });

  it("retries a write the kernel refused", async () => {
    const { nl, table, clock } = setup();
    table.setDesired([workload("10.65.1.5", "cali1")]);
    table.start();
    nl.failNext = { count: 1, errno: 105 };
    await clock.advanceAsync(0);
    expect(nl.routes.size).toBe(0);
    await clock.advanceAsync(5_000);
    expect(nl.routes.size).toBe(1);
    table.stop();
  });

  it("reports two desired routes with the same key and programs one", async () => {
    const { nl, table } = setup();
    table.setDesired([workload("10.65.1.5", "cali1"), workload("10.65.1.5", "eth0")]);
    const r = await table.apply();
    expect(r.errors.map((e) => e.code)).toEqual(["FELIX_ROUTE_CONFLICT"]);
    expect(r.errors[0]?.message).toContain("workload on cali1 and by workload on eth0");
    expect(nl.routes.size).toBe(1);
  });

  it("refreshMirror dumps ahead of the pass, tells onDump, and the pass then diffs all without dumping again", async () => {
    const { nl, clock, eth0 } = setup();
    nl.putRoute(k({ dst: "0.0.0.0/0", protocol: 4, gateway: "10.0.0.254", oif: eth0 }));
    const seen: number[] = [];
    const table = new RouteTable({ nl, clock, logger, onDump: (rs) => seen.push(rs.length) });
    await table.refreshMirror();
    expect(seen).toEqual([1]);
    await table.refreshMirror(); // nothing due
    const dumps = nl.counts.dumps;
    table.setDesired([blackhole("10.65.1.0/26")]);
    const r = await table.apply();
    expect(r.full).toBe(true);
    expect(nl.counts.dumps).toBe(dumps);
    expect(seen).toEqual([1]);
    table.requestFullResync();
    await table.apply();
    expect(seen).toEqual([1, 2]);
  });
});
