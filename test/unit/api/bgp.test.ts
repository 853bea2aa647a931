import { describe, expect, it } from "vitest";
import { bgpPeerKind } from "../../../src/api/bgppeer.js";
import { checkWrite } from "../../../src/api/resource.js";
import { accept, doc, refuse } from "./helpers.js";

const peer = (spec: string, name = "peer-1") => doc("BGPPeer", name, spec);
const config = (spec: string, name = "default") => doc("BGPConfiguration", name, spec);
const filter = (spec: string, name = "f1") => doc("BGPFilter", name, spec);

describe("BGPPeer: Calico documentation examples apply unchanged", () => {
  it("a per-node peer", () => {
    const r = accept(`
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: some.name
spec:
  node: rack1-host1
  peerIP: 192.168.1.1
  asNumber: 63400
`);
    expect(r.spec).toEqual({ node: "rack1-host1", peerIP: "192.168.1.1", asNumber: 63400 });
  });

  it("a global peer with an MD5 password", () => {
    const r = accept(
      peer(
        "peerIP: 192.20.30.40\nasNumber: 64567\npassword:\n  secretKeyRef:\n    name: bgp-secrets\n    key: rr-password",
      ),
    );
    expect(r.spec).toMatchObject({ password: { secretKeyRef: { name: "bgp-secrets", key: "rr-password" } } });
  });

  it("route-reflector peerings by selector", () => {
    accept(
      peer("nodeSelector: all()\npeerSelector: route-reflector == 'true'", "peer-with-route-reflectors"),
    );
  });

  it("peer IP with port, IPv6 with port, asdot AS, durations, TTL security, filters, next hop", () => {
    const r = accept(
      peer(
        "peerIP: '[2001:db8::1]:1790'\nasNumber: '1.10'\nlocalASNumber: 65001\nmaxRestartTime: 120s\nkeepaliveTime: 20s\nttlSecurity: 1\nnumAllowedLocalASNumbers: 1\nfilters: [f1]\nnextHopMode: Self\nsourceAddress: None\nreachableBy: 2001:db8::fe\nreversePeering: Manual",
      ),
    );
    expect(r.spec).toMatchObject({
      asNumber: 65546,
      maxRestartTime: "2m0s",
      keepaliveTime: "20s",
      localASNumber: 65001,
    });
    accept(peer("peerIP: 10.0.0.1:179\nasNumber: 64512"));
    accept(peer("localWorkloadSelector: color == 'red'\nasNumber: 65010"));
  });
});

