// tabbyctl explain: one cluster fixture (three nodes, one pool, a block per node, a pod on node2), then
// one case per kind of mismatch, each named in words.
import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import {
  type ExplainInputs,
  explain,
  type KernelRoute,
  parseTarget,
  renderExplanation,
} from "../../../src/cli/ctl/explain.js";

const r = (
  kind: string,
  name: string,
  spec: unknown,
  namespace?: string,
  labels?: Record<string, string>,
): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
  spec,
});

const pool = (extra: Record<string, unknown> = {}) =>
  r("IPPool", "default-ipv4-ippool", {
    cidr: "10.244.0.0/16",
    blockSize: 26,
    ipipMode: "Never",
    vxlanMode: "Never",
    natOutgoing: true,
    nodeSelector: "all()",
    ...extra,
  });

/** A block affine to `node` with the pod's address at ordinal 1 (used on `usedOn`). */
const block = (cidr: string, node: string, pod?: { name: string; usedOn: string }) => {
  const allocations: (number | null)[] = Array(64).fill(null);
  const attributes: unknown[] = [];
  if (pod) {
    allocations[1] = 0;
    attributes.push({
      handle_id: `k8s-pod-network.${pod.name}`,
      secondary: { namespace: "default", node: pod.usedOn, pod: pod.name },
    });
  }
  return r("IPAMBlock", cidr.replace(/[./]/g, "-"), {
    cidr,
    affinity: `host:${node}`,
    allocations,
    unallocated: [],
    attributes,
    sequenceNumber: 0,
    deleted: false,
    strictAffinity: false,
  });
};

const nodes = [
  r("Node", "node1", { bgp: { ipv4Address: "198.18.0.11/24" } }),
  r(
    "Node",
    "node2",
    { bgp: { ipv4Address: "198.18.0.12/24" }, ipv4VXLANTunnelAddr: "10.244.2.0" },
    undefined,
    { rack: "a" },
  ),
  r("Node", "node3", { bgp: { ipv4Address: "198.18.1.13/24" } }),
];
const wep = r(
  "WorkloadEndpoint",
  "node2-k8s-web-eth0",
  { node: "node2", pod: "web", interfaceName: "cali1234", ipNetworks: ["10.244.2.1/32"] },
  "default",
);
const affinities = [
  r("BlockAffinity", "node1-10-244-1-0-26", { node: "node1", cidr: "10.244.1.0/26", state: "confirmed" }),
  r("BlockAffinity", "node2-10-244-2-0-26", { node: "node2", cidr: "10.244.2.0/26", state: "confirmed" }),
];
const goodKernel: KernelRoute[] = [
  { dst: "default", gateway: "198.18.0.254", dev: "eth0" },
  { dst: "10.244.2.0/26", gateway: "198.18.0.12", dev: "eth0", protocol: "bird" },
];

const base = (o: Partial<ExplainInputs> = {}): ExplainInputs => ({
  target: { kind: "pod", namespace: "default", name: "web" },
  pools: [pool()],
  blocks: [
    block("10.244.1.0/26", "node1"),
    block("10.244.2.0/26", "node2", { name: "web", usedOn: "node2" }),
  ],
  affinities,
  endpoints: [wep],
  nodes,
  thisNode: "node1",
  rib: [
    { prefix: "10.244.2.0/26", best: true, fromName: "Mesh_198_18_0_12", nextHop: "198.18.0.12", asPath: "" },
  ],
  kernel: goodKernel,
  interfaces: ["lo", "eth0"],
  ...o,
});

const problems = (o: Partial<ExplainInputs>) =>
  explain(base(o))
    .findings.filter((f) => f.severity === "problem")
    .map((f) => f.text);

