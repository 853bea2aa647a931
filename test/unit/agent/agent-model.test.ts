/**
 * The node agent's pure parts: what felix is told (pools, blocks with borrowed addresses, nodes,
 * local workloads, learned routes), how the Node is registered (addresses, AS, conflicts), which tunnel
 * addresses a node needs, and how learned best paths become routes with Calico's metric.
 */
import { describe, expect, it } from "vitest";
import type { PathAttribute } from "../../../bgp/codec/attributes.js";
import { Path, type PeerRef } from "../../../bgp/rib/loc-rib.js";
import { buildPathAttrs } from "../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../bgp/rib/prefix-key.js";
import { blockRouteMode, computeClusterState, ordinalAddress } from "../../../src/agent/felix-state.js";
import { kernelMetric, LearnedRoutes } from "../../../src/agent/learned-routes.js";
import { borrowedAddresses } from "../../../src/agent/node-agent.js";
import { addressConflict, registeredNode, tunnelNeeds } from "../../../src/agent/node-registration.js";
import type { Resource } from "../../../src/api/meta.js";

const r = (kind: string, name: string, spec: unknown, namespace?: string): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec,
});

const node = (name: string, ip: string, extra: object = {}) =>
  r("Node", name, { bgp: { ipv4Address: ip }, ...extra });

const block = (cidr: string, affinity: string, owners: (string | undefined)[] = []) =>
  r("IPAMBlock", cidr.replace(/[./]/g, "-"), {
    cidr,
    affinity,
    allocations: owners.map((o, i) => (o === undefined ? null : i)),
    unallocated: [],
    attributes: owners.map((o) => ({ handle_id: "h", secondary: o ? { node: o } : {} })),
    sequenceNumber: 0,
    deleted: false,
    strictAffinity: false,
  });

const wep = (node: string, pod: string, ip: string) =>
  r(
    "WorkloadEndpoint",
    `${node}-k8s-${pod}-eth0`,
    { node, pod, interfaceName: `cali${pod}`, ipNetworks: [`${ip}/32`], mac: "aa:bb:cc:dd:ee:ff" },
    "default",
  );

describe("computeClusterState", () => {
  it("maps pools, nodes (addresses, VTEP, tunl0), host-affine blocks, this node's workloads and learned routes", () => {
    const s = computeClusterState({
      nodeName: "a",
      nodes: [
        node("a", "10.0.0.1/24", {
          ipv4VXLANTunnelAddr: "10.65.1.0",
          vxlanTunnelMACAddr: "66:00:00:00:00:01",
        }),
        node("b", "10.0.0.2/24", { bgp: { ipv4Address: "10.0.0.2/24", ipv4IPIPTunnelAddr: "10.65.2.1" } }),
      ],
      pools: [r("IPPool", "p", { cidr: "10.65.0.0/16", vxlanMode: "Always", natOutgoing: true })],
      blocks: [
        block("10.65.1.0/26", "host:a"),
        block("10.65.2.0/26", "host:b"),
        block("10.65.3.0/26", "virtual:x"),
      ],
      workloads: [wep("a", "web", "10.65.1.5"), wep("b", "db", "10.65.2.5")],
      bgpRoutes: [{ dst: "192.0.2.0/24", nextHop: "10.0.0.254", metric: 100 }],
    });
    expect(s.thisNode).toEqual({
      name: "a",
      ipv4Address: "10.0.0.1/24",
      vxlanTunnelAddr: "10.65.1.0",
      vxlanTunnelMac: "66:00:00:00:00:01",
    });
    expect(s.nodes[1]).toEqual({ name: "b", ipv4Address: "10.0.0.2/24", ipipTunnelAddr: "10.65.2.1" });
    expect(s.pools).toEqual([{ cidr: "10.65.0.0/16", vxlanMode: "Always", natOutgoing: true }]);
    expect(s.blocks).toEqual([
      { cidr: "10.65.1.0/26", node: "a" },
      { cidr: "10.65.2.0/26", node: "b" },
    ]);
    expect(s.workloads).toEqual([
      { name: "default/web", ifName: "caliweb", ipNetworks: ["10.65.1.5/32"], mac: "aa:bb:cc:dd:ee:ff" },
    ]);
    expect(s.bgpRoutes).toEqual([{ dst: "192.0.2.0/24", nextHop: "10.0.0.254", metric: 100 }]);
  });

  it("gives a local BGP peer's workload its peering addresses and felix the configured ones to own", () => {
    const s = computeClusterState({
      nodeName: "a",
      nodes: [node("a", "10.0.0.1/24")],
      pools: [],
      blocks: [],
      workloads: [wep("a", "speaker", "10.65.1.6"), wep("a", "web", "10.65.1.5")],
      bgpRoutes: undefined,
      workloadPeeringAddresses: [
        { ifName: "calispeaker", address: "169.254.0.179" },
        { ifName: "calispeaker", address: "fe80::179" },
      ],
      bgpConfigurations: [
        r("BGPConfiguration", "node.a", { localWorkloadPeeringIPV4: "169.254.9.9" }),
        r("BGPConfiguration", "default", {
          localWorkloadPeeringIPV4: "169.254.0.179",
          localWorkloadPeeringIPV6: "fe80::179",
        }),
      ],
    });
    expect(s.workloads.map((w) => [w.ifName, w.peeringAddresses])).toEqual([
      ["calispeaker", ["169.254.0.179", "fe80::179"]],
      ["caliweb", undefined],
    ]);
    expect(s.localWorkloadPeeringIPs).toEqual(["169.254.0.179", "fe80::179"]);
    const none = computeClusterState({
      nodeName: "a",
      nodes: [],
      pools: [],
      blocks: [],
      workloads: [],
      bgpRoutes: [],
    });
    expect(none.localWorkloadPeeringIPs).toBeUndefined();
  });

  it("adds a host route for an address another node borrowed from a block, and leaves bgpRoutes unset until known", () => {
    const s = computeClusterState({
      nodeName: "a",
      nodes: [node("a", "10.0.0.1/24"), node("b", "10.0.0.2/24")],
      pools: [],
      blocks: [
        block("10.65.1.0/26", "host:a", ["a", undefined, "b"]),
        block("fd00::/122", "host:a", [undefined, "b"]),
      ],
      workloads: [],
      bgpRoutes: undefined,
    });
    expect(s.blocks).toEqual([
      { cidr: "10.65.1.0/26", node: "a" },
      { cidr: "10.65.1.2/32", node: "b" },
      { cidr: "fd00::/122", node: "a" },
      { cidr: "fd00::1/128", node: "b" },
    ]);
    expect("bgpRoutes" in s).toBe(false);
  });

  it("ordinal addresses and block-route modes", () => {
    expect(ordinalAddress("10.65.1.0/26", 63)).toBe("10.65.1.63");
    expect(ordinalAddress("10.65.255.192/26", 5)).toBe("10.65.255.197");
    expect(blockRouteMode("bird")).toBe("encapsulated");
    expect(blockRouteMode("vxlan")).toBe("all");
    expect(blockRouteMode("none")).toBe("all");
  });
});