describe("BGPPeer: every rule", () => {
  it.each([
    [
      "node with nodeSelector",
      "node: n1\nnodeSelector: all()",
      "spec.nodeSelector",
      "node and nodeSelector cannot both be set",
    ],
    [
      "peerIP with peerSelector",
      "peerIP: 10.0.0.1\npeerSelector: all()",
      "spec.peerSelector",
      "peerIP and peerSelector cannot both be set",
    ],
    [
      "asNumber with peerSelector",
      "peerSelector: all()\nasNumber: 64512",
      "spec.asNumber",
      "must be empty when peerSelector is set",
    ],
    [
      "peerIP with localWorkloadSelector",
      "localWorkloadSelector: all()\npeerIP: 10.0.0.1\nasNumber: 1",
      "spec.peerIP",
      "must be empty when localWorkloadSelector",
    ],
    [
      "peerSelector with localWorkloadSelector",
      "localWorkloadSelector: all()\npeerSelector: all()",
      "spec.peerSelector",
      "must be empty when localWorkloadSelector",
    ],
    [
      "localWorkloadSelector needs asNumber",
      "localWorkloadSelector: all()",
      "spec.asNumber",
      "is required when localWorkloadSelector",
    ],
    [
      "reachableBy without peerIP",
      "reachableBy: 10.0.0.254",
      "spec.reachableBy",
      "must be empty when peerIP is empty",
    ],
    [
      "reachableBy family",
      "peerIP: 10.0.0.1\nreachableBy: fd00::1",
      "spec.reachableBy",
      "same address family",
    ],
    [
      "reachableBy not an IP",
      "peerIP: 10.0.0.1\nreachableBy: gw",
      "spec.reachableBy",
      "must be an IP address",
    ],
    [
      "keepOriginalNextHop with nextHopMode",
      "peerIP: 10.0.0.1\nkeepOriginalNextHop: true\nnextHopMode: Keep",
      "spec.nextHopMode",
      "cannot both be set",
    ],
    ["peerIP not an IP", "peerIP: router.example", "spec.peerIP", "<IPv4>:<port>"],
    ["peerIP port zero", "peerIP: 10.0.0.1:0", "spec.peerIP", "<IPv4>:<port>"],
    ["IPv6 port without brackets", "peerIP: 2001:db8::1:179:x", "spec.peerIP", "[<IPv6>]:<port>"],
    ["AS number too big", "peerIP: 10.0.0.1\nasNumber: 4294967296", "spec.asNumber", "0..4294967295"],
    ["unquoted asdot", "peerIP: 10.0.0.1\nasNumber: 1.10", "spec.asNumber", "quoted string"],
    ["asdot part too big", "peerIP: 10.0.0.1\nasNumber: '1.70000'", "spec.asNumber", "16-bit"],
    [
      "bad duration",
      "peerIP: 10.0.0.1\nmaxRestartTime: 120",
      "spec.maxRestartTime",
      "must be a duration string",
    ],
    [
      "duration without unit",
      "peerIP: 10.0.0.1\nkeepaliveTime: '30'",
      "spec.keepaliveTime",
      "a number with a unit",
    ],
    [
      "negative duration",
      "peerIP: 10.0.0.1\nmaxRestartTime: -5s",
      "spec.maxRestartTime",
      "must not be negative",
    ],
    ["ttlSecurity over 255", "peerIP: 10.0.0.1\nttlSecurity: 256", "spec.ttlSecurity", "0..255"],
    ["bad node name", "node: Rack1_Host1\npeerIP: 10.0.0.1", "spec.node", "lower case"],
    ["bad filter name", "peerIP: 10.0.0.1\nfilters: [Bad_Name]", "spec.filters[0]", "lower case"],
    ["bad selector", "nodeSelector: has(rack", "spec.nodeSelector", "selector syntax"],
    [
      "password without key",
      "peerIP: 10.0.0.1\npassword:\n  secretKeyRef:\n    name: s",
      "spec.password.secretKeyRef.key",
      "is required",
    ],
    [
      "sourceAddress enum",
      "peerIP: 10.0.0.1\nsourceAddress: NodeIP",
      "spec.sourceAddress",
      "UseNodeIP, None",
    ],
    ["nextHopMode enum", "peerIP: 10.0.0.1\nnextHopMode: self", "spec.nextHopMode", "Auto, Self, Keep"],
    ["unknown field", "peerIP: 10.0.0.1\nholdTime: 90", "spec.holdTime", "unknown field"],
  ])("%s", (_what, spec, path, rule) => {
    refuse(peer(spec), path, rule);
  });

  it("refuses filters that do not exist when written", () => {
    const p = accept(peer("peerIP: 10.0.0.1\nasNumber: 64512\nfilters: [f1, f2]"));
    const f1 = accept(filter("exportV4:\n- action: Reject"));
    const ctx = { op: "create" as const, list: (k: string) => (k === "BGPFilter" ? [f1] : []) };
    expect(checkWrite(bgpPeerKind, p, ctx)).toEqual([
      { path: ["spec", "filters", 1], value: "f2", rule: "BGPFilter not found" },
    ]);
  });
});

