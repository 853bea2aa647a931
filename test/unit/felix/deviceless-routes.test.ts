/**
 * Routes felix writes without a device (BGPPeer reachableBy `<peer>/32 via <gateway>`, no-encap block
 * routes, IPv6 blackholes) come back from the kernel with the device it chose. The diff takes any device
 * for them and still rewrites whatever else differs, or a device the desired route names; the route table
 * writes them once, however often it resyncs or hears of them. The fake kernel fills in the oif as Linux
 * does (test/kernel/felix/deviceless-routes.test.ts shows it on the real one).
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { DesiredRoute } from "../../../felix/model/desired.js";
import { RTN, RTNH_F } from "../../../felix/netlink/constants.js";
import { type Route, routeKey } from "../../../felix/netlink/route-codec.js";
import type { RouteWrite } from "../../../felix/netlink/rtnetlink.js";
import { desiredKey, diffRoutes, type OwnershipPolicy } from "../../../felix/routes/route-diff.js";
import { RouteTable } from "../../../felix/routes/route-table.js";
import { FakeClock } from "../../harness/clock.js";
import { FakeRtnetlink } from "./fake-rtnetlink.js";

const logger = pino({ level: "silent" });
const LO = 1;
const ETH0 = 2;
const ETH1 = 3;

const policy: OwnershipPolicy = {
  table: 254,
  exclusiveProtocols: new Set([80]),
  isWorkloadIface: (n) => n.startsWith("cali"),
  specialIfaces: new Set(["vxlan.calico", "tunl0"]),
};
const names: Record<string, number> = { lo: LO, eth0: ETH0, eth1: ETH1 };
const ctx = {
  policy,
  ifIndex: (n: string) => names[n],
  ifName: (i: number) => Object.keys(names).find((n) => names[n] === i),
};

const reachableBy = (dst: string, gateway: string, extra: Partial<DesiredRoute> = {}): DesiredRoute => ({
  dst,
  type: "unicast",
  protocol: 80,
  gateway,
  metric: 0,
  owner: `static route ${dst} via ${gateway} (BGP peer reachableBy)`,
  ...extra,
});
const blackhole = (dst: string): DesiredRoute => ({
  dst,
  type: "blackhole",
  protocol: 80,
  metric: 0,
  owner: `local block ${dst}`,
});

/** The kernel's copy of a route felix wrote: a gateway route via eth0 unless said otherwise. */
const kernel = (x: Partial<Route> & Pick<Route, "dst">): Route => ({
  family: x.dst.includes(":") ? 6 : 4,
  table: 254,
  protocol: 80,
  scope: 0,
  type: RTN.UNICAST,
  tos: 0,
  flags: 0,
  oif: ETH0,
  ...(x.dst.includes(":") ? { priority: 1024 } : {}),
  ...x,
});

function diff(desired: readonly DesiredRoute[], actual: readonly Route[]) {
  return diffRoutes(
    new Map(desired.map((d) => [desiredKey(d, 254), d])),
    new Map(actual.map((r) => [routeKey(r), r])),
    ctx,
  );
}

const replacedDsts = (p: ReturnType<typeof diff>) => p.replaces.map((r) => r.route.dst);