describe("borrowedAddresses", () => {
  it("is this node's workload addresses outside its own affine blocks", () => {
    const weps = [wep("a", "x", "10.65.1.5"), wep("a", "y", "10.65.9.7"), wep("b", "z", "10.65.8.1")];
    const affinities = [
      { cidr: "10.65.1.0/26", node: "a" },
      { cidr: "10.65.9.0/26", node: "c" },
    ];
    expect(borrowedAddresses("a", weps, affinities)).toEqual(["10.65.9.7"]);
  });

  it("also finds them in the blocks' allocations (workloads with no WorkloadEndpoint), once each", () => {
    const affinities = [
      { cidr: "10.65.1.0/26", node: "a" },
      { cidr: "10.65.9.0/26", node: "c" },
    ];
    const blocks = [
      block("10.65.9.0/26", "host:c", ["c", "a", "b", "a"]),
      block("10.65.1.0/26", "host:a", ["a", "a"]),
      r("IPAMBlock", "bad", { cidr: "10.65.999.0/26", affinity: "host:c", allocations: [0] }),
    ];
    expect(borrowedAddresses("a", [wep("a", "y", "10.65.9.1")], affinities, blocks).sort()).toEqual([
      "10.65.9.1",
      "10.65.9.3",
    ]);
  });
});