describe("BGPConfiguration", () => {
  it("the documentation's default configuration applies, with CRD defaults filled", () => {
    const r = accept(`
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  logSeverityScreen: Info
  nodeToNodeMeshEnabled: true
  nodeMeshMaxRestartTime: 120s
  asNumber: 63400
  serviceClusterIPs:
    - cidr: 10.96.0.0/12
  serviceExternalIPs:
    - cidr: 104.244.42.129/32
    - cidr: 172.217.3.0/24
  listenPort: 178
  bindMode: NodeIP
  communities:
    - name: bgp-large-community
      value: 63400:300:100
  prefixAdvertisements:
    - cidr: 172.218.4.0/26
      communities:
        - bgp-large-community
        - 63400:120
`);
    expect(r.spec).toMatchObject({
      nodeMeshMaxRestartTime: "2m0s",
      serviceLoadBalancerAggregation: "Enabled",
    });
  });

  it("turning the mesh off keeps the explicit false; a per-node override applies", () => {
    expect(accept(config("nodeToNodeMeshEnabled: false\nasNumber: 65000")).spec).toEqual({
      logSeverityScreen: "Info",
      nodeToNodeMeshEnabled: false,
      asNumber: 65000,
      serviceLoadBalancerAggregation: "Enabled",
    });
    accept(config("listenPort: 1790\nlogSeverityScreen: debug", "node.node-1"));
  });

  it.each([
    [
      "mesh password with mesh off",
      "nodeToNodeMeshEnabled: false\nnodeMeshPassword:\n  secretKeyRef:\n    name: s\n    key: k",
      "spec.nodeMeshPassword",
      "when nodeToNodeMeshEnabled is false",
    ],
    [
      "mesh restart time with mesh off",
      "nodeToNodeMeshEnabled: false\nnodeMeshMaxRestartTime: 2m",
      "spec.nodeMeshMaxRestartTime",
      "when nodeToNodeMeshEnabled is false",
    ],
    [
      "communities without prefixAdvertisements",
      "communities:\n- name: c1\n  value: 100:200",
      "spec.communities",
      "not used",
    ],
    [
      "undefined community name",
      "communities:\n- name: c1\n  value: 100:200\nprefixAdvertisements:\n- cidr: 10.0.0.0/24\n  communities: [c2]",
      "spec.prefixAdvertisements[0].communities[0]",
      "defined in spec.communities",
    ],
    [
      "literal community out of range",
      "prefixAdvertisements:\n- cidr: 10.0.0.0/24\n  communities: ['70000:1']",
      "spec.prefixAdvertisements[0].communities[0]",
      "16-bit",
    ],
    [
      "community value format",
      "communities:\n- name: c1\n  value: '100'\nprefixAdvertisements:\n- cidr: 10.0.0.0/24\n  communities: [c1]",
      "spec.communities[0].value",
      "aa:nn",
    ],
    [
      "community value 16-bit",
      "communities:\n- name: c1\n  value: 65536:1\nprefixAdvertisements:\n- cidr: 10.0.0.0/24\n  communities: [c1]",
      "spec.communities[0].value",
      "16-bit",
    ],
    [
      "community without name",
      "communities:\n- value: 1:1\nprefixAdvertisements:\n- cidr: 10.0.0.0/24\n  communities: ['1:1']",
      "spec.communities[0].name",
      "is required",
    ],
    [
      "prefix advertisement not a network",
      "prefixAdvertisements:\n- cidr: 10.0.0.1/24\n  communities: ['1:1']",
      "spec.prefixAdvertisements[0].cidr",
      "host bits zero",
    ],
    [
      "service IP not a network",
      "serviceClusterIPs:\n- cidr: 10.96.0.1/12",
      "spec.serviceClusterIPs[0].cidr",
      "host bits zero",
    ],
    ["log severity", "logSeverityScreen: verbose", "spec.logSeverityScreen", "Trace, Debug, Info"],
    ["listen port zero", "listenPort: 0", "spec.listenPort", "1..65535"],
    ["listen port too big", "listenPort: 65536", "spec.listenPort", "1..65535"],
    ["bindMode", "bindMode: All", "spec.bindMode", "None, NodeIP"],
    ["ignored interface *", "ignoredInterfaces: ['*']", "spec.ignoredInterfaces[0]", 'not just "*"'],
    [
      "ignored interface too long",
      "ignoredInterfaces: [averyveryverylongname]",
      "spec.ignoredInterfaces[0]",
      "1..15",
    ],
    [
      "local workload IPv4",
      "localWorkloadPeeringIPV4: fd00::1",
      "spec.localWorkloadPeeringIPV4",
      "IPv4 address",
    ],
    [
      "local workload IPv6",
      "localWorkloadPeeringIPV6: 169.254.0.1",
      "spec.localWorkloadPeeringIPV6",
      "IPv6 address",
    ],
    ["programClusterRoutes", "programClusterRoutes: Yes", "spec.programClusterRoutes", "EnabledNoEncapOnly"],
    ["route priority", "ipv4NormalRoutePriority: 0", "spec.ipv4NormalRoutePriority", "1..2147483646"],
    [
      "aggregation",
      "serviceLoadBalancerAggregation: Off",
      "spec.serviceLoadBalancerAggregation",
      "Enabled, Disabled",
    ],
    [
      "too many communities",
      `communities:\n${Array.from({ length: 501 }, (_, i) => `- name: c${i}\n  value: 1:${i}`).join("\n")}`,
      "spec.communities",
      "at most 500",
    ],
  ])("%s", (_what, spec, path, rule) => {
    refuse(config(spec), path, rule);
  });

  it.each([
    ["nodeToNodeMeshEnabled", "nodeToNodeMeshEnabled: true"],
    ["asNumber", "asNumber: 65000"],
    ["serviceClusterIPs", "serviceClusterIPs:\n- cidr: 10.96.0.0/12"],
    ["serviceExternalIPs", "serviceExternalIPs:\n- cidr: 10.96.0.0/12"],
    ["serviceLoadBalancerIPs", "serviceLoadBalancerIPs:\n- cidr: 10.96.0.0/12"],
    ["nodeMeshPassword", "nodeMeshPassword:\n  secretKeyRef:\n    name: s\n    key: k"],
    ["nodeMeshMaxRestartTime", "nodeMeshMaxRestartTime: 2m"],
  ])("%s can only be set on default", (field, spec) => {
    refuse(
      config(spec, "node.node-1"),
      `spec.${field}`,
      'only be set on the BGPConfiguration named "default"',
    );
  });
});

