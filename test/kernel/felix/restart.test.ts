/**
 * felix across restarts and with bad desired state, on the real kernel: a new instance over correct state
 * changes nothing (counted as route notifications on a netlink socket of our own); an instance killed
 * while writing a batch leaves state the next one converges; other protocols' routes (BIRD's 12, an
 * operator's) are left alone; a route via a missing interface and a /32 wanted on two interfaces are
 * reported by name while everything else is applied; a workload whose veth appears late is programmed
 * from the link notification; a CNI-added route on a cali* lives out its grace.
 */
import { expect, it } from "vitest";
import { Dataplane } from "../../../felix/dataplane.js";
import { NetlinkEvents, type RtnlEvent } from "../../../felix/netlink/events.js";
import { Rtnetlink } from "../../../felix/netlink/rtnetlink.js";
import { RouteTable } from "../../../felix/routes/route-table.js";
import { FakeClock } from "../../harness/clock.js";
import { connectVeth, Netns } from "../../harness/netns.js";
import { describeWith } from "../../harness/requirements.js";
import { type Scope, testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { addPod, buildCluster, logger, ping } from "./cluster.js";
import { syntheticRoutes } from "./fixtures/routes.js";

function countEvents(scope: Scope, ns: Netns): RtnlEvent[] {
  const seen: RtnlEvent[] = [];
  const ev = NetlinkEvents.open((e) => seen.push(...e), { netnsPath: `/run/netns/${ns.name}` });
  scope.defer("close event counter", () => ev.close());
  return seen;
}

async function routeCount(ns: Netns, proto = "80"): Promise<number> {
  const r = await ns.ip("route", "show", "proto", proto);
  return r.stdout.split("\n").filter((l) => l.trim() !== "").length;
}

describeWith(["root", "iproute2", "ping"], "felix restart and bad state", () => {
  it("a new instance over correct state writes nothing and leaves other protocols' routes alone", async () => {
    const scope = testScope();
    const c = await buildCluster(scope);
    const n1 = c.nodes[0]!;
    await n1.ns.ip("route", "add", "10.99.0.0/24", "via", "10.0.0.254", "proto", "bird");
    await n1.ns.ip("route", "add", "10.98.0.0/24", "via", "10.0.0.254"); // an operator's (proto boot)
    await c.program();
    n1.dataplane.close();
    const before = await n1.ns.routes();

    const events = countEvents(scope, n1.ns);
    const restarted = new Dataplane({ logger, netnsPath: `/run/netns/${n1.ns.name}` });
    scope.defer("close restarted dataplane", () => restarted.close());
    restarted.setState(c.stateFor(0));
    const r = await restarted.apply();
    expect(r.errors).toEqual([]);
    expect(r.routes).toMatchObject({ full: true, replaced: 0, deleted: 0 });
    // A marker route written afterwards proves the event socket was live during the pass.
    await n1.ns.ip("route", "add", "10.97.0.0/24", "via", "10.0.0.254");
    await eventually(() => events.some((e) => e.kind === "route" && e.route.dst === "10.97.0.0/24"), {
      what: "the marker route's notification",
    });
    const changes = events.filter((e) => e.kind === "route" && e.route.dst !== "10.97.0.0/24");
    expect(changes).toEqual([]);
    expect(events.filter((e) => e.kind === "link" || e.kind === "neigh")).toEqual([]);
    await n1.ns.ip("route", "del", "10.97.0.0/24");
    expect(await n1.ns.routes()).toEqual(before);
    expect(await routeCount(n1.ns, "bird")).toBe(1);
    expect(await ping(n1.pods[0]!.ns, c.nodes[1]!.pods[0]!.ip)).toBe(true);
  });

  it("an instance killed in the middle of a batch is converged by the next one, adopting what it wrote", async () => {
    const scope = testScope();
    const ns = await Netns.create(scope);
    const peer = await Netns.create(scope);
    await connectVeth(
      { ns, name: "eth0", addresses: ["10.0.0.1/24"] },
      { ns: peer, name: "eth0", addresses: ["10.0.0.2/24"] },
    );
    await ns.ip("route", "add", "10.99.0.0/24", "via", "10.0.0.2", "proto", "bird");
    const n = 100_000;
    // Kill the writer on the first notification of one of its routes: it is then mid-batch.
    let child: ReturnType<Netns["spawnNode"]> | undefined;
    let killedAt = -1;
    const watcher = NetlinkEvents.open(
      (evs) => {
        if (
          killedAt < 0 &&
          child !== undefined &&
          evs.some((e) => e.kind === "route" && e.route.protocol === 80)
        ) {
          process.kill(child.pid, "SIGKILL");
          killedAt = evs.length;
        }
      },
      { netnsPath: `/run/netns/${ns.name}` },
    );
    scope.defer("close watcher", () => watcher.close());
    child = ns.spawnNode(new URL("fixtures/program-routes.ts", import.meta.url), [String(n), "256"]);
    await child.exited;
    watcher.close();
    expect(killedAt).toBeGreaterThan(0);
    const left = await routeCount(ns);
    expect(left).toBeLessThan(n); // it really died mid-way

    const nl = Rtnetlink.open({ netnsPath: `/run/netns/${ns.name}` });
    scope.defer("close netlink", () => nl.close());
    const table = new RouteTable({ nl, clock: new FakeClock(), logger });
    table.setDesired(syntheticRoutes(n));
    const r = await table.apply();
    expect(r.errors).toEqual([]);
    expect(r.replaced).toBe(n - left);
    expect(await routeCount(ns)).toBe(n);
    expect(await routeCount(ns, "bird")).toBe(1);
    const next = new RouteTable({ nl, clock: new FakeClock(), logger });
    next.setDesired(syntheticRoutes(n));
    expect(await next.apply()).toMatchObject({ replaced: 0, deleted: 0, errors: [] });
  });

  it("names a route via a missing interface and a /32 wanted on two interfaces; applies the rest", async () => {
    const scope = testScope();
    const c = await buildCluster(scope, { nodeCount: 2 });
    const [n1, n2] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0]];
    const dup = await addPod(scope, n1, "10.65.1.6");
    await c.program();
    const base = c.stateFor(0);
    n1.dataplane.setState({
      ...base,
      workloads: [
        ...base.workloads,
        { name: "default/ghost", ifName: "cali0000000ghost", ipNetworks: ["10.65.1.9/32"] },
        {
          name: "default/twin",
          ifName: dup.ifName,
          ipNetworks: ["10.65.1.5/32", "10.65.1.6/32"],
          mac: dup.mac,
        },
      ],
    });
    const r = await n1.dataplane.apply();
    expect(r.errors.map((e) => e.message).sort()).toEqual([
      `route 10.65.1.5/32 wanted twice: by workload default/${n1.pods[0]!.name} on ${n1.pods[0]!.ifName} and by workload default/twin on ${dup.ifName}; keeping the first`,
      "route 10.65.1.9/32 (workload default/ghost on cali0000000ghost): interface cali0000000ghost does not exist",
    ]);
    expect(r.errors.map((e) => (e as { code: string }).code).sort()).toEqual([
      "FELIX_NO_INTERFACE",
      "FELIX_ROUTE_CONFLICT",
    ]);
    const routes = await n1.ns.routes({ filter: ["proto", "boot"] });
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.65.1.5", dev: n1.pods[0]!.ifName }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.65.1.6", dev: dup.ifName }));
    expect(await ping(n1.pods[0]!.ns, n2.pods[0]!.ip)).toBe(true);
    expect(await ping(dup.ns, n2.pods[0]!.ip)).toBe(true);
  });

  it("programs a workload whose interface appears after felix heard of it, on the link event", async () => {
    const scope = testScope();
    const c = await buildCluster(scope, { nodeCount: 2 });
    const [n1, n2] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0]];
    await c.program();
    const clock = new FakeClock();
    const dp = new Dataplane({ logger, clock, netnsPath: `/run/netns/${n1.ns.name}` });
    scope.defer("close dataplane", () => dp.close());
    const base = c.stateFor(0);
    const ifName = "cali0000late001";
    dp.setState({
      ...base,
      workloads: [...base.workloads, { name: "default/late", ifName, ipNetworks: ["10.65.1.8/32"] }],
    });
    dp.start();
    await eventually(
      async () => {
        await clock.advanceAsync(0);
        return dp.last?.errors.some((e) => e.message.includes(`interface ${ifName} does not exist`));
      },
      { what: "the first pass to report the missing interface" },
    );
    // The CNI plugin creates the veth now; felix learns of it from the link notification alone.
    const pod = await Netns.create(scope);
    await connectVeth({ ns: pod, name: "eth0", addresses: ["10.65.1.8/32"] }, { ns: n1.ns, name: ifName });
    await pod.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
    await pod.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
    await eventually(
      async () => {
        await clock.advanceAsync(0);
        return (
          (await n1.ns.routes({ filter: ["10.65.1.8/32"] })).length === 1 && dp.last?.errors.length === 0
        );
      },
      { what: "the late workload's route" },
    );
    const sys = await n1.ns.exec("sysctl", ["-n", `net.ipv4.conf.${ifName}.proxy_arp`]);
    expect(sys.stdout.trim()).toBe("1");
    expect(await ping(pod, n2.pods[0]!.ip)).toBe(true);
  });

  it("leaves a CNI-added route on a cali* alone for the grace period, then removes it", async () => {
    const scope = testScope();
    const c = await buildCluster(scope, { nodeCount: 1 });
    const n1 = c.nodes[0]!;
    const clock = new FakeClock();
    const dp = new Dataplane({ logger, clock, netnsPath: `/run/netns/${n1.ns.name}` });
    scope.defer("close dataplane", () => dp.close());
    dp.setState(c.stateFor(0));
    dp.start();
    await eventually(
      async () => {
        await clock.advanceAsync(0);
        return dp.last !== undefined;
      },
      { what: "the first pass" },
    );
    // The CNI plugin adds a pod's /32 before felix hears of the pod.
    const pod = await addPod(scope, n1, "10.65.1.7");
    await n1.ns.ip("route", "add", "10.65.1.7/32", "dev", pod.ifName, "scope", "link");
    const stray = async () => (await n1.ns.routes({ filter: ["10.65.1.7/32"] })).length;
    await clock.advanceAsync(9_000);
    expect(await stray()).toBe(1);
    await eventually(
      async () => {
        await clock.advanceAsync(1_000);
        return (await stray()) === 0;
      },
      { what: "the stray route to be removed after the grace period" },
    );
    expect(clock.now()).toBeGreaterThanOrEqual(10_000);
  });
});