describe("diff of a route without a device", () => {
  it("matches the kernel's copy whatever device the kernel chose", () => {
    const plan = diff(
      [
        reachableBy("192.0.2.1/32", "10.0.0.254"),
        reachableBy("2001:db8:99::1/128", "fd00::254"),
        blackhole("fd00:65:1::/122"),
        blackhole("10.65.1.0/26"),
      ],
      [
        kernel({ dst: "192.0.2.1/32", gateway: "10.0.0.254" }),
        kernel({ dst: "2001:db8:99::1/128", gateway: "fd00::254", oif: ETH1 }),
        // Linux reports an IPv6 blackhole on lo and an IPv4 one on no device at all.
        kernel({ dst: "fd00:65:1::/122", type: RTN.BLACKHOLE, oif: LO }),
        kernel({ dst: "10.65.1.0/26", type: RTN.BLACKHOLE, oif: undefined }),
      ],
    );
    expect(plan).toEqual({ replaces: [], deletes: [], strays: [], errors: [] });
  });

  it("still rewrites it when anything but the device differs", () => {
    const want = reachableBy("192.0.2.1/32", "10.0.0.254");
    const cases: [string, Route][] = [
      ["gateway", kernel({ dst: want.dst, gateway: "10.0.0.253" })],
      ["protocol", kernel({ dst: want.dst, gateway: "10.0.0.254", protocol: 12 })],
      ["type", kernel({ dst: want.dst, type: RTN.BLACKHOLE })],
      ["onlink", kernel({ dst: want.dst, gateway: "10.0.0.254", flags: RTNH_F.ONLINK })],
      ["multipath", kernel({ dst: want.dst, gateway: "10.0.0.254", multipath: 2 })],
    ];
    for (const [what, have] of cases) {
      expect({ what, replaced: replacedDsts(diff([want], [have])) }).toEqual({ what, replaced: [want.dst] });
    }
    // Another metric or table is another key: written there, felix's old one deleted.
    const metric = diff([{ ...want, metric: 100 }], [kernel({ dst: want.dst, gateway: "10.0.0.254" })]);
    expect(metric.replaces.map((r) => r.route.priority)).toEqual([100]);
    expect(metric.deletes.map((r) => r.route.dst)).toEqual([want.dst]);
    const table = diff([want], [kernel({ dst: want.dst, gateway: "10.0.0.254", table: 100 })]);
    expect(replacedDsts(table)).toEqual([want.dst]);
    expect(table.deletes).toEqual([]);
  });

  it("holds a route that names its device to that device", () => {
    const have = kernel({ dst: "192.0.2.1/32", gateway: "10.0.0.254", oif: ETH0 });
    const onEth0 = reachableBy("192.0.2.1/32", "10.0.0.254", { ifName: "eth0" });
    const onEth1 = reachableBy("192.0.2.1/32", "10.0.0.254", { ifName: "eth1" });
    expect(diff([onEth0], [have]).replaces).toEqual([]);
    expect(diff([onEth1], [have]).replaces.map((r) => r.route.oif)).toEqual([ETH1]);
    expect(diff([onEth0], [{ ...have, oif: undefined }]).replaces.map((r) => r.route.oif)).toEqual([ETH0]);
  });
});

/** A fake kernel that fills in the device as Linux does, and a route table over it. */
function setup() {
  const nl = new FakeRtnetlink();
  const lo = nl.addLink("lo").index;
  const eth0 = nl.addLink("eth0").index;
  const eth1 = nl.addLink("eth1").index;
  nl.chooseOif = (r) =>
    r.type === RTN.BLACKHOLE ? (r.family === 6 ? lo : undefined) : r.gateway !== undefined ? eth0 : undefined;
  const clock = new FakeClock();
  const table = new RouteTable({ nl, clock, logger });
  /** What the kernel tells listeners about the routes now in it. */
  const notify = (op: "new" | "del", dsts: readonly string[]) =>
    table.handleEvents(
      [...nl.routes.values()]
        .filter((r) => dsts.includes(r.dst))
        .map((route) => ({ kind: "route" as const, op, route })),
    );
  return { nl, clock, table, notify, lo, eth0, eth1 };
}

const WANT = [
  reachableBy("192.0.2.1/32", "10.0.0.254"),
  reachableBy("2001:db8:99::1/128", "fd00::254"),
  blackhole("fd00:65:1::/122"),
  blackhole("10.65.1.0/26"),
];
const DSTS = WANT.map((d) => d.dst);