describe("BGPFilter", () => {
  it("the documentation's example applies unchanged", () => {
    accept(
      filter(`
exportV4:
  - action: Accept
    matchOperator: In
    cidr: 77.0.0.0/16
  - action: Reject
    interface: '*.calico'
importV4:
  - action: Reject
    matchOperator: NotIn
    cidr: 44.0.0.0/16
exportV6:
  - action: Reject
    source: RemotePeers
    matchOperator: In
    cidr: 9000::0/64
importV6:
  - action: Accept
    matchOperator: Equal
    cidr: 5000::0/64
  - action: Reject
`),
    );
  });

  it("operations, communities, AS path prefixes and priorities", () => {
    const r = accept(
      filter(`
importV4:
  - action: Accept
    cidr: 10.0.0.0/8
    matchOperator: In
    prefixLength: {min: 16, max: 24}
    peerType: eBGP
    communities: {values: ['65000:100']}
    asPathPrefix: [65000, '1.10']
    priority: 512
    operations:
      - addCommunity: {value: '65000:1:2'}
      - prependASPath: {prefix: [65000, 65000]}
      - setPriority: {value: 100}
`),
    );
    expect((r.spec as { importV4: { asPathPrefix: number[] }[] }).importV4[0]?.asPathPrefix).toEqual([
      65000, 65546,
    ]);
  });

  it.each([
    [
      "action missing",
      "exportV4:\n- cidr: 10.0.0.0/8\n  matchOperator: In",
      "spec.exportV4[0].action",
      "is required",
    ],
    ["action enum", "exportV4:\n- action: Drop", "spec.exportV4[0].action", "Accept, Reject"],
    [
      "cidr without operator",
      "exportV4:\n- action: Reject\n  cidr: 10.0.0.0/8",
      "spec.exportV4[0].matchOperator",
      "is required when cidr is set",
    ],
    [
      "operator without cidr",
      "exportV4:\n- action: Reject\n  matchOperator: In",
      "spec.exportV4[0].cidr",
      "is required when matchOperator",
    ],
    [
      "prefixLength without cidr",
      "importV4:\n- action: Reject\n  prefixLength: {min: 24}",
      "spec.importV4[0].prefixLength",
      "requires cidr",
    ],
    [
      "operations with Reject",
      "importV4:\n- action: Reject\n  operations:\n  - setPriority: {value: 5}",
      "spec.importV4[0].operations",
      "only be used with action Accept",
    ],
    [
      "IPv6 CIDR in a v4 rule",
      "importV4:\n- action: Reject\n  cidr: fd00::/64\n  matchOperator: In",
      "spec.importV4[0].cidr",
      "IPv4 CIDR, not IPv6",
    ],
    [
      "long CIDR in a v4 rule",
      "importV4:\n- action: Reject\n  cidr: 2001:db8:1234:5678::/64\n  matchOperator: In",
      "spec.importV4[0].cidr",
      "at most 18 characters",
    ],
    [
      "IPv4 CIDR in a v6 rule",
      "importV6:\n- action: Reject\n  cidr: 10.0.0.0/8\n  matchOperator: In",
      "spec.importV6[0].cidr",
      "IPv6 CIDR, not IPv4",
    ],
    [
      "unmasked CIDR",
      "importV4:\n- action: Reject\n  cidr: 10.0.0.1/8\n  matchOperator: In",
      "spec.importV4[0].cidr",
      "host bits zero",
    ],
    [
      "v4 prefix length",
      "importV4:\n- action: Reject\n  cidr: 10.0.0.0/8\n  matchOperator: In\n  prefixLength: {max: 33}",
      "spec.importV4[0].prefixLength.max",
      "0..32",
    ],
    [
      "two community values",
      "importV4:\n- action: Reject\n  communities: {values: ['1:1', '1:2']}",
      "spec.importV4[0].communities.values",
      "at most 1",
    ],
    [
      "community value range",
      "importV4:\n- action: Reject\n  communities: {values: ['65536:1']}",
      "spec.importV4[0].communities.values[0]",
      "16-bit",
    ],
    [
      "empty operation",
      "importV4:\n- action: Accept\n  operations:\n  - {}",
      "spec.importV4[0].operations[0]",
      "at least 1",
    ],
    [
      "two operations in one",
      "importV4:\n- action: Accept\n  operations:\n  - setPriority: {value: 5}\n    addCommunity: {value: '1:1'}",
      "spec.importV4[0].operations[0]",
      "at most 1",
    ],
    [
      "too many operations",
      `importV4:\n- action: Accept\n  operations:\n${"  - setPriority: {value: 5}\n".repeat(11)}`,
      "spec.importV4[0].operations",
      "at most 10",
    ],
    [
      "prepend too long",
      `importV4:\n- action: Accept\n  operations:\n  - prependASPath: {prefix: [${Array(11).fill(1).join(",")}]}`,
      "spec.importV4[0].operations[0].prependASPath.prefix",
      "at most 10",
    ],
    [
      "priority zero",
      "importV4:\n- action: Reject\n  priority: 0",
      "spec.importV4[0].priority",
      "1..2147483646",
    ],
    [
      "interface glob",
      "importV4:\n- action: Reject\n  interface: 'eth 0'",
      "spec.importV4[0].interface",
      "[a-zA-Z0-9_.*-]",
    ],
    ["peerType", "importV4:\n- action: Reject\n  peerType: ebgp", "spec.importV4[0].peerType", "eBGP, iBGP"],
    ["source", "exportV4:\n- action: Reject\n  source: Local", "spec.exportV4[0].source", "RemotePeers"],
  ])("%s", (_what, spec, path, rule) => {
    refuse(filter(spec), path, rule);
  });
});

