/**
 * computeBgpPlan against the confd renderings the reference spells out (calico-bgp-cni.md §1.9 and
 * §1.5): the 3-node mesh with its passive flags, the string (not numeric) comparison, a route
 * reflector without mesh, global beating node-specific for one address, the AS precedence, and the
 * block exports (whole affine blocks, their sub-prefixes rejected, pool routes accepted).
 */
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../bgp/policy/policy.js";
import { buildPathAttrs } from "../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../bgp/rib/prefix-key.js";
import { type BgpResourceSet, computeBgpPlan } from "../../../src/agent/bgp-plan.js";
import type { Resource } from "../../../src/api/meta.js";

const r = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});
const node = (name: string, ip: string, bgp: object = {}, labels: Record<string, string> = {}) => ({
  ...r("Node", name, { bgp: { ipv4Address: `${ip}/24`, ...bgp } }),
  metadata: { name, labels },
});

const base = (over: Partial<BgpResourceSet> = {}): BgpResourceSet => ({
  nodeName: "n1",
  nodes: [node("n1", "10.0.0.11"), node("n2", "10.0.0.12"), node("n3", "10.0.0.13")],
  peers: [],
  configs: [],
  filters: [],
  pools: [r("IPPool", "p", { cidr: "10.244.0.0/16", ipipMode: "Always" })],
  affinities: [{ cidr: "10.244.1.0/26", node: "n1", state: "confirmed" }],
  borrowed: [],
  secrets: new Map(),
  ...over,
});

const sessions = (s: BgpResourceSet) =>
  computeBgpPlan(s).config!.peers.map(
    (p) =>
      `${p.name} as${p.asn} ${p.passive ? "passive" : "active"}${p.routeReflectorClient ? " rr-client" : ""}`,
  );

describe("computeBgpPlan: confd's sessions", () => {
  it("renders the 3-node sketch: n1 passive to both, n2 passive to n3 only, n3 dials both", () => {
    expect(sessions(base())).toEqual(["Mesh_10_0_0_12 as64512 passive", "Mesh_10_0_0_13 as64512 passive"]);
    expect(sessions(base({ nodeName: "n2" }))).toEqual([
      "Mesh_10_0_0_11 as64512 active",
      "Mesh_10_0_0_13 as64512 passive",
    ]);
    expect(sessions(base({ nodeName: "n3" }))).toEqual([
      "Mesh_10_0_0_11 as64512 active",
      "Mesh_10_0_0_12 as64512 active",
    ]);
    const cfg = computeBgpPlan(base()).config!;
    expect([cfg.routerId, cfg.asn, cfg.holdTimeSec, cfg.connectRetrySec]).toEqual([
      "10.0.0.11",
      64512,
      240,
      5,
    ]);
  });

  it("compares addresses as strings: 10.0.0.9 dials 10.0.0.10", () => {
    const s = base({ nodeName: "a", nodes: [node("a", "10.0.0.9"), node("b", "10.0.0.10")] });
    expect(sessions(s)).toEqual(["Mesh_10_0_0_10 as64512 active"]);
    expect(sessions({ ...s, nodeName: "b" })).toEqual(["Mesh_10_0_0_9 as64512 passive"]);
  });

  it("a route reflector has no mesh; its clients are rr clients on its side", () => {
    const nodes = [
      node("rr", "10.0.0.1", { routeReflectorClusterID: "224.0.0.1" }, { rr: "true" }),
      node("n1", "10.0.0.11"),
      node("n2", "10.0.0.12"),
    ];
    const peers = [r("BGPPeer", "to-rr", { nodeSelector: "all()", peerSelector: "rr == 'true'" })];
    const onRr = computeBgpPlan(base({ nodeName: "rr", nodes, peers })).config!;
    expect(onRr.clusterId).toBe("224.0.0.1");
    expect(onRr.peers.every((p) => !p.name!.startsWith("Mesh_"))).toBe(true);
    expect(
      onRr.peers
        .filter((p) => p.routeReflectorClient)
        .map((p) => p.address)
        .sort(),
    ).toEqual(["10.0.0.11", "10.0.0.12"]);
    const onN1 = computeBgpPlan(base({ nodeName: "n1", nodes, peers })).config!;
    const toRr = onN1.peers.find((p) => p.address === "10.0.0.1");
    expect(toRr?.name).toMatch(/^(Node|Global)_10_0_0_1$/);
    expect(toRr?.routeReflectorClient).toBe(false);
    expect(onN1.peers.some((p) => p.name === "Mesh_10_0_0_1")).toBe(false);
  });

  it("a global peering beats a node-specific one for the same address; our own address is skipped", () => {
    const peers = [
      r("BGPPeer", "g", { peerIP: "10.0.0.254", asNumber: 65000 }),
      r("BGPPeer", "n", { node: "n1", peerIP: "10.0.0.254", asNumber: 65001 }),
      r("BGPPeer", "self", { peerIP: "10.0.0.11", asNumber: 65002 }),
    ];
    const names = sessions(
      base({ peers, configs: [r("BGPConfiguration", "default", { nodeToNodeMeshEnabled: false })] }),
    );
    expect(names).toEqual(["Global_10_0_0_254 as65000 active"]);
  });

  it("takes the AS from the Node, else BGPConfiguration, else 64512", () => {
    const cfgAs = [r("BGPConfiguration", "default", { asNumber: 65100 })];
    expect(computeBgpPlan(base({ configs: cfgAs })).config!.asn).toBe(65100);
    const nodes = [node("n1", "10.0.0.11", { asNumber: 65200 }), node("n2", "10.0.0.12")];
    const plan = computeBgpPlan(base({ nodes, configs: cfgAs })).config!;
    expect(plan.asn).toBe(65200);
    expect(plan.peers.map((p) => [p.name, p.asn])).toEqual([["Mesh_10_0_0_12", 65100]]);
  });
});

describe("computeBgpPlan: exports", () => {
  it("originates the affine block and exports it whole: its sub-prefixes are rejected, other pool routes accepted", () => {
    const cfg = computeBgpPlan(
      base({
        affinities: [
          { cidr: "10.244.1.0/26", node: "n1" },
          { cidr: "10.244.9.0/26", node: "n1", state: "pending" },
        ],
      }),
    ).config!;
    expect(cfg.originate!.map((o) => [o.prefix, o.localPref])).toEqual([["10.244.1.0/26", 2147482623]]);
    const exportName = cfg.peers[0]!.exportPolicy!;
    const policy = compilePolicy(cfg.policies![exportName]!);
    const verdict = (prefix: string) =>
      policy.evaluate({
        key: keyFromString(prefix),
        family: "ipv4",
        attrs: buildPathAttrs([], "10.0.0.11"),
        source: "local",
      }) !== undefined;
    expect(verdict("10.244.1.0/26")).toBe(true);
    expect(verdict("10.244.1.5/32")).toBe(false);
    expect(verdict("10.244.2.0/26")).toBe(true);
    expect(verdict("10.0.0.0/24")).toBe(false);
    expect(verdict("0.0.0.0/0")).toBe(false);
  });
});