describe("tabbyctl explain", () => {
  it("a healthy pod on another node: every step as expected, in words", () => {
    const e = explain(base());
    expect(e.problems).toBe(0);
    expect(e).toMatchObject({
      address: "10.244.2.1",
      pool: "default-ipv4-ippool",
      block: "10.244.2.0/26",
      owner: "node2",
      encapsulation: "none",
    });
    expect(renderExplanation(e)).toBe(
      [
        "pod default/web (10.244.2.1)",
        "  pool      default-ipv4-ippool 10.244.0.0/16 (ipipMode Never, vxlanMode Never, natOutgoing)",
        "  block     10.244.2.0/26, affine to node2 (BlockAffinity node2-10-244-2-0-26 confirmed)",
        "  block     ordinal 1, handle k8s-pod-network.web for pod default/web on node2",
        "  endpoint  WorkloadEndpoint default/node2-k8s-web-eth0 on node2, interface cali1234",
        "  node      node2 at 198.18.0.12/24",
        "  encap     none: routed natively (ipipMode Never, vxlanMode Never)",
        "  bgp       best path 10.244.2.0/26 via 198.18.0.12 from Mesh_198_18_0_12",
        "  kernel    10.244.2.0/26 via 198.18.0.12 dev eth0 proto bird: as expected",
        "no problems found",
        "",
      ].join("\n"),
    );
  });

  it("missing kernel route: only the default route matches", () => {
    expect(problems({ kernel: [goodKernel[0]!] })).toEqual([
      "no route for 10.244.2.1 on this node (only the default route matches); expected 10.244.2.0/26 via 198.18.0.12",
    ]);
  });

  it("route via the wrong node: names the node the route goes to and the one that owns the address", () => {
    expect(
      problems({
        kernel: [
          goodKernel[0]!,
          { dst: "10.244.2.0/26", gateway: "198.18.1.13", dev: "eth0", protocol: "bird" },
        ],
      }),
    ).toEqual([
      "10.244.2.0/26 via 198.18.1.13 dev eth0 proto bird: goes via 198.18.1.13 (node3), but 10.244.2.1 is on node2 (198.18.0.12); expected 10.244.2.0/26 via 198.18.0.12",
    ]);
  });

  it("pool with BGP export disabled: no BGP route, and that is why", () => {
    const p = problems({ pools: [pool({ disableBGPExport: true })], rib: [], kernel: [goodKernel[0]!] });
    expect(p[0]).toBe(
      "no BGP route for 10.244.2.0/26: the pool has disableBGPExport: true, so node2 does not announce its blocks; this node cannot reach 10.244.2.1 natively",
    );
    expect(p).toHaveLength(2);
  });

  it("block borrowed: the address is used on another node than its block's; the /32 is the route to expect", () => {
    const e = explain(
      base({
        blocks: [block("10.244.2.0/26", "node2", { name: "web", usedOn: "node3" })],
        endpoints: [r("WorkloadEndpoint", "w", { ...(wep.spec as object), node: "node3" }, "default")],
        rib: [
          {
            prefix: "10.244.2.1/32",
            best: true,
            fromName: "Mesh_198_18_1_13",
            nextHop: "198.18.1.13",
            asPath: "",
          },
        ],
        kernel: [
          goodKernel[0]!,
          { dst: "10.244.2.1", gateway: "198.18.1.13", dev: "eth0", protocol: "bird" },
        ],
      }),
    );
    expect(e.findings.filter((f) => f.severity === "notice").map((f) => f.text)).toEqual([
      "borrowed: 10.244.2.1 is used on node3 but its block is affine to node2; node2 announces the block and node3 a /32 for this address",
    ]);
    expect(e.expectedRoute).toBe("10.244.2.1/32 via 198.18.1.13");
    expect(e.problems).toBe(0);
  });

  it("pod without a WorkloadEndpoint: says whether IPAM still holds an address for it", () => {
    expect(problems({ endpoints: [] })[0]).toBe(
      "no WorkloadEndpoint for pod default/web, but IPAM holds 10.244.2.1 for it: the CNI ADD did not finish or the endpoint was deleted; the address is not reachable as the pod's",
    );
    expect(problems({ endpoints: [], blocks: [] })).toEqual([
      "no WorkloadEndpoint for pod default/web, and IPAM holds no address for it: the pod has no network (is it scheduled, and did the CNI plugin run?)",
    ]);
  });

  it("on the owning node: the veth route is expected, and a missing veth is named", () => {
    const e = explain(
      base({
        thisNode: "node2",
        kernel: [{ dst: "10.244.2.1", dev: "cali1234", type: "unicast" }],
        interfaces: ["lo", "eth0"],
      }),
    );
    expect(e.encapsulation).toBe("local");
    expect(e.findings.filter((f) => f.severity === "problem").map((f) => f.text)).toEqual([
      "the endpoint's interface cali1234 does not exist on this node: the pod's veth is gone (pod deleted without CNI DEL, or the sandbox died)",
    ]);
  });

  it("CrossSubnet: no encapsulation inside the subnet, VXLAN across it, with both subnets named", () => {
    const cs = pool({ vxlanMode: "CrossSubnet" });
    const inside = explain(base({ pools: [cs] }));
    expect(inside.encapsulation).toBe("none");
    expect(inside.findings.find((f) => f.step === "encap")?.text).toBe(
      "none: routed natively (CrossSubnet: this node 198.18.0.11/24, node2 198.18.0.12/24: same subnet)",
    );
    const across = explain(
      base({
        pools: [cs],
        thisNode: "node3",
        kernel: [{ dst: "10.244.2.0/26", gateway: "10.244.2.0", dev: "vxlan.calico" }],
      }),
    );
    expect(across.encapsulation).toBe("vxlan");
    expect(across.findings.find((f) => f.step === "encap")?.text).toBe(
      "VXLAN via vxlan.calico (CrossSubnet: this node 198.18.1.13/24, node2 198.18.0.12/24: different subnets)",
    );
    expect(across.problems).toBe(0);
  });

  it("an address in no pool, a free address, and a selector that does not match the owner", () => {
    expect(problems({ target: { kind: "ip", ip: "10.9.9.9" } })[0]).toMatch(
      /^no IPPool contains 10\.9\.9\.9: Calico does not route it/,
    );
    expect(problems({ target: { kind: "ip", ip: "10.244.2.7" } })).toContain(
      "10.244.2.7 is free in its block (ordinal 7): nothing uses it",
    );
    const e = explain(base({ pools: [pool({ nodeSelector: "rack == 'b'" })] }));
    expect(e.findings.find((f) => f.step === "pool" && f.severity === "notice")?.text).toBe(
      "nodeSelector rack == 'b' does not match node2: the address came from an explicit pool request or predates the selector",
    );
  });

  it("reads its argument as an address, a CIDR or a pod", () => {
    expect(parseTarget("10.0.0.1")).toEqual({ kind: "ip", ip: "10.0.0.1" });
    expect(parseTarget("10.244.2.0/26")).toEqual({ kind: "cidr", cidr: "10.244.2.0/26" });
    expect(parseTarget("shop/web")).toEqual({ kind: "pod", namespace: "shop", name: "web" });
    expect(parseTarget("web")).toEqual({ kind: "pod", namespace: "default", name: "web" });
  });
});
