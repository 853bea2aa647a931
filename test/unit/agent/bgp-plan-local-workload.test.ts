// computeBgpPlan with BGPPeer.localWorkloadSelector (Calico v3.30+), against what Felix's
// ActiveBGPPeerCalculator selects and confd renders (confd/tests/compiled_templates/explicit_peering/
// local_bgp_peer/bird.cfg: `Local_Workload_<ip_>`, AS + local AS + filters, passive on, no source
// address, ttl security off + multihop, calico_export_to_bgp_peers(peerAS == localAS)).
import { describe, expect, it } from "vitest";
import type { PeerConfig, SpeakerConfig } from "../../../bgp/speaker/config.js";
import { validateSpeakerConfig } from "../../../bgp/speaker/speaker.js";
import { type BgpPlan, type BgpResourceSet, computeBgpPlan } from "../../../src/agent/bgp-plan.js";
import { type LocalWorkload, localWorkloadsOf } from "../../../src/agent/local-workload-peers.js";
import type { Resource } from "../../../src/api/meta.js";

const res = (kind: string, name: string, spec: unknown, labels?: Record<string, string>): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name, ...(labels ? { labels } : {}) },
  spec,
});
const node = (name: string, v4: string, labels?: Record<string, string>, bgp: Record<string, unknown> = {}) =>
  res(
    "Node",
    name,
    { bgp: { ipv4Address: `${v4}/24`, ipv6Address: `fd00::${v4.split(".")[3]}/64`, ...bgp } },
    labels,
  );
const peer = (name: string, spec: Record<string, unknown>) => res("BGPPeer", name, spec);
const NODES = [node("n1", "10.0.0.11", { rack: "a" }), node("n2", "10.0.0.12", { rack: "b" })];
const CONFIG = res("BGPConfiguration", "default", {
  nodeToNodeMeshEnabled: false,
  localWorkloadPeeringIPV4: "169.254.0.179",
  localWorkloadPeeringIPV6: "fe80::179",
});
const ns = { "projectcalico.org/namespace": "default", "projectcalico.org/orchestrator": "k8s" };
const wl = (name: string, labels: Record<string, string>, ...ips: string[]): LocalWorkload => ({
  name: `default/${name}`,
  labels: { ...labels, ...ns },
  ipNetworks: ips,
  ifName: `cali${name}`,
});
const SPEAKER = wl("speaker", { app: "bgp-speaker" }, "10.244.1.5/32", "fd00:244::5/128");
const OTHER = wl("other", { app: "web" }, "10.244.1.6/32");
const LWS = { localWorkloadSelector: "app == 'bgp-speaker'", asNumber: 65100 };

