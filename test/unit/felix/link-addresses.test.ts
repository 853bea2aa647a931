/**
 * The local workload peering address on cali* interfaces (Calico's endpoint manager + linkaddrs): added
 * as a /32 or /128 with scope link where a local BGP peer wants it, removed when the workload stops
 * peering or the configured address changes, adopted as is after a restart, and never anything felix
 * does not own. Against the fake kernel (fake-rtnetlink.ts), the manager alone and inside a Dataplane pass.
 */
import pino from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { Dataplane } from "../../../felix/dataplane.js";
import { diffLinkAddresses, LinkAddresses } from "../../../felix/managers/link-addresses.js";
import type { DesiredLinkAddress } from "../../../felix/model/desired.js";
import type { DesiredInputs } from "../../../felix/model/inputs.js";
import type { Addr } from "../../../felix/netlink/addr-codec.js";
import { RT_SCOPE } from "../../../felix/netlink/constants.js";
import { FakeRtnetlink } from "./fake-rtnetlink.js";

const logger = pino({ level: "silent" });
const isWorkloadIface = (n: string) => n.startsWith("cali");
const PEER4 = "169.254.0.179";
const PEER6 = "fe80::179";

const want = (ifName: string, address: string): DesiredLinkAddress => ({
  ifName,
  address,
  prefixLen: address.includes(":") ? 128 : 32,
  owner: `local BGP peer default/speaker on ${ifName}`,
});

describe("peering addresses on workload interfaces", () => {
  let nl: FakeRtnetlink;
  let cali1: number;
  let cali2: number;
  let eth0: number;
  const addr = (index: number, address: string, prefixLen: number, scope: number): Addr => ({
    family: address.includes(":") ? 6 : 4,
    index,
    address,
    prefixLen,
    scope,
    flags: 0x80,
  });
  const onLinks = () =>
    nl.addrs
      .map(
        (a) =>
          `${[...nl.links.values()].find((l) => l.index === a.index)?.name} ${a.address}/${a.prefixLen} scope ${a.scope}`,
      )
      .sort();
  const run = async (
    mgr: LinkAddresses,
    linkAddresses: DesiredLinkAddress[],
    ownedLinkAddresses: string[] = [],
  ) => mgr.apply({ linkAddresses, ownedLinkAddresses }, await nl.dumpLinks(), await nl.dumpAddrs());

  beforeEach(() => {
    nl = new FakeRtnetlink();
    eth0 = nl.addLink("eth0").index;
    cali1 = nl.addLink("cali1").index;
    cali2 = nl.addLink("cali2").index;
    // What the kernel and others put there: never felix's to remove.
    nl.addrs.push(
      addr(eth0, "10.0.0.11", 24, RT_SCOPE.UNIVERSE),
      addr(eth0, PEER4, 32, RT_SCOPE.LINK), // the same IP on a non-workload interface
      addr(cali1, "fe80::ecee:eeff:feee:eeee", 64, RT_SCOPE.LINK), // the kernel's link-local
      addr(cali2, "169.254.7.7", 32, RT_SCOPE.LINK), // an operator's, not a peering address
    );
  });

  it("adds the address with scope link where a peer wants it, once; a second pass writes nothing", async () => {
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    const r = await run(mgr, [want("cali1", PEER4), want("cali1", PEER6)], [PEER4, PEER6]);
    expect(r).toEqual({ added: 2, removed: 0, errors: [] });
    expect(nl.addrs).toContainEqual(
      expect.objectContaining({ index: cali1, address: PEER4, prefixLen: 32, scope: 253 }),
    );
    expect(nl.addrs).toContainEqual(
      expect.objectContaining({ index: cali1, address: PEER6, prefixLen: 128, scope: 253 }),
    );
    const writes = nl.counts.addrWrites;
    expect(await run(mgr, [want("cali1", PEER4), want("cali1", PEER6)], [PEER4, PEER6])).toEqual({
      added: 0,
      removed: 0,
      errors: [],
    });
    expect(nl.counts.addrWrites).toBe(writes);
  });

  it("adopts correct state after a restart: a new manager writes nothing", async () => {
    nl.addrs.push(addr(cali1, PEER4, 32, RT_SCOPE.LINK));
    const fresh = new LinkAddresses(nl, isWorkloadIface, logger);
    expect(await run(fresh, [want("cali1", PEER4)], [PEER4])).toEqual({ added: 0, removed: 0, errors: [] });
    expect(nl.counts.addrWrites).toBe(0);
  });

  it("removes the address when the workload stops peering, and only that one", async () => {
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    await run(mgr, [want("cali1", PEER4), want("cali2", PEER4)], [PEER4]);
    const before = onLinks();
    expect(await run(mgr, [want("cali2", PEER4)], [PEER4])).toEqual({ added: 0, removed: 1, errors: [] });
    expect(onLinks()).toEqual(before.filter((a) => a !== `cali1 ${PEER4}/32 scope 253`));
    // BGPPeer gone and the configured IP removed too: felix still knows what it put there.
    expect(await run(mgr, [], [])).toEqual({ added: 0, removed: 1, errors: [] });
    expect(onLinks()).toEqual([
      "cali1 fe80::ecee:eeff:feee:eeee/64 scope 253",
      "cali2 169.254.7.7/32 scope 253",
      "eth0 10.0.0.11/24 scope 0",
      `eth0 ${PEER4}/32 scope 253`,
    ]);
  });

  it("moves to a changed configured address: the old one goes, the new one comes", async () => {
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    await run(mgr, [want("cali1", PEER4)], [PEER4]);
    expect(await run(mgr, [want("cali1", "169.254.0.178")], ["169.254.0.178"])).toEqual({
      added: 1,
      removed: 1,
      errors: [],
    });
    expect(onLinks()).toContain("cali1 169.254.0.178/32 scope 253");
    expect(onLinks()).not.toContain(`cali1 ${PEER4}/32 scope 253`);
  });

  it("after a restart removes leftovers of the configured address, and leaves unknown ones alone", async () => {
    nl.addrs.push(addr(cali1, PEER4, 32, RT_SCOPE.LINK), addr(cali2, "169.254.0.1", 32, RT_SCOPE.LINK));
    const fresh = new LinkAddresses(nl, isWorkloadIface, logger);
    expect(await run(fresh, [], [PEER4])).toEqual({ added: 0, removed: 1, errors: [] });
    expect(onLinks()).toContain("cali2 169.254.0.1/32 scope 253");
    expect(onLinks()).not.toContain(`cali1 ${PEER4}/32 scope 253`);
  });

  it("re-adds the wanted address held with another prefix or scope; leaves such copies alone where unwanted", async () => {
    nl.addrs.push(addr(cali1, PEER4, 32, RT_SCOPE.UNIVERSE), addr(cali2, PEER4, 24, RT_SCOPE.LINK));
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    expect(await run(mgr, [want("cali1", PEER4)], [PEER4])).toEqual({ added: 1, removed: 1, errors: [] });
    expect(onLinks()).toContain(`cali1 ${PEER4}/32 scope 253`);
    expect(onLinks()).not.toContain(`cali1 ${PEER4}/32 scope 0`);
    expect(onLinks()).toContain(`cali2 ${PEER4}/24 scope 253`);
  });

  it("waits for an interface that does not exist yet, and names a refused write", async () => {
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    expect(await run(mgr, [want("cali9", PEER4)], [PEER4])).toEqual({ added: 0, removed: 0, errors: [] });
    const plan = diffLinkAddresses(
      [want("cali1", PEER4)],
      new Set(),
      [],
      [...nl.links.values()],
      isWorkloadIface,
    );
    expect(plan).toEqual({
      remove: [],
      add: [
        { index: cali1, ifName: "cali1", address: PEER4, prefixLen: 32, owner: want("cali1", PEER4).owner },
      ],
    });
    // A veth deleted between the dump and the write: ENODEV on add waits for the link event, no error.
    const links = await nl.dumpLinks();
    nl.links.delete(cali1);
    const r = await mgr.apply({ linkAddresses: [want("cali1", PEER4)], ownedLinkAddresses: [] }, links, []);
    expect(r).toEqual({ added: 0, removed: 0, errors: [] });
  });

  it("an address already gone when removed is no error", async () => {
    const mgr = new LinkAddresses(nl, isWorkloadIface, logger);
    const stale = [...(await nl.dumpAddrs()), addr(cali1, PEER4, 32, RT_SCOPE.LINK)];
    const r = await mgr.apply(
      { linkAddresses: [], ownedLinkAddresses: [PEER4] },
      await nl.dumpLinks(),
      stale,
    );
    expect(r).toEqual({ added: 0, removed: 0, errors: [] });
  });
});