describe("RouteTable and routes without a device", () => {
  it("writes them once: not again on their notifications, a full resync or the refresh timer", async () => {
    const { nl, clock, table, notify, lo, eth0 } = setup();
    table.setDesired(WANT);
    expect(await table.apply()).toMatchObject({ full: true, replaced: 4, deleted: 0, errors: [] });
    expect(nl.routes.get("192.0.2.1/32")?.oif).toBe(eth0);
    expect(nl.routes.get("fd00:65:1::/122#1024%0@254")?.oif).toBe(lo);
    expect(nl.counts.routeWrites).toBe(4);

    for (let i = 0; i < 3; i++) {
      notify("new", DSTS);
      expect(await table.apply()).toMatchObject({ full: false, replaced: 0, deleted: 0, errors: [] });
    }
    table.requestFullResync();
    expect(await table.apply()).toMatchObject({ full: true, replaced: 0, deleted: 0, errors: [] });
    table.start();
    await clock.advanceAsync(3 * 90_000);
    notify("new", DSTS);
    await clock.advanceAsync(0);
    expect(nl.counts.dumps).toBeGreaterThan(4); // the refresh timer did dump
    expect(nl.counts.routeWrites).toBe(4);
    expect(table.snapshot().find((r) => r.dst === "192.0.2.1/32")?.oif).toBe(eth0);
  });

  it("keeps the kernel's copy when its notification is read before the write returns", async () => {
    const { nl, table, notify, eth0 } = setup();
    const write = nl.writeRoutes.bind(nl);
    nl.writeRoutes = async (writes: readonly RouteWrite[]) => {
      const failures = await write(writes);
      notify("new", DSTS); // the event socket is read while the ACK is still on its way
      return failures;
    };
    table.setDesired(WANT);
    expect(await table.apply()).toMatchObject({ replaced: 4 });
    // The mirror names the device the kernel chose, so a deletion's notification (which names it) matches.
    expect(table.snapshot().find((r) => r.dst === "192.0.2.1/32")?.oif).toBe(eth0);
    expect(await table.apply()).toMatchObject({ replaced: 0, deleted: 0 });
    notify("del", ["192.0.2.1/32"]);
    nl.routes.delete("192.0.2.1/32");
    expect(await table.apply()).toMatchObject({ full: false, replaced: 1, deleted: 0, errors: [] });
    expect(nl.routes.get("192.0.2.1/32")?.oif).toBe(eth0);
  });

  it("takes a deletion of its route before that route's own notification came; not one of another gateway", async () => {
    const { nl, table } = setup();
    table.setDesired([WANT[0]!]);
    expect(await table.apply()).toMatchObject({ replaced: 1 });
    const installed = nl.routes.get("192.0.2.1/32")!;
    // Another route at the same key (IPv6 keeps one per next hop) going away is not ours going away.
    table.handleEvents([{ kind: "route", op: "del", route: { ...installed, gateway: "10.0.0.9" } }]);
    expect(await table.apply()).toMatchObject({ replaced: 0 });
    nl.routes.delete("192.0.2.1/32");
    table.handleEvents([{ kind: "route", op: "del", route: installed }]);
    expect(await table.apply()).toMatchObject({ full: false, replaced: 1, deleted: 0, errors: [] });
  });

  it("rewrites one whose desired state now names another device; naming none later keeps it", async () => {
    const { nl, table, notify, eth1 } = setup();
    table.setDesired([WANT[0]!]);
    expect(await table.apply()).toMatchObject({ replaced: 1 });
    table.setDesired([{ ...WANT[0]!, ifName: "eth1" }]);
    expect(await table.apply()).toMatchObject({ replaced: 1 });
    expect(nl.routes.get("192.0.2.1/32")?.oif).toBe(eth1);
    notify("new", ["192.0.2.1/32"]);
    expect(await table.apply()).toMatchObject({ replaced: 0 });
    // Without a device again, whatever the kernel holds (eth1 now) is what felix asked for.
    table.setDesired([WANT[0]!]);
    expect(await table.apply()).toMatchObject({ replaced: 0 });
    table.requestFullResync();
    expect(await table.apply()).toMatchObject({ full: true, replaced: 0 });
    expect(nl.counts.routeWrites).toBe(2);
  });
});
