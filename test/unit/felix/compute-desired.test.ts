/**
 * computeDesired: Calico's route shapes per encapsulation (calico.md §2.6-2.11), CrossSubnet from this
 * node's subnet, tunnel devices and MTUs (§2.14), natOutgoing sets (§2.15), and bad input reported by
 * name while the rest is still computed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeDesired } from "../../../felix/model/compute-desired.js";
import type { DesiredInputs, HostRouteInput } from "../../../felix/model/inputs.js";
import { computeHostMtu } from "../../../felix/model/mtu.js";
import { computeVtepMac } from "../../../felix/model/vtep-mac.js";
import { isTabbyError } from "../../../src/util/errors.js";

const base = (over: Partial<DesiredInputs> = {}): DesiredInputs => ({
  thisNode: { name: "node-1", ipv4Address: "10.0.0.1/24", vxlanTunnelAddr: "10.65.1.0" },
  nodes: [
    { name: "node-1", ipv4Address: "10.0.0.1/24", vxlanTunnelAddr: "10.65.1.0" },
    { name: "node-2", ipv4Address: "10.0.0.2/24", vxlanTunnelAddr: "10.65.2.0" },
    { name: "node-4", ipv4Address: "10.0.1.4/24", vxlanTunnelAddr: "10.65.4.0" },
  ],
  pools: [{ cidr: "10.65.0.0/16", vxlanMode: "Always", natOutgoing: true }],
  blocks: [
    { cidr: "10.65.1.0/26", node: "node-1" },
    { cidr: "10.65.2.0/26", node: "node-2" },
    { cidr: "10.65.4.0/26", node: "node-4" },
  ],
  workloads: [
    { name: "default/web-1", ifName: "cali1111", ipNetworks: ["10.65.1.5/32"], mac: "AA:BB:CC:00:00:05" },
  ],
  host: { parentIface: "eth0", hostMtu: 1500 },
  ...over,
});

describe("computeDesired", () => {
  it("routes each local workload IP to its cali interface, proto boot, scope link, with a static ARP entry", () => {
    const d = computeDesired(base());
    expect(d.routes).toContainEqual({
      dst: "10.65.1.5/32",
      type: "unicast",
      protocol: 3,
      ifName: "cali1111",
      metric: 0,
      owner: "workload default/web-1 on cali1111",
    });
    expect(d.neighbours).toContainEqual({
      ifName: "cali1111",
      dst: "10.65.1.5",
      lladdr: "aa:bb:cc:00:00:05",
    });
    expect(d.workloads).toEqual([{ ifName: "cali1111", name: "default/web-1", ipv4: true, ipv6: false }]);
  });

  it("blackholes local blocks with proto 80, except /32 blocks", () => {
    const d = computeDesired(
      base({
        blocks: [
          { cidr: "10.65.1.0/26", node: "node-1" },
          { cidr: "10.65.9.9/32", node: "node-1" },
        ],
      }),
    );
    expect(d.routes.filter((r) => r.type === "blackhole")).toEqual([
      { dst: "10.65.1.0/26", type: "blackhole", protocol: 80, metric: 0, owner: "local block 10.65.1.0/26" },
    ]);
  });

  it("VXLAN Always: remote blocks via the VTEP on vxlan.calico onlink, with ARP + FDB per VTEP and Calico's MAC", () => {
    const d = computeDesired(base());
    expect(d.routes).toContainEqual(
      expect.objectContaining({
        dst: "10.65.2.0/26",
        ifName: "vxlan.calico",
        gateway: "10.65.2.0",
        onlink: true,
        protocol: 80,
        mtu: 1450,
      }),
    );
    const mac2 = computeVtepMac("node-2");
    expect(d.neighbours).toContainEqual({ ifName: "vxlan.calico", dst: "10.65.2.0", lladdr: mac2 });
    expect(d.fdb).toContainEqual({ ifName: "vxlan.calico", lladdr: mac2, dst: "10.0.0.2" });
    expect(d.vxlan).toEqual({
      name: "vxlan.calico",
      vni: 4096,
      port: 4789,
      parentIface: "eth0",
      localIp: "10.0.0.1",
      mac: computeVtepMac("node-1"),
      mtu: 1450,
      address: "10.65.1.0",
    });
    expect(d.podMtu).toBe(1450);
    expect(d.errors).toEqual([]);
  });

  it("CrossSubnet: direct via the parent interface inside this node's subnet, VXLAN outside it", () => {
    const d = computeDesired(base({ pools: [{ cidr: "10.65.0.0/16", vxlanMode: "CrossSubnet" }] }));
    const byDst = new Map(d.routes.map((r) => [r.dst, r]));
    expect(byDst.get("10.65.2.0/26")).toMatchObject({ gateway: "10.0.0.2", ifName: "eth0", protocol: 80 });
    expect(byDst.get("10.65.2.0/26")?.onlink).toBeUndefined();
    expect(byDst.get("10.65.4.0/26")).toMatchObject({
      gateway: "10.65.4.0",
      ifName: "vxlan.calico",
      onlink: true,
    });
    expect(d.fdb).toEqual([{ ifName: "vxlan.calico", lladdr: computeVtepMac("node-4"), dst: "10.0.1.4" }]);
  });

  it("CrossSubnet without a known local subnet encapsulates everything", () => {
    const d = computeDesired(
      base({
        thisNode: { name: "node-1", vxlanTunnelAddr: "10.65.1.0" },
        pools: [{ cidr: "10.65.0.0/16", ipipMode: "CrossSubnet" }],
      }),
    );
    expect(d.routes.find((r) => r.dst === "10.65.2.0/26")).toMatchObject({ ifName: "tunl0", onlink: true });
  });

  it("IP-in-IP Always: remote blocks via the node IP on tunl0 onlink; tunl0 MTU host - 20", () => {
    const d = computeDesired(
      base({
        thisNode: { name: "node-1", ipv4Address: "10.0.0.1/24", ipipTunnelAddr: "10.65.1.1" },
        pools: [{ cidr: "10.65.0.0/16", ipipMode: "Always" }],
      }),
    );
    expect(d.routes).toContainEqual(
      expect.objectContaining({ dst: "10.65.2.0/26", gateway: "10.0.0.2", ifName: "tunl0", onlink: true }),
    );
    expect(d.ipip).toEqual({ name: "tunl0", mtu: 1480, address: "10.65.1.1" });
    expect(d.vxlan).toBeUndefined();
    expect(d.podMtu).toBe(1480);
  });

  it("no encapsulation: via the node IP, over the parent interface when on our subnet", () => {
    const d = computeDesired(base({ pools: [{ cidr: "10.65.0.0/16" }] }));
    const byDst = new Map(d.routes.map((r) => [r.dst, r]));
    expect(byDst.get("10.65.2.0/26")).toMatchObject({ gateway: "10.0.0.2", ifName: "eth0" });
    expect(byDst.get("10.65.4.0/26")).toMatchObject({ gateway: "10.0.1.4" });
    expect(byDst.get("10.65.4.0/26")?.ifName).toBeUndefined();
    expect(d.vxlan).toBeUndefined();
    expect(d.podMtu).toBe(1500);
  });

  it("natOutgoing: masquerade set from natOutgoing pools, the no-NAT set from every pool", () => {
    const d = computeDesired(
      base({
        pools: [
          { cidr: "10.65.0.0/16", natOutgoing: true },
          { cidr: "10.66.0.0/16", disabled: true },
          { cidr: "fd65::/48", natOutgoing: true },
        ],
      }),
    );
    expect(d.nat).toEqual({
      masqPools4: ["10.65.0.0/16"],
      masqPools6: ["fd65::/48"],
      allPools4: ["10.65.0.0/16", "10.66.0.0/16"],
      allPools6: ["fd65::/48"],
    });
  });

  it("names a /32 wanted on two interfaces and still computes everything else", () => {
    const d = computeDesired(
      base({
        workloads: [
          { name: "a/one", ifName: "cali1", ipNetworks: ["10.65.1.5/32"] },
          { name: "b/two", ifName: "cali2", ipNetworks: ["10.65.1.5/32", "10.65.1.6/32"] },
        ],
      }),
    );
    expect(d.errors).toHaveLength(1);
    const e = d.errors[0]!;
    expect(isTabbyError(e, "FELIX_ROUTE_CONFLICT")).toBe(true);
    expect(e.message).toBe(
      "route 10.65.1.5/32 wanted twice: by workload a/one on cali1 and by workload b/two on cali2; keeping the first",
    );
    expect(d.routes.map((r) => r.dst)).toEqual(
      expect.arrayContaining(["10.65.1.5/32", "10.65.1.6/32", "10.65.2.0/26", "10.65.1.0/26"]),
    );
    expect(d.routes.find((r) => r.dst === "10.65.1.5/32")?.ifName).toBe("cali1");
  });

  it("reports blocks it cannot route (unknown node, no pool, bad CIDR) by name", () => {
    const d = computeDesired(
      base({
        blocks: [
          { cidr: "10.65.2.0/26", node: "node-2" },
          { cidr: "10.65.7.0/26", node: "ghost" },
          { cidr: "192.168.0.0/26", node: "node-2" },
          { cidr: "10.65.300.0/26", node: "node-2" },
        ],
      }),
    );
    expect(d.errors.map((e) => e.message)).toEqual([
      expect.stringContaining("10.65.300.0/26"),
      "block 10.65.7.0/26 of node ghost: node has no IPv4 address",
      "block 192.168.0.0/26 of node node-2: in no IPPool",
    ]);
    expect(d.routes.some((r) => r.dst === "10.65.2.0/26")).toBe(true);
  });

  it("IPv6 workloads and blocks: /128 routes, blackholes and no-encap routes", () => {
    const d = computeDesired(
      base({
        thisNode: { name: "node-1", ipv6Address: "fd00::1/64" },
        nodes: [{ name: "node-2", ipv6Address: "fd00::2/64" }],
        pools: [{ cidr: "fd65::/48" }],
        blocks: [
          { cidr: "fd65:0:0:1::/122", node: "node-1" },
          { cidr: "fd65:0:0:2::/122", node: "node-2" },
        ],
        workloads: [{ ifName: "cali6", ipNetworks: ["fd65:0:0:1::5/128"] }],
      }),
    );
    expect(d.routes.map((r) => [r.dst, r.type, r.gateway ?? r.ifName])).toEqual([
      ["fd65:0:0:1::5/128", "unicast", "cali6"],
      ["fd65:0:0:1::/122", "blackhole", undefined],
      ["fd65:0:0:2::/122", "unicast", "fd00::2"],
    ]);
  });

  it("puts a local BGP peer's peering addresses on its cali as /32 and /128, one per family, and owns the configured ones", () => {
    const d = computeDesired(
      base({
        workloads: [
          { name: "default/web-1", ifName: "cali1111", ipNetworks: ["10.65.1.5/32"] },
          {
            name: "default/speaker",
            ifName: "cali2222",
            ipNetworks: ["10.65.1.6/32", "fd65::6/128"],
            peeringAddresses: ["fe80:0:0::179", "169.254.0.179", "169.254.0.178", "nonsense"],
          },
          {
            name: "bad/iface",
            ifName: "eth9",
            ipNetworks: ["10.65.1.7/32"],
            peeringAddresses: ["169.254.0.179"],
          },
        ],
        localWorkloadPeeringIPs: ["169.254.0.179", "FE80::179", "169.254.0.179", "bogus"],
      }),
    );
    expect(d.linkAddresses).toEqual([
      {
        ifName: "cali2222",
        address: "169.254.0.179",
        prefixLen: 32,
        owner: "local BGP peer default/speaker on cali2222",
      },
      {
        ifName: "cali2222",
        address: "fe80::179",
        prefixLen: 128,
        owner: "local BGP peer default/speaker on cali2222",
      },
    ]);
    expect(d.ownedLinkAddresses).toEqual(["169.254.0.179", "fe80::179"]);
    expect(d.errors[1]?.subject).toEqual({ iface: "cali2222" });
    expect(d.errors.map((e) => e.message)).toEqual([
      "workload default/speaker on cali2222: peering addresses 169.254.0.179 and 169.254.0.178 are both IPv4; keeping 169.254.0.179",
      'workload default/speaker on cali2222: peering address: not a valid IPv4 address: "nonsense"',
      "workload bad/iface on eth9: interface name does not start with cali",
      'localWorkloadPeeringIP: not a valid IPv4 address: "bogus"',
    ]);
    // Nothing peers, nothing configured: no addresses, nothing owned.
    const plain = computeDesired(base());
    expect(plain.linkAddresses).toEqual([]);
    expect(plain.ownedLinkAddresses).toEqual([]);
  });
});

describe("VTEP MAC and MTU detection", () => {
  it("derives the VTEP MAC as 0x66 + the first five bytes of sha1(node name)", () => {
    const sha = createHash("sha1").update("node-2").digest("hex");
    expect(computeVtepMac("node-2")).toBe(`66:${sha.slice(0, 10).match(/../g)!.join(":")}`);
    const sha6 = createHash("sha1").update("node-2-v6").digest("hex");
    expect(computeVtepMac("node-2", 6)).toBe(`66:${sha6.slice(0, 10).match(/../g)!.join(":")}`);
  });

  it("takes the smallest MTU of up interfaces matching the pattern", () => {
    const pattern = /^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)/;
    const links = [
      { name: "lo", flags: 1, mtu: 65536 },
      { name: "eth0", flags: 1, mtu: 9000 },
      { name: "ens5", flags: 1, mtu: 1500 },
      { name: "eth1", flags: 0, mtu: 1280 },
      { name: "cali1", flags: 1, mtu: 1400 },
    ];
    expect(computeHostMtu(links, pattern)).toBe(1500);
    expect(computeHostMtu([{ name: "lo", flags: 1, mtu: 65536 }], pattern)).toBeUndefined();
  });
});

describe("computeDesired: routes learned over BGP", () => {
  const mixed = (over: Partial<DesiredInputs> = {}): DesiredInputs =>
    base({
      pools: [
        { cidr: "10.65.0.0/16", vxlanMode: "Always" },
        { cidr: "10.66.0.0/16" },
        { cidr: "10.67.0.0/16", ipipMode: "CrossSubnet" },
      ],
      blocks: [
        { cidr: "10.65.2.0/26", node: "node-2" },
        { cidr: "10.66.2.0/26", node: "node-2" },
        { cidr: "10.67.2.0/26", node: "node-2" },
      ],
      workloads: [],
      bgpRoutes: [
        { dst: "10.65.2.0/26", nextHop: "10.0.0.2" },
        { dst: "10.66.2.0/26", nextHop: "10.0.0.2", metric: 1024 },
        { dst: "10.67.2.0/26", nextHop: "10.0.0.2" },
        { dst: "10.67.4.0/26", nextHop: "10.0.1.4" },
        { dst: "0.0.0.0/0", nextHop: "10.0.0.254" },
        { dst: "192.0.2.0/24", nextHop: "10.9.9.9" },
      ],
      ...over,
    });
  const find = (d: ReturnType<typeof computeDesired>, dst: string) => d.routes.filter((r) => r.dst === dst);

  it("with encapsulated block routes: VXLAN and IP-in-IP pools from blocks, no-encap pools and the rest from BGP", () => {
    const d = computeDesired({ ...mixed(), config: { blockRoutes: "encapsulated" } });
    expect(find(d, "10.65.2.0/26").map((r) => [r.protocol, r.ifName])).toEqual([[80, "vxlan.calico"]]);
    expect(find(d, "10.67.2.0/26").map((r) => [r.protocol, r.ifName])).toEqual([[80, "eth0"]]);
    expect(find(d, "10.66.2.0/26")).toEqual([
      {
        dst: "10.66.2.0/26",
        type: "unicast",
        protocol: 12,
        gateway: "10.0.0.2",
        ifName: "eth0",
        metric: 1024,
        owner: "BGP route 10.66.2.0/26 via 10.0.0.2",
      },
    ]);
    expect(find(d, "0.0.0.0/0").map((r) => [r.protocol, r.gateway, r.ifName])).toEqual([
      [12, "10.0.0.254", "eth0"],
    ]);
    // Off our subnet and no host routes given: no device, the next hop as learned.
    expect(find(d, "192.0.2.0/24").map((r) => [r.gateway, r.ifName])).toEqual([["10.9.9.9", undefined]]);
    expect(d.errors).toEqual([]);
  });

  it("with VXLAN-only block routes, BGP programs IP-in-IP pools through tunl0 across subnets, directly within one", () => {
    const d = computeDesired({ ...mixed(), config: { blockRoutes: "vxlan" } });
    expect(find(d, "10.67.2.0/26").map((r) => [r.protocol, r.ifName, r.onlink])).toEqual([
      [12, "eth0", undefined],
    ]);
    expect(find(d, "10.67.4.0/26").map((r) => [r.protocol, r.ifName, r.gateway, r.onlink])).toEqual([
      [12, "tunl0", "10.0.1.4", true],
    ]);
  });

  it("never programs a learned route for something it routes itself, to itself, or with the other family's next hop", () => {
    const d = computeDesired({
      ...mixed({
        bgpRoutes: [
          { dst: "10.66.2.0/26", nextHop: "10.0.0.1" },
          { dst: "10.66.3.0/26", nextHop: "fd00::2" },
          { dst: "10.66.4.0/26", nextHop: "not-an-ip" },
        ],
      }),
      config: { blockRoutes: "encapsulated" },
    });
    expect(d.routes.filter((r) => r.protocol === 12)).toEqual([]);
    expect(d.errors.map((e) => e.message)).toEqual([
      expect.stringContaining("BGP route 10.66.4.0/26: next hop"),
    ]);
  });

  it("programs a peer's reachableBy route as its own, ahead of a learned route for the same address", () => {
    const d = computeDesired({
      ...mixed({
        bgpRoutes: [{ dst: "10.9.9.9/32", nextHop: "10.0.0.2" }],
        staticRoutes: [
          { dst: "10.9.9.9/32", nextHop: "10.0.0.254" },
          { dst: "10.9.9.8/32", nextHop: "fd00::1" },
        ],
      }),
      config: { blockRoutes: "encapsulated" },
    });
    expect(find(d, "10.9.9.9/32").map((r) => [r.protocol, r.gateway, r.type])).toEqual([
      [80, "10.0.0.254", "unicast"],
    ]);
    expect(find(d, "10.9.9.8/32")).toEqual([]);
    expect(d.errors.map((e) => e.message)).toEqual([
      "static route 10.9.9.8/32: gateway fd00::1 is another family",
    ]);
  });

  it("with all block routes (no BGP) ignores nothing from blocks and programs learned routes only outside pools", () => {
    const d = computeDesired(mixed());
    expect(find(d, "10.66.2.0/26").map((r) => r.protocol)).toEqual([80]);
    expect(find(d, "0.0.0.0/0").map((r) => r.protocol)).toEqual([12]);
  });

  describe("next hops off our subnet resolve through the host's routes (gateway recursive)", () => {
    const hostRoutes = [
      { dst: "10.0.0.0/24", type: "unicast", ifName: "eth0" },
      { dst: "0.0.0.0/0", type: "unicast", gateway: "10.0.0.254", ifName: "eth0", metric: 100 },
      { dst: "10.9.0.0/16", type: "unicast", gateway: "10.0.0.253", ifName: "eth0" },
      { dst: "10.8.0.0/16", type: "blackhole" },
      { dst: "10.7.0.0/24", type: "unicast", ifName: "eth1" },
      { dst: "fd00::/64", type: "unicast", ifName: "eth0", metric: 256 },
      { dst: "::/0", type: "unicast", gateway: "fd00::fe", ifName: "eth0", metric: 1024 },
    ] as const satisfies readonly HostRouteInput[];
    const learned = (bgpRoutes: DesiredInputs["bgpRoutes"], routes: readonly HostRouteInput[] = hostRoutes) =>
      computeDesired({
        ...mixed({
          thisNode: {
            name: "node-1",
            ipv4Address: "10.0.0.1/24",
            ipv6Address: "fd00::1/64",
            vxlanTunnelAddr: "10.65.1.0",
          },
          bgpRoutes,
          host: { parentIface: "eth0", hostMtu: 1500, routes },
        }),
        config: { blockRoutes: "encapsulated" },
      });

    it("installs the route via the immediate gateway of the longest covering route", () => {
      const d = learned([
        { dst: "192.0.2.0/24", nextHop: "10.9.9.9", metric: 2147483547 },
        { dst: "198.51.100.0/24", nextHop: "172.16.0.1" },
        { dst: "203.0.113.0/24", nextHop: "10.7.0.5" },
        { dst: "10.66.2.0/26", nextHop: "10.0.0.2" },
      ]);
      expect(find(d, "192.0.2.0/24")).toEqual([
        {
          dst: "192.0.2.0/24",
          type: "unicast",
          protocol: 12,
          gateway: "10.0.0.253",
          ifName: "eth0",
          metric: 2147483547,
          owner: "BGP route 192.0.2.0/24 via 10.9.9.9 (recursive: via 10.0.0.253 of 10.9.0.0/16)",
        },
      ]);
      expect(find(d, "198.51.100.0/24").map((r) => [r.gateway, r.ifName])).toEqual([["10.0.0.254", "eth0"]]);
      // On another link of ours: direct, on that device.
      expect(find(d, "203.0.113.0/24").map((r) => [r.gateway, r.ifName])).toEqual([["10.7.0.5", "eth1"]]);
      // On our subnet: as before, not looked up.
      expect(find(d, "10.66.2.0/26").map((r) => [r.gateway, r.ifName])).toEqual([["10.0.0.2", "eth0"]]);
      expect(d.nextHops.map((n) => [n.nextHop, n.resolution.kind])).toEqual([
        ["10.9.9.9", "gateway"],
        ["172.16.0.1", "gateway"],
        ["10.7.0.5", "direct"],
      ]);
      expect(d.errors).toEqual([]);
    });

    it("does not program a route whose next hop is unresolvable, and says which and why", () => {
      const d = learned(
        [
          { dst: "192.0.2.0/24", nextHop: "10.8.1.1" },
          { dst: "198.51.100.0/24", nextHop: "10.70.1.1" },
          { dst: "10.70.0.0/16", nextHop: "10.0.0.2" },
          { dst: "203.0.113.0/24", nextHop: "172.16.0.1" },
        ],
        hostRoutes.filter((r) => r.dst !== "0.0.0.0/0"),
      );
      expect(find(d, "192.0.2.0/24")).toEqual([]);
      expect(find(d, "198.51.100.0/24")).toEqual([]);
      expect(find(d, "203.0.113.0/24")).toEqual([]);
      expect(find(d, "10.70.0.0/16").map((r) => r.gateway)).toEqual(["10.0.0.2"]);
      expect(d.errors.every((e) => isTabbyError(e, "FELIX_NEXT_HOP_UNRESOLVABLE"))).toBe(true);
      expect(d.errors.map((e) => [e.message, e.subject])).toEqual([
        [
          "BGP route 192.0.2.0/24: next hop 10.8.1.1 is unresolvable: it is covered by blackhole route 10.8.0.0/16; not programmed",
          { route: "192.0.2.0/24" },
        ],
        [
          "BGP route 198.51.100.0/24: next hop 10.70.1.1 is unresolvable: it resolves only through BGP route 10.70.0.0/16, itself recursive; not programmed",
          { route: "198.51.100.0/24" },
        ],
        [
          "BGP route 203.0.113.0/24: next hop 172.16.0.1 is unresolvable: no route in the main table covers it; not programmed",
          { route: "203.0.113.0/24" },
        ],
      ]);
    });

    it("resolves IPv6 next hops the same way, and leaves IP-in-IP and unknown host routes as they were", () => {
      const d = learned([
        { dst: "2001:db8:1::/48", nextHop: "2001:db8:ff::1" },
        { dst: "2001:db8:2::/48", nextHop: "fd00::2" },
        { dst: "10.67.4.0/26", nextHop: "10.0.1.4" },
      ]);
      expect(find(d, "2001:db8:1::/48").map((r) => [r.gateway, r.ifName])).toEqual([["fd00::fe", "eth0"]]);
      expect(find(d, "2001:db8:2::/48").map((r) => [r.gateway, r.ifName])).toEqual([["fd00::2", "eth0"]]);
      expect(d.nextHops.map((n) => n.nextHop)).toEqual(["2001:db8:ff::1"]);
      const ipip = computeDesired({ ...mixed(), config: { blockRoutes: "vxlan" } });
      expect(find(ipip, "10.67.4.0/26").map((r) => [r.ifName, r.gateway, r.onlink])).toEqual([
        ["tunl0", "10.0.1.4", true],
      ]);
      // No host routes known: the next hop as given, for the kernel to judge (as before).
      expect(find(computeDesired(mixed()), "192.0.2.0/24").map((r) => [r.gateway, r.ifName])).toEqual([
        ["10.9.9.9", undefined],
      ]);
    });
  });
});