describe("a Dataplane pass programs peering addresses and counts them", () => {
  const state = (peering: string[]): Omit<DesiredInputs, "host" | "config"> => ({
    thisNode: { name: "n1", ipv4Address: "10.0.0.11/24" },
    nodes: [{ name: "n1", ipv4Address: "10.0.0.11/24" }],
    pools: [{ cidr: "10.65.0.0/16" }],
    blocks: [{ cidr: "10.65.0.0/26", node: "n1" }],
    workloads: [
      {
        name: "default/speaker",
        ifName: "cali1",
        ipNetworks: ["10.65.0.5/32"],
        ...(peering.length > 0 ? { peeringAddresses: peering } : {}),
      },
    ],
    localWorkloadPeeringIPs: [PEER4],
  });

  it("adds on the first pass, writes nothing on the next or after a restart, removes when unwanted", async () => {
    const nl = new FakeRtnetlink();
    nl.addLink("eth0");
    nl.addrs.push({ family: 4, index: 2, address: "10.0.0.11", prefixLen: 24, scope: 0, flags: 0x80 });
    const cali1 = nl.addLink("cali1").index;
    const open = () => new Dataplane({ logger, nl, nft: async () => {}, sysctls: { set: async () => {} } });
    const dp = open();
    dp.setState(state([PEER4]));
    const first = await dp.apply();
    expect(first.errors).toEqual([]);
    expect(first.linkAddresses).toEqual({ added: 1, removed: 0 });
    expect(first.desired.linkAddresses).toEqual([want("cali1", PEER4)]);
    expect(nl.addrs).toContainEqual(expect.objectContaining({ index: cali1, address: PEER4, scope: 253 }));
    expect((await dp.apply()).linkAddresses).toEqual({ added: 0, removed: 0 });
    dp.close();

    const restarted = open();
    restarted.setState(state([PEER4]));
    expect((await restarted.apply()).linkAddresses).toEqual({ added: 0, removed: 0 });
    restarted.setState(state([]));
    expect((await restarted.apply()).linkAddresses).toEqual({ added: 0, removed: 1 });
    expect(nl.addrs.some((a) => a.index === cali1 && a.address === PEER4)).toBe(false);
    restarted.close();
  });
});