describe("node registration", () => {
  it("sets the BGP addresses and AS, keeps what it is not told, removes what IP=none clears", () => {
    const existing = node("a", "10.0.0.1/24", { ipv4VXLANTunnelAddr: "10.65.1.0" });
    existing.metadata.resourceVersion = "7";
    const n = registeredNode(existing, { name: "a", ipv4: "10.0.0.9/24", asn: 65001 });
    expect(n.spec).toEqual({
      bgp: { ipv4Address: "10.0.0.9/24", asNumber: 65001 },
      ipv4VXLANTunnelAddr: "10.65.1.0",
    });
    expect(n.metadata.resourceVersion).toBe("7");
    expect(registeredNode(existing, { name: "a" }).spec).toEqual(existing.spec);
    expect(registeredNode(existing, { name: "a", ipv4: null }).spec).toEqual({
      ipv4VXLANTunnelAddr: "10.65.1.0",
    });
    expect(registeredNode(undefined, { name: "new", ipv4: "10.0.0.3/24" })).toMatchObject({
      kind: "Node",
      metadata: { name: "new" },
      spec: { bgp: { ipv4Address: "10.0.0.3/24" } },
    });
  });

  it("refuses an address another Node holds, in calico-node's words", () => {
    const nodes = [node("a", "10.0.0.1/24"), node("b", "10.0.0.2/24")];
    expect(addressConflict(nodes, { name: "c", ipv4: "10.0.0.2/16" })).toBe(
      "Calico node 'b' is already using the IPv4 address 10.0.0.2",
    );
    expect(addressConflict(nodes, { name: "b", ipv4: "10.0.0.2/24" })).toBeUndefined();
    expect(addressConflict(nodes, { name: "c", ipv4: "10.0.0.3/24" })).toBeUndefined();
  });

  it("needs a tunnel address only for an enabled IPv4 pool selecting the node, and IP-in-IP only with BGP", () => {
    const pools = [
      r("IPPool", "ipip", { cidr: "10.1.0.0/16", ipipMode: "Always", nodeSelector: "rack == 'a'" }),
      r("IPPool", "vx", { cidr: "10.2.0.0/16", vxlanMode: "CrossSubnet", disabled: true }),
      r("IPPool", "vx6", { cidr: "fd00::/48", vxlanMode: "Always" }),
    ];
    expect(tunnelNeeds(pools, { rack: "a" }, "bird")).toEqual({ ipip: true, vxlan: false });
    expect(tunnelNeeds(pools, { rack: "b" }, "bird")).toEqual({ ipip: false, vxlan: false });
    expect(tunnelNeeds(pools, { rack: "a" }, "vxlan")).toEqual({ ipip: false, vxlan: false });
    expect(
      tunnelNeeds([r("IPPool", "v", { cidr: "10.3.0.0/16", vxlanMode: "Always" })], {}, "vxlan"),
    ).toEqual({
      ipip: false,
      vxlan: true,
    });
    expect(
      tunnelNeeds(
        [r("IPPool", "bad", { cidr: "10.4.0.0/16", ipipMode: "Always", nodeSelector: "((" })],
        {},
        "bird",
      ),
    ).toEqual({
      ipip: false,
      vxlan: false,
    });
  });
});

describe("learned routes", () => {
  const peer = (type: PeerRef["type"]): PeerRef => ({
    id: 1,
    address: "10.0.0.2",
    type,
    routerId: "10.0.0.2",
    rrClient: false,
  });
  const path = (type: PeerRef["type"], nextHop: string, localPref?: number) =>
    new Path(
      peer(type),
      keyFromString("10.65.2.0/26"),
      0,
      buildPathAttrs(
        localPref !== undefined
          ? [{ kind: "local-pref", code: 5, flags: 0x40, localPref } as PathAttribute]
          : [],
        nextHop,
      ),
      false,
    );

  it("uses Calico's metric (2^31-1 - LOCAL_PREF, 100 when absent) and ignores our own paths", () => {
    expect(kernelMetric(2147482623)).toBe(1024);
    expect(kernelMetric(undefined)).toBe(2147483547);
    const l = new LearnedRoutes();
    expect(l.update(keyFromString("10.65.2.0/26"), path("ibgp", "10.0.0.2", 2147482623))).toBe(true);
    expect(l.list()).toEqual([{ dst: "10.65.2.0/26", nextHop: "10.0.0.2", metric: 1024 }]);
    expect(l.update(keyFromString("10.65.2.0/26"), path("ibgp", "10.0.0.2", 2147482623))).toBe(false);
    expect(l.update(keyFromString("10.65.2.0/26"), path("local", ""))).toBe(true);
    expect(l.list()).toEqual([]);
    expect(l.update(keyFromString("10.65.2.0/26"), undefined)).toBe(false);
  });
});

describe("bad resources from the datastore", () => {
  it("never throw: a pool without a CIDR, a block with a bad one, endpoints with missing fields", () => {
    const broken = {
      nodeName: "a",
      nodes: [node("a", "10.0.0.1/24"), r("Node", "b", undefined)],
      pools: [r("IPPool", "nocidr", {}), r("IPPool", "p", { cidr: "10.65.0.0/16" })],
      blocks: [
        block("10.65.1.0/26", "host:a", ["b"]),
        r("IPAMBlock", "bad", { cidr: "10.65.999.0/26", affinity: "host:b", allocations: [0] }),
        r("IPAMBlock", "empty", {}),
      ],
      workloads: [
        r("WorkloadEndpoint", "w", { node: "a" }),
        r("WorkloadEndpoint", "x", { node: "a", interfaceName: "cali1", ipNetworks: "10.65.1.1/32" }),
      ],
      bgpRoutes: [],
    };
    const s = computeClusterState(broken);
    expect(s.blocks.map((b) => b.cidr)).toEqual(["10.65.1.0/26", "10.65.1.0/32", "10.65.999.0/26"]);
    expect(s.workloads).toEqual([]);
    expect(s.pools.map((p) => p.cidr)).toEqual(["(IPPool nocidr has no spec.cidr)", "10.65.0.0/16"]);
    expect(tunnelNeeds([r("IPPool", "nocidr", { ipipMode: "Always" })], {}, "bird")).toEqual({
      ipip: false,
      vxlan: false,
    });
  });
});
