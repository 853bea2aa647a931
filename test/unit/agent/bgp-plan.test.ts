// computeBgpPlan: Calico resources -> SpeakerConfig, against what confd renders into BIRD
// (calico-bgp-cni.md §1; confd/pkg/backends/calico/{client,bgp_processor}.go; confd/tests/compiled_templates).
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../bgp/policy/policy.js";
import { buildPathAttrs } from "../../../bgp/rib/path-attrs.js";
import { familyOfKey, keyFromString } from "../../../bgp/rib/prefix-key.js";
import type { PeerConfig, SpeakerConfig } from "../../../bgp/speaker/config.js";
import { validateSpeakerConfig } from "../../../bgp/speaker/speaker.js";
import { type BgpPlan, type BgpResourceSet, computeBgpPlan } from "../../../src/agent/bgp-plan.js";
import type { Resource } from "../../../src/api/meta.js";

const res = (kind: string, name: string, spec: unknown, labels?: Record<string, string>): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});
const node = (
  name: string,
  v4: string | undefined,
  bgp: Record<string, unknown> = {},
  labels?: Record<string, string>,
) => res("Node", name, { bgp: { ...(v4 ? { ipv4Address: `${v4}/24` } : {}), ...bgp } }, labels);
const peer = (name: string, spec: Record<string, unknown>) => res("BGPPeer", name, spec);
const bgpConfig = (name: string, spec: Record<string, unknown>) => res("BGPConfiguration", name, spec);
const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}) =>
  res("IPPool", name, { cidr, ...extra });
const filter = (name: string, spec: Record<string, unknown>) => res("BGPFilter", name, spec);

const set = (over: Partial<BgpResourceSet>): BgpResourceSet => ({
  nodeName: "n1",
  nodes: [],
  peers: [],
  configs: [],
  filters: [],
  pools: [],
  affinities: [],
  borrowed: [],
  secrets: new Map(),
  ...over,
});

