/**
 * felix's rtnetlink client against the real kernel, in a throwaway namespace reached by opening the socket
 * there (setns on the addon's helper thread): dumps, batched writes with per-request ACKs and errno
 * mapping, links (veth, vxlan), addresses, neighbours, FDB entries, and multicast events. `ip` observes.
 */
import { expect, it } from "vitest";
import { NetlinkError } from "../../../felix/errors.js";
import { NUD, RTN, RTNH_F, RTPROT } from "../../../felix/netlink/constants.js";
import { NetlinkEvents, type RtnlEvent } from "../../../felix/netlink/events.js";
import type { Route } from "../../../felix/netlink/route-codec.js";
import { Rtnetlink } from "../../../felix/netlink/rtnetlink.js";
import { isTabbyError } from "../../../src/util/errors.js";
import { connectVeth, Netns } from "../../harness/netns.js";
import { describeWith } from "../../harness/requirements.js";
import { type Scope, testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";

async function setup(scope: Scope): Promise<{ ns: Netns; peer: Netns; nl: Rtnetlink; eth0: number }> {
  const ns = await Netns.create(scope);
  const peer = await Netns.create(scope);
  await connectVeth(
    { ns, name: "eth0", addresses: ["10.0.0.1/24"] },
    { ns: peer, name: "eth0", addresses: ["10.0.0.2/24"] },
  );
  const nl = Rtnetlink.open({ netnsPath: `/run/netns/${ns.name}` });
  scope.defer("close netlink socket", () => nl.close());
  const eth0 = (await nl.dumpLinks()).find((l) => l.name === "eth0")!.index;
  return { ns, peer, nl, eth0 };
}

const r = (x: Partial<Route> & Pick<Route, "dst">): Route => ({
  family: 4,
  table: 254,
  protocol: RTPROT.CALICO,
  scope: 0,
  type: RTN.UNICAST,
  tos: 0,
  flags: 0,
  ...x,
});

describeWith(["root", "iproute2"], "rtnetlink client in a namespace", () => {
  it("dumps links and addresses of the namespace it was opened in", async () => {
    const { nl } = await setup(testScope());
    const links = await nl.dumpLinks();
    expect(links.map((l) => l.name).sort()).toEqual(["eth0", "lo"]);
    expect(links.find((l) => l.name === "eth0")).toMatchObject({ kind: "veth", mtu: 1500 });
    const addrs = await nl.dumpAddrs(4);
    expect(addrs.map((a) => `${a.address}/${a.prefixLen}`).sort()).toEqual(["10.0.0.1/24", "127.0.0.1/8"]);
  });

  it("writes 3000 routes in batches and reads them back in one dump", async () => {
    const { ns, nl, eth0 } = await setup(testScope());
    const writes = Array.from({ length: 3000 }, (_, i) => ({
      op: "replace" as const,
      route: r({ dst: `10.100.${i >> 8}.${i & 255}/32`, gateway: "10.0.0.2", oif: eth0 }),
    }));
    const before = { ...nl.socket.stats };
    expect(await nl.writeRoutes(writes)).toEqual([]);
    expect(nl.socket.stats.sends - before.sends).toBe(3); // 1024 requests per send(2)
    const recvs = nl.socket.stats.recvs;
    const routes = (await nl.dumpRoutes(4)).filter((x) => x.protocol === RTPROT.CALICO);
    expect(routes).toHaveLength(3000);
    // One draining receive call takes every part of the dump (~32 KiB datagrams), not one per route.
    expect(nl.socket.stats.recvs - recvs).toBeLessThanOrEqual(2);
    expect(routes[0]).toEqual(r({ dst: "10.100.0.0/32", gateway: "10.0.0.2", oif: eth0 }));
    const shown = await ns.routes({ filter: ["proto", "80"] });
    expect(shown).toHaveLength(3000);
  });

  it("maps each refused request to its errno and names it; the rest of the batch is applied", async () => {
    const { nl, eth0 } = await setup(testScope());
    const failures = await nl.writeRoutes([
      { op: "replace", route: r({ dst: "10.1.0.0/24", gateway: "10.0.0.2", oif: eth0 }) },
      { op: "replace", route: r({ dst: "10.2.0.0/24", oif: 999, scope: 253 }), label: "to missing dev" },
      { op: "add", route: r({ dst: "10.1.0.0/24", gateway: "10.0.0.2", oif: eth0 }) },
      { op: "delete", route: r({ dst: "10.9.0.0/24" }) },
      { op: "replace", route: r({ dst: "10.3.0.0/24", type: RTN.BLACKHOLE }) },
    ]);
    expect(failures.map((f) => [f.write.route.dst, f.error.code])).toEqual([
      ["10.2.0.0/24", "NETLINK_ENODEV"],
      ["10.1.0.0/24", "NETLINK_EEXIST"],
      ["10.9.0.0/24", "NETLINK_ESRCH"],
    ]);
    const e = failures[0]!.error;
    expect(e).toBeInstanceOf(NetlinkError);
    expect(isTabbyError(e, "NETLINK_ENODEV")).toBe(true);
    expect(e.errno).toBe(19);
    expect(e.message).toContain("replace route to missing dev");
    const dsts = (await nl.dumpRoutes(4)).filter((x) => x.protocol === 80).map((x) => x.dst);
    expect(dsts.sort()).toEqual(["10.1.0.0/24", "10.3.0.0/24"]);
  });

  it("reports the kernel's extended ACK message", async () => {
    const { nl, eth0 } = await setup(testScope());
    const [f] = await nl.writeRoutes([
      { op: "replace", route: r({ dst: "10.1.0.0/24", gateway: "192.168.9.9", oif: eth0 }) },
    ]);
    expect(f?.error.code).toBe("NETLINK_ENETUNREACH");
    expect(f?.error.extack).toMatch(/gateway|nexthop/i);
  });

  it("creates a VXLAN device as Calico does, reads it back, and programs neighbour and FDB entries", async () => {
    const { ns, nl, eth0 } = await setup(testScope());
    await nl.newLink({
      name: "vxlan.calico",
      kind: "vxlan",
      address: "66:0a:0b:0c:0d:0e",
      mtu: 1450,
      vxlan: { vni: 4096, port: 4789, local: "10.0.0.1", parentIndex: eth0, learning: false },
    });
    const link = (await nl.dumpLinks()).find((l) => l.name === "vxlan.calico")!;
    expect(link).toMatchObject({
      kind: "vxlan",
      mtu: 1450,
      address: "66:0a:0b:0c:0d:0e",
      vxlan: { vni: 4096, port: 4789, local: "10.0.0.1", parentIndex: eth0, learning: false },
    });
    await nl.setLink(link.index, { up: true });
    await nl.addr("replace", { index: link.index, address: "10.65.1.0", prefixLen: 32 });
    await nl.neigh("replace", { index: link.index, dst: "10.65.2.0", lladdr: "66:aa:bb:cc:dd:ee" });
    await nl.fdb("replace", { index: link.index, lladdr: "66:aa:bb:cc:dd:ee", dst: "10.0.0.2" });
    expect(await nl.dumpNeighs(4)).toContainEqual(
      expect.objectContaining({ index: link.index, dst: "10.65.2.0", state: NUD.PERMANENT }),
    );
    expect(await nl.dumpFdb(link.index)).toContainEqual(
      expect.objectContaining({ lladdr: "66:aa:bb:cc:dd:ee", dst: "10.0.0.2", flags: 2 }),
    );
    const fdb = await ns.exec("bridge", ["fdb", "show", "dev", "vxlan.calico"]);
    expect(fdb.stdout).toContain("66:aa:bb:cc:dd:ee dst 10.0.0.2 self permanent");
    await nl.writeRoutes([
      {
        op: "replace",
        route: r({ dst: "10.65.2.0/26", gateway: "10.65.2.0", oif: link.index, flags: RTNH_F.ONLINK }),
      },
    ]);
    const shown = await ns.routes({ filter: ["dev", "vxlan.calico", "proto", "80"] });
    expect(shown).toEqual([
      expect.objectContaining({ dst: "10.65.2.0/26", gateway: "10.65.2.0", flags: ["onlink"] }),
    ]);
    await nl.delLink(link.index, "vxlan.calico");
    expect((await nl.dumpLinks()).some((l) => l.name === "vxlan.calico")).toBe(false);
  });

  it("creates a veth whose peer lands in another namespace", async () => {
    const scope = testScope();
    const { nl, peer } = await setup(scope);
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync(`/run/netns/${peer.name}`, "r");
    try {
      await nl.newLink({ name: "cali12345", kind: "veth", peer: { name: "eth1", netnsFd: fd } });
    } finally {
      closeSync(fd);
    }
    expect((await nl.dumpLinks()).find((l) => l.name === "cali12345")?.kind).toBe("veth");
    expect((await peer.ip("-j", "link", "show", "eth1")).stdout).toContain("eth1");
  });

  it("delivers link, address and route events from the namespace", async () => {
    const scope = testScope();
    const { ns, nl, eth0 } = await setup(scope);
    const seen: RtnlEvent[] = [];
    const events = NetlinkEvents.open((evs) => seen.push(...evs), { netnsPath: `/run/netns/${ns.name}` });
    scope.defer("close events", () => events.close());
    await nl.writeRoutes([
      { op: "replace", route: r({ dst: "10.7.0.0/16", gateway: "10.0.0.2", oif: eth0 }) },
    ]);
    await ns.ip("link", "set", "eth0", "mtu", "1400");
    await ns.ip("addr", "add", "10.0.1.1/24", "dev", "eth0");
    await nl.writeRoutes([{ op: "delete", route: r({ dst: "10.7.0.0/16", oif: eth0 }) }]);
    await eventually(
      () =>
        seen.some((e) => e.kind === "route" && e.op === "del" && e.route.dst === "10.7.0.0/16") &&
        seen.some((e) => e.kind === "addr" && e.addr.address === "10.0.1.1") &&
        seen.some((e) => e.kind === "link" && e.link.mtu === 1400),
      { what: "route, address and link events" },
    );
    const routeNew = seen.find((e) => e.kind === "route" && e.op === "new" && e.route.dst === "10.7.0.0/16");
    expect(routeNew).toMatchObject({ route: { gateway: "10.0.0.2", protocol: 80 } });
  });
});
