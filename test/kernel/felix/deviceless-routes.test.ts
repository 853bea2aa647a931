/**
 * Routes felix wants without a device, on the real kernel: BGPPeer reachableBy routes (`<peer>/32 via
 * <gateway>`, IPv4 and IPv6) and an IPv6 local-block blackhole. The kernel fills in the device it chose
 * (the gateway's interface; `lo` for an IPv6 blackhole) and reports it in dumps and notifications, so a
 * strict comparison would rewrite these routes on every full resync and on their own notifications.
 * Writes are counted twice: by the pass results and as route notifications on a netlink socket of ours.
 */
import { expect, it } from "vitest";
import { type ClusterState, Dataplane } from "../../../felix/dataplane.js";
import { NetlinkEvents, type RtnlEvent } from "../../../felix/netlink/events.js";
import { FakeClock } from "../../harness/clock.js";
import { connectVeth, Netns } from "../../harness/netns.js";
import { describeWith } from "../../harness/requirements.js";
import { type Scope, testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { logger } from "./cluster.js";

/** The destinations felix programs below, none of them with a device in the desired state. */
const OURS = ["192.0.2.1/32", "2001:db8:99::1/128", "fd00:65:1::/122", "10.65.1.0/26"];
/** The ones the kernel reports with an oif it chose itself (the IPv4 blackhole has none). */
const KERNEL_CHOSEN_OIF = ["192.0.2.1/32", "2001:db8:99::1/128", "fd00:65:1::/122"];

const state: ClusterState = {
  thisNode: { name: "node-1", ipv4Address: "10.0.0.1/24", ipv6Address: "fd00::1/64" },
  nodes: [{ name: "node-1", ipv4Address: "10.0.0.1/24", ipv6Address: "fd00::1/64" }],
  pools: [{ cidr: "10.65.0.0/16" }, { cidr: "fd00:65::/48" }],
  blocks: [
    { cidr: "10.65.1.0/26", node: "node-1" },
    { cidr: "fd00:65:1::/122", node: "node-1" },
  ],
  workloads: [],
  staticRoutes: [
    { dst: "192.0.2.1/32", nextHop: "10.0.0.254" },
    { dst: "2001:db8:99::1/128", nextHop: "fd00::254" },
  ],
};

/** A node with eth0 on 10.0.0.0/24 and fd00::/64, the gateway (10.0.0.254, fd00::254) at the far end. */
async function node(scope: Scope): Promise<Netns> {
  const ns = await Netns.create(scope, { forwarding: true });
  const gw = await Netns.create(scope);
  await connectVeth(
    { ns, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { ns: gw, name: "eth0", addresses: ["10.0.0.254/24", "fd00::254/64"] },
  );
  return ns;
}

function dstOf(e: RtnlEvent): string | undefined {
  return e.kind === "route" ? e.route.dst : undefined;
}

/** Route notifications of felix's own destinations seen on a socket of ours. */
function watchOurs(scope: Scope, ns: Netns): { events: RtnlEvent[]; ours: () => RtnlEvent[] } {
  const events: RtnlEvent[] = [];
  const ev = NetlinkEvents.open((e) => events.push(...e), { netnsPath: `/run/netns/${ns.name}` });
  scope.defer("close event watcher", () => ev.close());
  return { events, ours: () => events.filter((e) => OURS.includes(dstOf(e) ?? "")) };
}

async function kernelRoutes(ns: Netns): Promise<string> {
  const v4 = await ns.ip("-d", "route", "show", "proto", "80");
  const v6 = await ns.ip("-d", "-6", "route", "show", "proto", "80");
  return v4.stdout + v6.stdout;
}

describeWith(["root", "iproute2", "nft"], "felix routes without a device", () => {
  it("are written once: a second pass, a full resync and a restart write nothing", async () => {
    const scope = testScope();
    const ns = await node(scope);
    const dp = new Dataplane({ logger, clock: new FakeClock(), netnsPath: `/run/netns/${ns.name}` });
    scope.defer("close dataplane", () => dp.close());
    dp.setState(state);

    const first = await dp.apply();
    expect(first.errors).toEqual([]);
    expect(first.routes).toMatchObject({ full: true, replaced: OURS.length, deleted: 0 });
    const programmed = await kernelRoutes(ns);
    // The kernel chose the devices: eth0 for the gateways, lo for the IPv6 blackhole.
    expect(programmed).toMatch(/192\.0\.2\.1 via 10\.0\.0\.254 dev eth0/);
    expect(programmed).toMatch(/2001:db8:99::1 via fd00::254 dev eth0/);
    expect(programmed).toMatch(/blackhole fd00:65:1::\/122 dev lo/);

    expect((await dp.apply()).routes).toMatchObject({ replaced: 0, deleted: 0, errors: [] });
    dp.routeTable.requestFullResync();
    expect((await dp.apply()).routes).toMatchObject({ full: true, replaced: 0, deleted: 0, errors: [] });
    dp.routeTable.requestFullResync();
    expect((await dp.apply()).routes).toMatchObject({ full: true, replaced: 0, deleted: 0, errors: [] });
    dp.close();

    const restarted = new Dataplane({ logger, clock: new FakeClock(), netnsPath: `/run/netns/${ns.name}` });
    scope.defer("close restarted dataplane", () => restarted.close());
    restarted.setState(state);
    expect((await restarted.apply()).routes).toMatchObject({
      full: true,
      replaced: 0,
      deleted: 0,
      errors: [],
    });
    expect(await kernelRoutes(ns)).toBe(programmed);
  });

  it("are not rewritten on their own notifications or on the refresh timer; re-added when deleted", async () => {
    const scope = testScope();
    const ns = await node(scope);
    const watch = watchOurs(scope, ns);
    const clock = new FakeClock();
    const dp = new Dataplane({ logger, clock, netnsPath: `/run/netns/${ns.name}` });
    scope.defer("close dataplane", () => dp.close());
    dp.setState(state);
    dp.start(); // opens felix's event socket; passes below are run explicitly, the clock only for the refresh

    const first = await dp.apply();
    expect(first.errors).toEqual([]);
    expect(first.routes).toMatchObject({ replaced: OURS.length, deleted: 0 });

    // A foreign marker route written after ours: once felix's mirror holds it, felix has also handled
    // the notifications of its own routes (a netlink socket delivers in order).
    let markers = 0;
    const settle = async (): Promise<void> => {
      const dst = `10.97.0.${++markers}`;
      await ns.ip("route", "add", `${dst}/32`, "via", "10.0.0.254");
      await eventually(() => dp.routeTable.snapshot().some((r) => r.dst === `${dst}/32`), {
        what: `felix's mirror to hold marker ${dst}`,
      });
    };

    await settle();
    expect(
      watch
        .ours()
        .filter((e) => e.kind === "route" && KERNEL_CHOSEN_OIF.includes(e.route.dst))
        .every((e) => e.kind === "route" && e.route.oif !== undefined),
    ).toBe(true);
    expect(watch.ours()).toHaveLength(OURS.length);
    // The keys of those notifications are dirty now: the next pass looks at them and must find them right.
    expect(await dp.routeTable.apply()).toMatchObject({ full: false, replaced: 0, deleted: 0, errors: [] });
    expect((await dp.apply()).routes).toMatchObject({ replaced: 0, deleted: 0, errors: [] });

    // The refresh timer (routeRefreshInterval): a full dump, then everything diffed.
    await clock.advanceAsync(90_000);
    const refreshed = await dp.apply();
    expect(refreshed.errors).toEqual([]);
    expect(refreshed.routes).toMatchObject({ replaced: 0, deleted: 0 });
    expect(await dp.routeTable.apply()).toMatchObject({ replaced: 0, deleted: 0, errors: [] });
    await settle();
    expect(await dp.routeTable.apply()).toMatchObject({ replaced: 0, deleted: 0, errors: [] });
    expect(watch.ours()).toHaveLength(OURS.length); // no write reached the kernel after the first pass

    // Someone deletes the reachableBy route: its notification alone brings it back (no full resync).
    await ns.ip("route", "del", "192.0.2.1/32");
    await eventually(() => !dp.routeTable.snapshot().some((r) => r.dst === "192.0.2.1/32"), {
      what: "felix's mirror to drop the deleted route",
    });
    expect(await dp.routeTable.apply()).toMatchObject({ full: false, replaced: 1, deleted: 0, errors: [] });
    expect(await kernelRoutes(ns)).toMatch(/192\.0\.2\.1 via 10\.0\.0\.254 dev eth0/);
    await settle();
    expect(await dp.routeTable.apply()).toMatchObject({ replaced: 0, deleted: 0, errors: [] });
  });
});