function plan(over: Partial<BgpResourceSet>): BgpPlan & { config: SpeakerConfig } {
  const p = computeBgpPlan({
    nodeName: "n1",
    nodes: NODES,
    peers: [],
    configs: [CONFIG],
    filters: [],
    pools: [res("IPPool", "p", { cidr: "10.244.0.0/16" })],
    affinities: [{ cidr: "10.244.1.0/26", node: "n1" }],
    borrowed: [],
    secrets: new Map(),
    localWorkloads: [SPEAKER, OTHER],
    ...over,
  });
  expect(p.config).toBeDefined();
  validateSpeakerConfig(p.config!);
  return p as BgpPlan & { config: SpeakerConfig };
}
const names = (c: SpeakerConfig) => c.peers.map((p) => p.name);
const byName = (c: SpeakerConfig, name: string): PeerConfig => {
  const p = c.peers.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no session ${name} in ${names(c).join(", ")}`);
  return p;
};

describe("localWorkloadSelector sessions", () => {
  it.each<[string, Record<string, unknown>, string, string[]]>([
    [
      "global peer, matching local workload (both families)",
      LWS,
      "n1",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
    [
      "node: this node",
      { ...LWS, node: "n1" },
      "n1",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
    ["node: another node", { ...LWS, node: "n2" }, "n1", []],
    [
      "nodeSelector matches this node",
      { ...LWS, nodeSelector: "rack == 'a'" },
      "n1",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
    ["nodeSelector does not match", { ...LWS, nodeSelector: "rack == 'b'" }, "n1", []],
    ["selector matches nothing", { ...LWS, localWorkloadSelector: "app == 'none'" }, "n1", []],
    [
      "selector on Calico's namespace label",
      { ...LWS, localWorkloadSelector: "projectcalico.org/namespace == 'default' && app == 'web'" },
      "n1",
      ["Local_Workload_10_244_1_6"],
    ],
  ])("%s", (_what, spec, nodeName, expected) => {
    const { config } = plan({ nodeName, peers: [peer("lw", spec)] });
    expect(names(config)).toEqual(expected);
  });

  it("peers only with this node's workloads: the agent passes spec.node's endpoints", () => {
    const wep = (name: string, nodeName: string, ip: string): Resource => ({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: { name, namespace: "default", labels: { app: "bgp-speaker", ...ns } },
      spec: { node: nodeName, interfaceName: `cali${name}`, ipNetworks: [ip] },
    });
    const weps = [wep("here", "n1", "10.244.1.5/32"), wep("there", "n2", "10.244.2.5/32")];
    const { config } = plan({ peers: [peer("lw", LWS)], localWorkloads: localWorkloadsOf("n1", weps) });
    expect(names(config)).toEqual(["Local_Workload_10_244_1_5"]);
  });

  it("renders confd's statements: AS, local AS, passive, multihop, no source address, filters", () => {
    const { config, problems } = plan({
      peers: [peer("lw", { ...LWS, localASNumber: 65002, filters: ["f"] })],
      filters: [
        res("BGPFilter", "f", { importV4: [{ action: "Accept", matchOperator: "In", cidr: "44.0.0.0/16" }] }),
      ],
    });
    const s = byName(config, "Local_Workload_10_244_1_5");
    expect(s).toMatchObject({ address: "10.244.1.5", asn: 65100, localAsn: 65002, passive: true, ttl: 64 });
    expect(s.localAddress).toBeUndefined();
    expect(s.port).toBeUndefined();
    expect(s.importPolicy).toBe("import:ebgp:f");
    expect(s.exportPolicy).toBe("export:ebgp:f");
    expect(byName(config, "Local_Workload_fd00_244__5").families).toEqual(["ipv6"]);
    expect(problems).toEqual([]);
  });

  it("an iBGP workload gets the iBGP export policy (calico_export_to_bgp_peers(true))", () => {
    const { config } = plan({ peers: [peer("lw", { ...LWS, asNumber: 64512 })] });
    expect(byName(config, "Local_Workload_10_244_1_5").exportPolicy).toBe("export:ibgp");
  });

  it("the first BGPPeer by name is a workload's only one (Felix's active peer)", () => {
    const { config } = plan({
      peers: [
        peer("b-peer", { ...LWS, asNumber: 65200 }),
        peer("a-peer", { ...LWS, node: "n1", asNumber: 65300 }),
      ],
    });
    expect(byName(config, "Local_Workload_10_244_1_5").asn).toBe(65300);
    expect(names(config)).toHaveLength(2);
  });

  it("uses the first address of each family", () => {
    const { config } = plan({
      peers: [peer("lw", LWS)],
      localWorkloads: [wl("multi", { app: "bgp-speaker" }, "10.244.1.7/32", "10.244.1.8/32")],
    });
    expect(names(config)).toEqual(["Local_Workload_10_244_1_7"]);
  });

  it("tells felix where the node's peering addresses go", () => {
    const p = plan({ peers: [peer("lw", LWS)] });
    expect(p.workloadPeeringAddresses).toEqual([
      { ifName: "calispeaker", address: "169.254.0.179" },
      { ifName: "calispeaker", address: "fe80::179" },
    ]);
  });

  it("skips a family this node does not run BGP in", () => {
    const { config } = plan({
      nodes: [res("Node", "n1", { bgp: { ipv4Address: "10.0.0.11/24" } })],
      peers: [peer("lw", LWS)],
    });
    expect(names(config)).toEqual(["Local_Workload_10_244_1_5"]);
  });
});

describe("localWorkloadSelector bad input: reported, never thrown", () => {
  it.each<[string, Record<string, unknown>, string, "omitted" | "ignored", string[]]>([
    ["missing asNumber", { localWorkloadSelector: "all()" }, "spec.asNumber: is required", "omitted", []],
    [
      "asNumber 0",
      { localWorkloadSelector: "all()", asNumber: 0 },
      "spec.asNumber: is required",
      "omitted",
      [],
    ],
    [
      "bad selector",
      { localWorkloadSelector: "app ==", asNumber: 65100 },
      "spec.localWorkloadSelector:",
      "omitted",
      [],
    ],
    [
      "peerIP as well (confd peers with the workloads)",
      { ...LWS, peerIP: "10.0.0.99" },
      "spec.peerIP: must be empty when localWorkloadSelector is set",
      "ignored",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
    [
      "peerSelector as well",
      { ...LWS, peerSelector: "all()" },
      "spec.peerSelector: must be empty",
      "ignored",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
    [
      "a field confd does not copy",
      { ...LWS, password: { secretKeyRef: { name: "s", key: "k" } } },
      "spec.password: not used for local workload peerings",
      "ignored",
      ["Local_Workload_10_244_1_5", "Local_Workload_fd00_244__5"],
    ],
  ])("%s", (_what, spec, reason, effect, sessions) => {
    const { config, problems } = plan({ peers: [peer("lw", spec)] });
    expect(names(config)).toEqual(sessions);
    expect(problems).toContainEqual(
      expect.objectContaining({ name: "BGPPeer lw", effect, reason: expect.stringContaining(reason) }),
    );
  });

  it("no reverse peering and no Global_ session from the peerIP", () => {
    const { config } = plan({
      nodeName: "n2",
      localWorkloads: [],
      peers: [peer("lw", { ...LWS, peerIP: "10.0.0.11" })],
    });
    expect(names(config)).toEqual([]);
  });

  it("a bad ipNetworks entry is reported and the rest still peers", () => {
    const { config, problems } = plan({
      peers: [peer("lw", LWS)],
      localWorkloads: [wl("bad", { app: "bgp-speaker" }, "not-an-ip", "10.244.1.9/32")],
    });
    expect(names(config)).toEqual(["Local_Workload_10_244_1_9"]);
    expect(problems).toContainEqual(
      expect.objectContaining({ reason: expect.stringContaining("not-an-ip") }),
    );
  });

  it("a peering address that is missing or of the wrong family is reported", () => {
    const configs = [res("BGPConfiguration", "default", { localWorkloadPeeringIPV4: "fe80::1" })];
    const p = plan({ configs, peers: [peer("lw", LWS)] });
    expect(p.workloadPeeringAddresses).toBeUndefined();
    const reasons = p.problems.map((x) => x.reason);
    expect(reasons).toContainEqual(
      expect.stringContaining('localWorkloadPeeringIPV4: "fe80::1" is not an IPv4 address'),
    );
    expect(reasons).toContainEqual(expect.stringContaining("localWorkloadPeeringIPV6: not set"));
  });
});