describe("Node", () => {
  it("the documentation's example applies unchanged", () => {
    const r = accept(`
apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: node-hostname
spec:
  bgp:
    asNumber: 64512
    ipv4Address: 10.244.0.1/24
    ipv6Address: 2001:db8:85a3::8a2e:370:7334/120
    ipv4IPIPTunnelAddr: 192.168.0.1
`);
    expect((r.spec as { bgp: unknown }).bgp).toEqual({
      asNumber: 64512,
      ipv4Address: "10.244.0.1/24",
      ipv6Address: "2001:db8:85a3::8a2e:370:7334/120",
      ipv4IPIPTunnelAddr: "192.168.0.1",
    });
  });

  it("a route reflector with VXLAN tunnel addresses", () => {
    accept(
      doc(
        "Node",
        "rr-1",
        "bgp:\n  ipv4Address: 10.0.0.5/24\n  routeReflectorClusterID: 244.0.0.1\nipv4VXLANTunnelAddr: 10.244.1.0\nvxlanTunnelMACAddr: 66:0a:b3:1f:2c:9d\naddresses:\n- address: 10.0.0.5\n  type: InternalIP",
        "  labels:\n    route-reflector: 'true'\n",
      ),
    );
  });

  it.each([
    ["empty bgp", "bgp: {}", "spec.bgp", "must not be empty"],
    ["v6 in ipv4Address", "bgp:\n  ipv4Address: fd00::1/64", "spec.bgp.ipv4Address", "IPv4 CIDR"],
    ["v4 in ipv6Address", "bgp:\n  ipv6Address: 10.0.0.1/24", "spec.bgp.ipv6Address", "IPv6 CIDR"],
    [
      "cluster id not IPv4",
      "bgp:\n  ipv4Address: 10.0.0.1/24\n  routeReflectorClusterID: rr1",
      "spec.bgp.routeReflectorClusterID",
      "IPv4 address",
    ],
    ["AS number", "bgp:\n  asNumber: -1", "spec.bgp.asNumber", "0..4294967295"],
    [
      "IPIP tunnel address",
      "bgp:\n  ipv4IPIPTunnelAddr: 10.0.0.1/32",
      "spec.bgp.ipv4IPIPTunnelAddr",
      "IPv4 address",
    ],
    ["VXLAN MAC", "vxlanTunnelMACAddr: 66:0a:b3", "spec.vxlanTunnelMACAddr", "MAC address"],
    ["VXLAN v6 address", "ipv6VXLANTunnelAddr: 10.0.0.1", "spec.ipv6VXLANTunnelAddr", "IPv6 address"],
    [
      "address type",
      "addresses:\n- address: 10.0.0.1\n  type: Public",
      "spec.addresses[0].type",
      "CalicoNodeIP",
    ],
  ])("%s", (_what, spec, path, rule) => {
    refuse(doc("Node", "n1", spec), path, rule);
  });
});