function plan(over: Partial<BgpResourceSet>): BgpPlan & { config: SpeakerConfig } {
  const p = computeBgpPlan(set(over));
  expect(p.config).toBeDefined();
  validateSpeakerConfig(p.config!); // the speaker accepts what we produce
  return p as BgpPlan & { config: SpeakerConfig };
}
const names = (c: SpeakerConfig) => c.peers.map((p) => p.name);
const byName = (c: SpeakerConfig, name: string): PeerConfig => {
  const p = c.peers.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no session ${name} in ${names(c).join(", ")}`);
  return p;
};

/** What the peer's export (or import) policy does with a prefix. */
function passes(
  c: SpeakerConfig,
  policyName: string,
  prefix: string,
  source: "local" | "ebgp" | "ibgp" = "local",
) {
  const pol = c.policies?.[policyName];
  if (pol === undefined) throw new Error(`no policy ${policyName}`);
  const key = keyFromString(prefix);
  const attrs = buildPathAttrs([], familyOfKey(key) === "ipv4" ? "10.0.0.1" : "fd00::1");
  return compilePolicy(pol).evaluate({ key, family: familyOfKey(key), attrs, source }) !== undefined;
}

const THREE = [node("n1", "10.0.0.11"), node("n2", "10.0.0.12"), node("n3", "10.0.0.13")];

describe("§1.9 three-node mesh", () => {
  it.each([
    ["n1", { Mesh_10_0_0_12: true, Mesh_10_0_0_13: true }],
    ["n2", { Mesh_10_0_0_11: false, Mesh_10_0_0_13: true }],
    ["n3", { Mesh_10_0_0_11: false, Mesh_10_0_0_12: false }],
  ])("on %s the passive flags are %j", (nodeName, expected) => {
    const { config } = plan({ nodeName, nodes: THREE });
    expect(Object.fromEntries(config.peers.map((p) => [p.name, p.passive]))).toEqual(expected);
  });

  it("renders n1's identity, timers and session settings", () => {
    const { config, problems } = plan({
      nodes: THREE,
      pools: [pool("p", "10.244.0.0/16", { ipipMode: "Always" })],
      affinities: [
        { cidr: "10.244.1.0/26", node: "n1", state: "confirmed" },
        { cidr: "10.244.2.0/26", node: "n2", state: "confirmed" },
      ],
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      routerId: "10.0.0.11",
      asn: 64512,
      listen: { address: "0.0.0.0", port: 179 },
      holdTimeSec: 240,
      connectRetrySec: 5,
      idleHoldSec: { initial: 5, max: 30 },
      gracefulRestart: { restartTimeSec: 120 },
      hostname: "n1",
    });
    expect(config.clusterId).toBeUndefined();
    expect(byName(config, "Mesh_10_0_0_12")).toEqual({
      name: "Mesh_10_0_0_12",
      address: "10.0.0.12",
      asn: 64512,
      localAddress: "10.0.0.11",
      ttl: 64,
      passive: true,
      routeReflectorClient: false,
      families: ["ipv4"],
      importPolicy: "import:ibgp",
      exportPolicy: "export:ibgp",
      addPathReceive: true,
    });
    expect(config.originate).toEqual([{ prefix: "10.244.1.0/26", localPref: 2147482623 }]);
    const exp = "export:ibgp";
    expect(passes(config, exp, "10.244.1.0/26")).toBe(true); // own block
    expect(passes(config, exp, "10.244.1.5/32")).toBe(false); // beneath own block
    expect(passes(config, exp, "10.244.2.0/26", "ibgp")).toBe(true); // inside the pool
    expect(passes(config, exp, "192.168.0.0/24")).toBe(false); // outside every pool
    expect(passes(config, "import:ibgp", "192.168.0.0/24", "ibgp")).toBe(true);
  });
});

describe("passive rule compares the address text", () => {
  const nodes = [node("a", "10.0.0.9"), node("b", "10.0.0.10")];
  it.each([
    ["a", "Mesh_10_0_0_10", false], // "10.0.0.10" < "10.0.0.9" as strings: a dials
    ["b", "Mesh_10_0_0_9", true],
  ])("on %s, %s passive=%s", (nodeName, session, passive) => {
    expect(byName(plan({ nodeName, nodes }).config, session).passive).toBe(passive);
  });

  it("Global_ peers that are Calico nodes follow it; Node_ peers never", () => {
    const peers = [
      peer("g", { peerIP: "10.0.0.10", asNumber: 64512 }),
      peer("x", { node: "b", peerIP: "10.0.0.9", asNumber: 64512 }),
    ];
    const cfgs = [bgpConfig("default", { nodeToNodeMeshEnabled: false })];
    // On b (10.0.0.10): "10.0.0.9" > "10.0.0.10" but it is a Node_ peer, and the reverse of g is dropped
    // because a Node_ key for the same address already exists.
    const b = plan({ nodeName: "b", nodes, peers, configs: cfgs }).config;
    expect(names(b)).toEqual(["Node_10_0_0_9"]);
    expect(byName(b, "Node_10_0_0_9").passive).toBe(false);
    const a = plan({ nodeName: "a", nodes, peers, configs: cfgs }).config;
    expect(byName(a, "Global_10_0_0_10").passive).toBe(false);
    const c = plan({ nodeName: "c", nodes: [...nodes, node("c", "10.0.0.1")], peers, configs: cfgs }).config;
    expect(byName(c, "Global_10_0_0_10").passive).toBe(true); // "10.0.0.10" > "10.0.0.1"
  });
});

describe("route reflectors", () => {
  const rrLabels = { "route-reflector": "true" };
  const nodes = (id2: string) => [
    node("rr1", "10.0.0.1", { routeReflectorClusterID: "1.1.1.1" }, rrLabels),
    node("rr2", "10.0.0.2", { routeReflectorClusterID: id2 }, rrLabels),
    node("c1", "10.0.0.21"),
    node("c2", "10.0.0.22"),
  ];
  const peers = [peer("to-rr", { nodeSelector: "all()", peerSelector: "route-reflector == 'true'" })];
  const configs = [bgpConfig("default", { nodeToNodeMeshEnabled: false })];

  it("a client peers with both RRs as plain iBGP", () => {
    const { config } = plan({ nodeName: "c1", nodes: nodes("1.1.1.1"), peers, configs });
    expect(config.peers.map((p) => [p.name, p.routeReflectorClient, p.passive])).toEqual([
      ["Node_10_0_0_1", false, false],
      ["Node_10_0_0_2", false, false],
    ]);
  });

  it("the RR has the clients as rr clients (reverse peering) and the other RR, same cluster id, not", () => {
    const { config } = plan({ nodeName: "rr1", nodes: nodes("1.1.1.1"), peers, configs });
    expect(config.clusterId).toBe("1.1.1.1");
    expect(config.peers.map((p) => [p.name, p.routeReflectorClient])).toEqual([
      ["Node_10_0_0_2", false],
      ["Node_10_0_0_21", true],
      ["Node_10_0_0_22", true],
    ]);
  });

  it("RRs with different cluster ids are clients of each other", () => {
    const { config } = plan({ nodeName: "rr1", nodes: nodes("2.2.2.2"), peers, configs });
    expect(byName(config, "Node_10_0_0_2").routeReflectorClient).toBe(true);
  });

  it("reversePeering Manual: the RR gets no sessions to the clients", () => {
    const manual = [{ ...peers[0]!, spec: { ...(peers[0]!.spec as object), reversePeering: "Manual" } }];
    const { config } = plan({ nodeName: "rr1", nodes: nodes("1.1.1.1"), peers: manual, configs });
    expect(names(config)).toEqual(["Node_10_0_0_2"]);
  });

  it("with the mesh on, a RR renders no mesh and clients skip the RR in theirs", () => {
    const n = nodes("1.1.1.1");
    expect(names(plan({ nodeName: "rr1", nodes: n }).config)).toEqual([]);
    expect(names(plan({ nodeName: "c1", nodes: n }).config)).toEqual(["Mesh_10_0_0_22"]);
  });

  it("on a RR the export also accepts LB and external service ranges (to reflect per-service routes)", () => {
    const cfg = bgpConfig("default", {
      nodeToNodeMeshEnabled: false,
      serviceExternalIPs: [{ cidr: "198.51.100.7/32" }], // a single IP: per-service routes only
    });
    const rr = plan({ nodeName: "rr1", nodes: nodes("1.1.1.1"), peers, configs: [cfg] }).config;
    expect(passes(rr, "export:ibgp", "198.51.100.7/32", "ibgp")).toBe(true);
    expect(rr.originate).toEqual([]);
    const client = plan({ nodeName: "c1", nodes: nodes("1.1.1.1"), peers, configs: [cfg] }).config;
    expect(passes(client, "export:ibgp", "198.51.100.7/32", "ibgp")).toBe(false);
  });
});

describe("explicit peers", () => {
  const nodes = [node("n1", "10.0.0.1", {}, { rack: "a" }), node("n2", "10.0.0.2", {}, { rack: "b" })];

  it("global beats node-specific for the same address; own address skipped", () => {
    const { config } = plan({
      nodes,
      configs: [bgpConfig("default", { nodeToNodeMeshEnabled: false })],
      peers: [
        peer("a-global", { peerIP: "192.0.2.1", asNumber: 65000 }),
        peer("b-node", { node: "n1", peerIP: "192.0.2.1", asNumber: 65001 }),
        peer("c-selector", { nodeSelector: "rack == 'a'", peerIP: "192.0.2.2", asNumber: 65002 }),
        peer("d-other-rack", { nodeSelector: "rack == 'b'", peerIP: "192.0.2.3", asNumber: 65003 }),
        // Our own address (with another AS, so that it does not designate n1 for a reverse peering).
        peer("e-self", { peerIP: "10.0.0.1", asNumber: 65099 }),
      ],
    });
    expect(config.peers.map((p) => [p.name, p.asn])).toEqual([
      ["Global_192_0_2_1", 65000],
      ["Node_192_0_2_2", 65002],
    ]);
  });

  it("a peer to a node's address already in the mesh is reported; the explicit one is kept", () => {
    const { config, problems } = plan({ nodes, peers: [peer("g", { peerIP: "10.0.0.2", asNumber: 64512 })] });
    expect(names(config)).toEqual(["Global_10_0_0_2"]);
    expect(problems).toEqual([expect.objectContaining({ name: "Mesh_10_0_0_2", effect: "omitted" })]);
  });

  it.each([
    ["built-in default", {}, {}, undefined, 64512, 64512],
    ["BGPConfiguration default", { asNumber: 65000 }, {}, undefined, 65000, 65000],
    ["Node asNumber", { asNumber: 65000 }, { asNumber: 65100 }, undefined, 65100, 65000],
    ["BGPPeer asNumber", { asNumber: 65000 }, { asNumber: 65100 }, 65200, 65100, 65200],
  ])("AS precedence: %s", (_, dflt, n1bgp, peerAsn, speakerAsn, sessionAsn) => {
    const { config } = plan({
      nodes: [node("n1", "10.0.0.1", n1bgp), node("n2", "10.0.0.2")],
      configs: [bgpConfig("default", { ...dflt, nodeToNodeMeshEnabled: false })],
      peers:
        peerAsn === undefined
          ? [peer("p", { peerSelector: "all()" })] // AS of the selected node (its own, else global)
          : [peer("p", { peerIP: "192.0.2.1", asNumber: peerAsn })],
    });
    expect(config.asn).toBe(speakerAsn);
    expect(config.peers.map((p) => p.asn)).toEqual([sessionAsn]);
  });

  it("mesh sessions take the remote node's AS, else the global one", () => {
    const { config } = plan({
      nodes: [
        node("n1", "10.0.0.1", { asNumber: 65001 }),
        node("n2", "10.0.0.2", { asNumber: 65002 }),
        node("n3", "10.0.0.3"),
      ],
      configs: [bgpConfig("default", { asNumber: 65000 })],
    });
    expect(config.peers.map((p) => [p.name, p.asn])).toEqual([
      ["Mesh_10_0_0_2", 65002],
      ["Mesh_10_0_0_3", 65000],
    ]);
  });

  it("passwords: present, Secret missing, key missing; only those peers are shut down", () => {
    const pw = (name: string, key: string) => ({ secretKeyRef: { name, key } });
    const { config, problems } = plan({
      nodes,
      configs: [bgpConfig("default", { nodeToNodeMeshEnabled: false })],
      peers: [
        peer("ok", { peerIP: "192.0.2.1", asNumber: 65000, password: pw("bgp", "a") }),
        peer("nosecret", { peerIP: "192.0.2.2", asNumber: 65000, password: pw("gone", "a") }),
        peer("nokey", { peerIP: "192.0.2.3", asNumber: 65000, password: pw("bgp", "b") }),
        peer("plain", { peerIP: "192.0.2.4", asNumber: 65000 }),
      ],
      secrets: new Map([["bgp", { a: "s3cret" }]]),
    });
    expect(config.peers.map((p) => [p.name, p.password, p.shutdown])).toEqual([
      ["Global_192_0_2_1", "s3cret", undefined],
      ["Global_192_0_2_2", undefined, true],
      ["Global_192_0_2_3", undefined, true],
      ["Global_192_0_2_4", undefined, undefined],
    ]);
    expect(problems).toEqual([
      {
        name: "Global_192_0_2_2",
        address: "192.0.2.2",
        reason: "BGPPeer nosecret: spec.password: Secret gone not found",
        effect: "shutdown",
      },
      {
        name: "Global_192_0_2_3",
        address: "192.0.2.3",
        reason: "BGPPeer nokey: spec.password: key b not in Secret bgp",
        effect: "shutdown",
      },
    ]);
  });

  it("mesh password and restart time come from BGPConfiguration default", () => {
    const { config } = plan({
      nodes,
      configs: [
        bgpConfig("default", {
          nodeMeshPassword: { secretKeyRef: { name: "mesh", key: "pw" } },
          nodeMeshMaxRestartTime: "2m",
        }),
      ],
      secrets: new Map([["mesh", { pw: "meshpw" }]]),
    });
    expect(byName(config, "Mesh_10_0_0_2")).toMatchObject({ password: "meshpw", restartTimeSec: 120 });
  });

  const one = (spec: Record<string, unknown>): PeerConfig => {
    const { config } = plan({
      nodes,
      configs: [bgpConfig("default", { nodeToNodeMeshEnabled: false })],
      peers: [peer("p", { peerIP: "192.0.2.1", asNumber: 65000, ...spec })],
    });
    expect(config.peers).toHaveLength(1);
    return config.peers[0]!;
  };

  it.each<[string, Record<string, unknown>, Partial<PeerConfig>, (keyof PeerConfig)[]]>([
    [
      "defaults",
      {},
      { localAddress: "10.0.0.1", ttl: 64, exportPolicy: "export:ebgp" },
      ["nextHop", "port", "ttlSecurityHops"],
    ],
    ["ttlSecurity", { ttlSecurity: 2 }, { ttlSecurityHops: 2 }, ["ttl"]],
    ["sourceAddress None", { sourceAddress: "None" }, {}, ["localAddress"]],
    ["nextHopMode Self", { nextHopMode: "Self" }, { nextHop: "self" }, []],
    ["nextHopMode Keep", { nextHopMode: "Keep" }, { nextHop: "keep" }, []],
    ["nextHopMode Auto", { nextHopMode: "Auto" }, { nextHop: "auto" }, []],
    ["keepOriginalNextHop on eBGP", { keepOriginalNextHop: true }, { nextHop: "keep" }, []],
    [
      "keepOriginalNextHop on iBGP is ignored",
      { keepOriginalNextHop: true, asNumber: 64512 },
      { exportPolicy: "export:ibgp" },
      ["nextHop"],
    ],
    ["maxRestartTime", { maxRestartTime: "1m30.4s" }, { restartTimeSec: 90 }, []],
    ["keepaliveTime", { keepaliveTime: "10s" }, { keepaliveSec: 10 }, []],
    ["localASNumber", { localASNumber: 65000 }, { localAsn: 65000, exportPolicy: "export:ibgp" }, []],
    ["numAllowedLocalASNumbers", { numAllowedLocalASNumbers: 2 }, { allowOwnAs: 2 }, []],
    [
      "peerIP with port",
      { peerIP: "192.0.2.1:1790" },
      { name: "Global_192_0_2_1_port_1790", port: 1790 },
      [],
    ],
  ])("%s", (_, spec, expected, absent) => {
    const p = one(spec);
    expect(p).toMatchObject(expected);
    for (const k of absent) expect(p[k]).toBeUndefined();
  });

  it("keepOriginalNextHop on a localASNumber session equal to the peer's AS is iBGP: no keep", () => {
    const p = one({ keepOriginalNextHop: true, localASNumber: 65000 });
    expect(p.nextHop).toBeUndefined();
  });

  it("reachableBy becomes a static route", () => {
    const p = plan({
      nodes,
      peers: [peer("p", { peerIP: "192.0.2.1", asNumber: 65000, reachableBy: "10.0.0.254" })],
    });
    expect(p.staticRoutes).toEqual([{ prefix: "192.0.2.1/32", via: "10.0.0.254" }]);
  });

  it("bad resources become problems and are skipped; the rest is configured", () => {
    const { config, problems } = plan({
      nodes,
      configs: [bgpConfig("default", { nodeToNodeMeshEnabled: false })],
      peers: [
        peer("badip", { peerIP: "10.0.0", asNumber: 65000 }),
        peer("badas", { peerIP: "192.0.2.8", asNumber: "1.99999" }),
        peer("noas", { peerIP: "192.0.2.9" }),
        peer("badsel", { nodeSelector: "rack ==", peerIP: "192.0.2.7", asNumber: 65000 }),
        peer("good", { peerIP: "192.0.2.1", asNumber: 65000 }),
      ],
    });
    expect(names(config)).toEqual(["Global_192_0_2_1"]);
    expect(problems.map((p) => [p.name, p.effect])).toEqual([
      ["BGPPeer badas", "omitted"],
      ["BGPPeer badip", "omitted"],
      ["BGPPeer noas", "omitted"],
      ["BGPPeer badsel", "omitted"],
    ]);
    expect(problems[1]!.reason).toContain("spec.peerIP");
    expect(problems[0]!.reason).toContain("spec.asNumber");
    expect(problems[3]!.reason).toContain("spec.nodeSelector");
  });
});

describe("listen address and ports", () => {
  it("listenPort: node config beats default; mesh and Calico-node peers dial the remote's port", () => {
    const { config } = plan({
      nodes: [node("n1", "10.0.0.1"), node("n2", "10.0.0.2"), node("n3", "10.0.0.3")],
      configs: [
        bgpConfig("default", { listenPort: 1790 }),
        bgpConfig("node.n1", { listenPort: 1800 }),
        bgpConfig("node.n2", { listenPort: 1791 }),
      ],
      peers: [peer("to-n2", { node: "n3", peerIP: "10.0.0.2", asNumber: 64512 })],
    });
    expect(config.listen).toEqual({ address: "0.0.0.0", port: 1800 });
    expect(config.peers.map((p) => [p.name, p.port])).toEqual([
      ["Mesh_10_0_0_2", 1791],
      ["Mesh_10_0_0_3", 1790],
    ]);
    const n3 = plan({
      nodeName: "n3",
      nodes: [node("n1", "10.0.0.1"), node("n2", "10.0.0.2"), node("n3", "10.0.0.3")],
      configs: [
        bgpConfig("default", { nodeToNodeMeshEnabled: false }),
        bgpConfig("node.n2", { listenPort: 1791 }),
      ],
      peers: [peer("to-n2", { node: "n3", peerIP: "10.0.0.2", asNumber: 64512 })],
    }).config;
    expect(n3.peers.map((p) => [p.name, p.port])).toEqual([["Node_10_0_0_2_port_1791", 1791]]);
  });

  it.each([
    ["IPv4 only", { ipv4Address: "10.0.0.1/24" }, {}, "0.0.0.0"],
    ["dual stack", { ipv4Address: "10.0.0.1/24", ipv6Address: "fd00::1/64" }, {}, "::"],
    ["bindMode NodeIP", { ipv4Address: "10.0.0.1/24" }, { bindMode: "NodeIP" }, "10.0.0.1"],
    ["bindMode NodeIP, IPv6 only", { ipv6Address: "fd00::1/64" }, { bindMode: "NodeIP" }, "fd00::1"],
  ])("%s listens on %s", (_, bgp, dflt, address) => {
    const { config } = plan({
      nodes: [res("Node", "n1", { bgp })],
      configs: [bgpConfig("default", dflt)],
      routerId: "1.2.3.4",
    });
    expect(config.listen?.address).toBe(address);
  });
});

describe("IPv6", () => {
  const nodes = [
    node("n1", "10.0.0.1", { ipv6Address: "fd00::12/64" }),
    node("n2", "10.0.0.2", { ipv6Address: "fd00::9/64" }),
    node("n3", "10.0.0.3"),
  ];
  it("dual-stack nodes mesh per family with v6 names, families and passive text rule", () => {
    const { config } = plan({ nodes, peers: [peer("v6", { peerIP: "[fd00::ff]:1790", asNumber: 65000 })] });
    expect(config.peers.map((p) => [p.name, p.families, p.passive, p.localAddress])).toEqual([
      ["Global_fd00__ff_port_1790", ["ipv6"], false, "fd00::12"],
      ["Mesh_10_0_0_2", ["ipv4"], true, "10.0.0.1"],
      ["Mesh_10_0_0_3", ["ipv4"], true, "10.0.0.1"],
      ["Mesh_fd00__9", ["ipv6"], true, "fd00::12"], // "fd00::9" > "fd00::12" as text
    ]);
    expect(config.listen?.address).toBe("::");
  });
  it("an IPv4-only node has no IPv6 sessions", () => {
    const { config } = plan({
      nodeName: "n3",
      nodes,
      peers: [peer("v6", { peerIP: "fd00::ff", asNumber: 65000 })],
    });
    expect(names(config)).toEqual(["Mesh_10_0_0_1", "Mesh_10_0_0_2"]);
  });
  it("an IPv6-only node needs a router id", () => {
    const v6only = [res("Node", "n1", { bgp: { ipv6Address: "fd00::1/64" } })];
    const none = computeBgpPlan(set({ nodes: v6only }));
    expect(none.config).toBeUndefined();
    expect(none.problems[0]!.reason).toContain("router id");
    expect(computeBgpPlan(set({ nodes: v6only, routerId: "10.9.9.9" })).config?.routerId).toBe("10.9.9.9");
  });
  it("no BGP address, or no Node at all: no config", () => {
    expect(computeBgpPlan(set({ nodes: [res("Node", "n1", {})] })).config).toBeUndefined();
    const missing = computeBgpPlan(set({ nodes: THREE, nodeName: "n9" }));
    expect(missing.config).toBeUndefined();
    expect(missing.problems).toEqual([expect.objectContaining({ reason: "Node n9 not found" })]);
  });
});

describe("originate and export", () => {
  const nodes = [node("n1", "10.0.0.1", { ipv6Address: "fd00::1/64" }), node("n2", "10.0.0.2")];
  const pools = [
    pool("p", "10.244.0.0/16"),
    pool("quiet", "10.250.0.0/16", { disableBGPExport: true }),
    pool("p6", "fd10::/48"),
  ];

  it("confirmed blocks and borrowed addresses; pending blocks not; disableBGPExport pools rejected", () => {
    const { config } = plan({
      nodes,
      pools,
      affinities: [
        { cidr: "10.244.1.0/26", node: "n1", state: "confirmed" },
        { cidr: "10.244.1.64/26", node: "n1" },
        { cidr: "10.244.1.128/26", node: "n1", state: "pending" },
        { cidr: "10.244.1.192/26", node: "n1", state: "pendingDeletion" },
        { cidr: "10.244.2.0/26", node: "n2", state: "confirmed" },
        { cidr: "10.250.0.0/26", node: "n1", state: "confirmed" },
      ],
      borrowed: ["10.244.2.7", "fd10::5"],
    });
    expect(config.originate?.map((o) => o.prefix)).toEqual([
      "10.244.1.0/26",
      "10.244.1.64/26",
      "10.244.2.7/32",
      "10.250.0.0/26",
      "fd10::5/128",
    ]);
    const exp = "export:ibgp";
    expect(passes(config, exp, "10.244.1.64/26")).toBe(true);
    expect(passes(config, exp, "10.244.2.7/32")).toBe(true); // borrowed: inside an exported pool
    expect(passes(config, exp, "fd10::5/128")).toBe(true);
    expect(passes(config, exp, "10.250.0.0/26")).toBe(false); // disableBGPExport
    expect(passes(config, exp, "10.250.9.0/26", "ibgp")).toBe(false);
    expect(passes(config, exp, "10.0.0.0/24")).toBe(false); // node subnet: never exported
  });

  it("service ranges with communities; single external/LB IPs are not advertised from every node", () => {
    const configs = [
      bgpConfig("default", {
        serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
        serviceExternalIPs: [{ cidr: "203.0.113.0/24" }, { cidr: "198.51.100.7/32" }],
        serviceLoadBalancerIPs: [{ cidr: "192.0.2.0/28" }],
        communities: [{ name: "svc", value: "65000:100" }],
        prefixAdvertisements: [
          { cidr: "10.96.0.0/12", communities: ["svc", "65000:200", "1:2:3"] },
          { cidr: "192.0.2.0/24", communities: ["65000:300"] },
        ],
      }),
    ];
    const { config, problems } = plan({ nodes, configs });
    expect(problems).toEqual([]);
    expect(config.originate).toEqual([
      {
        prefix: "10.96.0.0/12",
        localPref: 2147482623,
        communities: ["65000:100", "65000:200"],
        largeCommunities: ["1:2:3"],
      },
      { prefix: "192.0.2.0/28", localPref: 2147482623, communities: ["65000:300"] },
      { prefix: "203.0.113.0/24", localPref: 2147482623 },
    ]);
    expect(passes(config, "export:ibgp", "10.96.0.10/32")).toBe(true);

    // node.<name>'s prefixAdvertisements replace the default's.
    const node1 = bgpConfig("node.n1", {
      prefixAdvertisements: [{ cidr: "203.0.113.0/24", communities: ["7:7"] }],
    });
    const replaced = plan({ nodes, configs: [...configs, node1] }).config;
    expect(replaced.originate?.map((o) => [o.prefix, o.communities])).toEqual([
      ["10.96.0.0/12", undefined],
      ["192.0.2.0/28", undefined],
      ["203.0.113.0/24", ["7:7"]],
    ]);

    // A node labelled exclude-from-external-load-balancers advertises no service ranges.
    const excluded = [
      node("n1", "10.0.0.1", {}, { "node.kubernetes.io/exclude-from-external-load-balancers": "true" }),
    ];
    expect(plan({ nodes: excluded, configs }).config.originate).toEqual([]);
  });

  it("serviceLoadBalancerAggregation Disabled: no LB range; normal route priority sets LOCAL_PREF", () => {
    const configs = [
      bgpConfig("default", {
        serviceLoadBalancerIPs: [{ cidr: "192.0.2.0/28" }],
        serviceLoadBalancerAggregation: "Disabled",
        ipv4NormalRoutePriority: 512,
      }),
    ];
    const { config } = plan({ nodes, configs, affinities: [{ cidr: "10.244.1.0/26", node: "n1" }] });
    expect(config.originate).toEqual([{ prefix: "10.244.1.0/26", localPref: 2147483135 }]);
  });

  it("an unknown community name is reported and skipped", () => {
    const { problems } = plan({
      nodes,
      configs: [
        bgpConfig("default", { prefixAdvertisements: [{ cidr: "10.96.0.0/12", communities: ["nope"] }] }),
      ],
    });
    expect(problems.map((p) => p.effect)).toEqual(["ignored"]);
    expect(problems[0]!.reason).toContain('"nope"');
  });
});

describe("BGPFilter on sessions", () => {
  const nodes = [node("n1", "10.0.0.1"), node("n2", "10.0.0.2")];
  const base = {
    nodes,
    pools: [pool("p", "10.244.0.0/16")],
    affinities: [{ cidr: "10.244.1.0/26", node: "n1", state: "confirmed" }],
    configs: [bgpConfig("default", { nodeToNodeMeshEnabled: false })],
  };

  it("export rules run before Calico's; import rules before accept; policies shared by name", () => {
    const { config, problems } = plan({
      ...base,
      filters: [
        filter("f1", {
          exportV4: [
            { action: "Reject", matchOperator: "Equal", cidr: "10.244.1.0/26" },
            { action: "Accept", matchOperator: "In", cidr: "10.0.0.0/8", prefixLength: { max: 16 } },
          ],
          importV4: [{ action: "Reject", matchOperator: "In", cidr: "10.99.0.0/16", source: "RemotePeers" }],
        }),
      ],
      peers: [
        peer("tor1", { peerIP: "192.0.2.1", asNumber: 65000, filters: ["f1"] }),
        peer("tor2", { peerIP: "192.0.2.2", asNumber: 65000, filters: ["f1"] }),
      ],
    });
    expect(problems).toEqual([]);
    expect(config.peers.map((p) => [p.exportPolicy, p.importPolicy])).toEqual([
      ["export:ebgp:f1", "import:ebgp:f1"],
      ["export:ebgp:f1", "import:ebgp:f1"],
    ]);
    expect(Object.keys(config.policies ?? {}).sort()).toEqual(["export:ebgp:f1", "import:ebgp:f1"]);
    const exp = "export:ebgp:f1";
    expect(passes(config, exp, "10.244.1.0/26")).toBe(false); // the filter's Equal reject wins
    expect(passes(config, exp, "10.5.0.0/16", "ebgp")).toBe(true); // the filter's In accept
    expect(passes(config, exp, "10.5.1.0/24", "ebgp")).toBe(false); // /24 > max 16: Calico's default
    const imp = "import:ebgp:f1";
    expect(passes(config, imp, "10.99.1.0/24", "ebgp")).toBe(false);
    expect(passes(config, imp, "10.98.1.0/24", "ebgp")).toBe(true);
  });

  it("NotIn on export: everything outside the pool is rejected before Calico's rules", () => {
    const { config } = plan({
      ...base,
      filters: [
        filter("only-pods", {
          exportV4: [{ action: "Reject", matchOperator: "NotIn", cidr: "10.244.0.0/16" }],
        }),
      ],
      peers: [peer("tor", { peerIP: "192.0.2.1", asNumber: 65000, filters: ["only-pods"] })],
    });
    const exp = "export:ebgp:only-pods";
    expect(passes(config, exp, "10.244.1.0/26")).toBe(true);
    expect(passes(config, exp, "10.96.0.0/12")).toBe(false);
  });

  it("peerType rules apply only to their kind of session", () => {
    const { config } = plan({
      ...base,
      filters: [
        filter("pt", {
          exportV4: [{ action: "Reject", matchOperator: "Equal", cidr: "10.244.1.0/26", peerType: "iBGP" }],
        }),
      ],
      peers: [
        peer("ibgp", { peerIP: "192.0.2.1", asNumber: 64512, filters: ["pt"] }),
        peer("ebgp", { peerIP: "192.0.2.2", asNumber: 65000, filters: ["pt"] }),
      ],
    });
    expect(passes(config, "export:ibgp:pt", "10.244.1.0/26")).toBe(false);
    expect(passes(config, "export:ebgp:pt", "10.244.1.0/26")).toBe(true);
  });

  it("unsupported conditions: interface ignored (reported), asPathPrefix in a Reject shuts the session", () => {
    const { config, problems } = plan({
      ...base,
      filters: [
        filter("iface", { exportV4: [{ action: "Reject", interface: "eth*" }] }),
        filter("aspath", { importV4: [{ action: "Reject", asPathPrefix: [65000] }] }),
      ],
      peers: [
        peer("a", { peerIP: "192.0.2.1", asNumber: 65000, filters: ["iface"] }),
        peer("b", { peerIP: "192.0.2.2", asNumber: 65000, filters: ["aspath"] }),
        peer("c", { peerIP: "192.0.2.3", asNumber: 65000, filters: ["missing"] }),
      ],
    });
    expect(config.peers.map((p) => [p.name, p.shutdown])).toEqual([
      ["Global_192_0_2_1", undefined],
      ["Global_192_0_2_2", true],
      ["Global_192_0_2_3", undefined],
    ]);
    expect(problems.map((p) => [p.name, p.effect])).toEqual([
      ["Global_192_0_2_1", "ignored"],
      ["Global_192_0_2_2", "shutdown"],
      ["Global_192_0_2_3", "ignored"],
    ]);
    expect(problems[0]!.reason).toContain("BGPFilter iface exportV4[0]: interface");
    expect(problems[1]!.reason).toContain("asPathPrefix");
    expect(problems[2]!.reason).toContain("BGPFilter missing not found");
    expect(passes(config, "export:ebgp:iface", "10.244.1.0/26")).toBe(true); // the rule matched nothing
  });
});