describe("the resource envelope", () => {
  const ok = "cidr: 10.0.0.0/16";
  it.each([
    [
      "apiVersion missing",
      doc("IPPool", "p", ok).replace("apiVersion: projectcalico.org/v3\n", ""),
      "apiVersion",
      "is required",
    ],
    [
      "wrong apiVersion",
      doc("IPPool", "p", ok).replace("projectcalico.org/v3", "crd.projectcalico.org/v1"),
      "apiVersion",
      "must be projectcalico.org/v3",
    ],
    ["unknown kind", doc("IPPol", "p", ok), "kind", "unknown kind; tabby knows IPPool, BGPPeer"],
    ["name missing", doc("IPPool", "''", ok), "metadata.name", "is required"],
    ["upper-case name", doc("IPPool", "Pool1", ok), "metadata.name", "lower case"],
    [
      "namespace on a cluster kind",
      doc("IPPool", "p", ok, "  namespace: default\n"),
      "metadata.namespace",
      "not namespaced",
    ],
    [
      "bad label key",
      doc("IPPool", "p", ok, "  labels:\n    'a b': x\n"),
      "metadata.labels.a b",
      "label key",
    ],
    [
      "bad label value",
      doc("IPPool", "p", ok, "  labels:\n    a: 'x y'\n"),
      "metadata.labels.a",
      "label value",
    ],
    [
      "non-string label",
      doc("IPPool", "p", ok, "  labels:\n    a: true\n"),
      "metadata.labels.a",
      "must be a string",
    ],
    ["unknown metadata", doc("IPPool", "p", ok, "  nmae: x\n"), "metadata.nmae", "unknown field"],
    ["unknown top-level", `${doc("IPPool", "p", ok)}extra: 1\n`, "extra", "unknown field"],
    [
      "status on a kind without one",
      `${doc("BGPPeer", "p", "peerIP: 10.0.0.1")}status: {}\n`,
      "status",
      "unknown field",
    ],
    ["name too long", doc("IPPool", "a".repeat(254), ok), "metadata.name", "at most 253"],
    [
      "annotations too big",
      doc("IPPool", "p", ok, `  annotations:\n    big: "${"x".repeat(256 * 1024)}"\n`),
      "metadata.annotations",
      "at most 262144 bytes",
    ],
    [
      "selector too long",
      doc("BGPPeer", "p", `nodeSelector: "${"a == 'b' && ".repeat(100)}all()"`),
      "spec.nodeSelector",
      "at most 1024 characters",
    ],
    [
      "int32 overflow",
      doc("BGPPeer", "p", "peerIP: 10.0.0.1\nnumAllowedLocalASNumbers: 2147483648"),
      "spec.numAllowedLocalASNumbers",
      "-2147483648..2147483647",
    ],
    [
      "WireGuard key",
      `${doc("Node", "n", "bgp: {ipv4Address: 10.0.0.1/24}")}status: {wireguardPublicKey: abc}\n`,
      "status.wireguardPublicKey",
      "WireGuard public key",
    ],
  ])("%s", (_what, text, path, rule) => {
    refuse(text, path, rule);
  });

  it("keeps labels and annotations, and reads server metadata so exported objects apply back", () => {
    const r = accept(
      doc(
        "IPPool",
        "p",
        ok,
        "  labels:\n    tier: gold\n  annotations:\n    note: hi\n  resourceVersion: '12'\n  uid: 0b6f\n  creationTimestamp: '2026-01-01T00:00:00Z'\n  managedFields: []\n",
      ),
    );
    expect(r.metadata).toEqual({
      name: "p",
      uid: "0b6f",
      resourceVersion: "12",
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: { tier: "gold" },
      annotations: { note: "hi" },
    });
  });

  it("puts a namespaced kind without a namespace in default, as calicoctl does", () => {
    const r = accept(
      doc(
        "WorkloadEndpoint",
        "node1-k8s-my--nginx--b1337a-eth0",
        "node: node1\norchestrator: k8s\npod: my-nginx-b1337a\nendpoint: eth0\ncontainerID: '1337495556942031415926535'\ninterfaceName: cali0ef24ba\nmac: ca:fe:1d:52:bb:e9\nipNetworks: [192.168.0.0/32]\nprofiles: [profile1]\nports:\n- name: some-port\n  port: 1234\n  protocol: TCP\n- name: another-port\n  port: 5432\n  protocol: UDP",
      ),
    );
    expect(r.metadata.namespace).toBe("default");
    expect((r.spec as { ports: unknown[] }).ports[0]).toEqual({
      name: "some-port",
      protocol: "TCP",
      port: 1234,
      hostPort: 0,
      hostIP: "",
    });
  });
});
