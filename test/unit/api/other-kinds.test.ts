import { describe, expect, it } from "vitest";
import { cidrToName } from "../../../src/api/ipam-block.js";
import { workloadEndpointName } from "../../../src/api/workload-endpoint.js";
import { accept, doc, refuse } from "./helpers.js";

describe("IPAMConfiguration", () => {
  it("the documentation's example applies, with the CRD's defaults", () => {
    const r = accept(doc("IPAMConfiguration", "default", "strictAffinity: false\nmaxBlocksPerHost: 4"));
    expect(r.spec).toEqual({ strictAffinity: false, maxBlocksPerHost: 4, autoAllocateBlocks: true });
    expect(accept(doc("IPAMConfiguration", "default", "")).spec).toEqual({
      strictAffinity: false,
      autoAllocateBlocks: true,
    });
  });

  it.each([
    [
      "a name other than default",
      doc("IPAMConfiguration", "cfg", "strictAffinity: true"),
      "metadata.name",
      'must be "default"',
    ],
    [
      "maxBlocksPerHost range",
      doc("IPAMConfiguration", "default", "maxBlocksPerHost: 1000001"),
      "spec.maxBlocksPerHost",
      "0..1000000",
    ],
    [
      "cooldown range",
      doc("IPAMConfiguration", "default", "ipCooldownSeconds: 1201"),
      "spec.ipCooldownSeconds",
      "0..1200",
    ],
    [
      "KubeVirt enum",
      doc("IPAMConfiguration", "default", "kubeVirtVMAddressPersistence: On"),
      "spec.kubeVirtVMAddressPersistence",
      "Enabled, Disabled",
    ],
  ])("%s", (_w, text, path, rule) => {
    refuse(text, path, rule);
  });
});

describe("IPReservation", () => {
  it("the documentation's example applies", () => {
    accept(
      doc(
        "IPReservation",
        "my-ipreservation-1",
        "reservedCIDRs:\n- 192.168.2.3\n- 10.0.2.3/32\n- cafe:f00d::/123",
      ),
    );
  });
  it("refuses what is not a CIDR or an address", () => {
    refuse(doc("IPReservation", "r", "reservedCIDRs: [10.0.0.0/33]"), "spec.reservedCIDRs[0]", "CIDR");
  });
});

describe("CalicoNodeStatus", () => {
  it("the documentation's example applies", () => {
    accept(
      doc(
        "CalicoNodeStatus",
        "my-caliconodestatus-1",
        "classes: [Agent, BGP, Routes]\nnode: my-node\nupdatePeriodSeconds: 10",
      ),
    );
  });
  it.each([
    ["node missing", "classes: [BGP]\nupdatePeriodSeconds: 10", "spec.node", "is required"],
    ["classes missing", "node: n\nupdatePeriodSeconds: 10", "spec.classes", "is required"],
    ["period missing", "node: n\nclasses: [BGP]", "spec.updatePeriodSeconds", "is required"],
    [
      "period range",
      "node: n\nclasses: [BGP]\nupdatePeriodSeconds: 86401",
      "spec.updatePeriodSeconds",
      "0..86400",
    ],
    [
      "class enum",
      "node: n\nclasses: [Peers]\nupdatePeriodSeconds: 1",
      "spec.classes[0]",
      "Agent, BGP, Routes",
    ],
    ["class twice", "node: n\nclasses: [BGP, BGP]\nupdatePeriodSeconds: 1", "spec.classes[1]", "duplicate"],
  ])("%s", (_w, spec, path, rule) => {
    refuse(doc("CalicoNodeStatus", "s", spec), path, rule);
  });
});

const wep = (name: string, spec: string) => doc("WorkloadEndpoint", name, spec, "  namespace: default\n");
const WEP_OK =
  "node: node1\norchestrator: k8s\npod: my-nginx-b1337a\nendpoint: eth0\ninterfaceName: cali0ef24ba\nipNetworks: [192.168.0.5/32]";

describe("WorkloadEndpoint", () => {
  it("builds Calico's names with doubled dashes", () => {
    expect(
      workloadEndpointName({
        node: "n1",
        orchestrator: "k8s",
        pod: "web-abc",
        endpoint: "eth0",
        interfaceName: "x",
      }),
    ).toEqual({
      name: "n1-k8s-web--abc-eth0",
    });
    expect(
      workloadEndpointName({
        node: "n1",
        orchestrator: "cni",
        containerID: "abc",
        endpoint: "eth0",
        interfaceName: "x",
      }),
    ).toEqual({
      name: "n1-cni-abc-eth0",
    });
  });

  it("accepts an endpoint whose name matches its identifiers", () => {
    accept(wep("node1-k8s-my--nginx--b1337a-eth0", WEP_OK));
  });

  it.each([
    [
      "name mismatch",
      wep("node1-k8s-other-eth0", WEP_OK),
      "metadata.name",
      "expected node1-k8s-my--nginx--b1337a-eth0",
    ],
    [
      "pod missing",
      wep("x", "node: n\norchestrator: k8s\nendpoint: eth0\ninterfaceName: cali1"),
      "spec.pod",
      "is required",
    ],
    [
      "dash at the end",
      wep("x", "node: n-\norchestrator: k8s\npod: p\nendpoint: eth0\ninterfaceName: cali1"),
      "spec.node",
      "lower case",
    ],
    [
      "interface missing",
      wep("n-k8s-p-eth0", "node: n\norchestrator: k8s\npod: p\nendpoint: eth0"),
      "spec.interfaceName",
      "is required",
    ],
    [
      "network of many addresses",
      wep("node1-k8s-my--nginx--b1337a-eth0", WEP_OK.replace("/32", "/24").replace(".5/", ".0/")),
      "spec.ipNetworks[0]",
      "single address",
    ],
    [
      "NAT outside the networks",
      wep(
        "node1-k8s-my--nginx--b1337a-eth0",
        `${WEP_OK}\nipNATs:\n- {internalIP: 10.9.9.9, externalIP: 203.0.113.1}`,
      ),
      "spec.ipNATs[0].internalIP",
      "one of the endpoint's ipNetworks",
    ],
    [
      "IPv6 gateway family",
      wep("node1-k8s-my--nginx--b1337a-eth0", `${WEP_OK}\nipv6Gateway: 169.254.1.1`),
      "spec.ipv6Gateway",
      "IPv6 address",
    ],
    [
      "port protocol",
      wep("node1-k8s-my--nginx--b1337a-eth0", `${WEP_OK}\nports:\n- {name: dns, port: 53, protocol: ICMP}`),
      "spec.ports[0].protocol",
      "TCP, UDP or SCTP",
    ],
    [
      "port zero",
      wep("node1-k8s-my--nginx--b1337a-eth0", `${WEP_OK}\nports:\n- {name: dns, port: 0, protocol: UDP}`),
      "spec.ports[0].port",
      "1..65535",
    ],
    [
      "unnamed port",
      wep("node1-k8s-my--nginx--b1337a-eth0", `${WEP_OK}\nports:\n- {port: 53, protocol: UDP}`),
      "spec.ports[0].name",
      "when hostPort is not set",
    ],
    [
      "port name",
      wep(
        "node1-k8s-my--nginx--b1337a-eth0",
        `${WEP_OK}\nports:\n- {name: DNS_PORT, port: 53, protocol: UDP}`,
      ),
      "spec.ports[0].name",
      "lower-case",
    ],
    ["MAC", wep("node1-k8s-my--nginx--b1337a-eth0", `${WEP_OK}\nmac: ca:fe`), "spec.mac", "MAC address"],
  ])("%s", (_w, text, path, rule) => {
    refuse(text, path, rule);
  });
});

describe("IPAM-owned kinds (decoded and checked for IPAM, written only by it)", () => {
  const block = (name: string, spec: string) => doc("IPAMBlock", name, spec);
  const free = Array.from({ length: 4 }, (_, i) => i);

  it("an IPAMBlock with its invariants", () => {
    const r = accept(
      block(
        "10-244-1-0-30",
        `cidr: 10.244.1.0/30\naffinity: host:node-1\nallocations: [0, null, null, null]\nunallocated: [1, 2, 3]\nattributes:\n- handle_id: k8s-pod-network.abc\n  secondary: {namespace: default, node: node-1, pod: web}\nsequenceNumber: 7\nsequenceNumberForAllocation: {"0": 6}\ndeleted: false\nstrictAffinity: false`,
      ),
    );
    expect(r.spec).toMatchObject({ allocations: [0, null, null, null], sequenceNumber: 7 });
    expect(cidrToName("fd00::/122")).toBe("fd00---122");
  });

  it.each([
    [
      "wrong name",
      "10-0-0-0-30",
      `cidr: 10.244.1.0/30\nallocations: [null, null, null, null]\nunallocated: [${free}]\nattributes: []`,
      "metadata.name",
      "must be 10-244-1-0-30",
    ],
    [
      "slot count",
      "10-244-1-0-30",
      "cidr: 10.244.1.0/30\nallocations: [null]\nunallocated: [0]\nattributes: []",
      "spec.allocations",
      "one entry per address",
    ],
    [
      "bad attribute index",
      "10-244-1-0-30",
      "cidr: 10.244.1.0/30\nallocations: [3, null, null, null]\nunallocated: [1, 2, 3]\nattributes: []",
      "spec.allocations[0]",
      "index into attributes",
    ],
    [
      "free and allocated",
      "10-244-1-0-30",
      "cidr: 10.244.1.0/30\nallocations: [0, null, null, null]\nunallocated: [0, 1, 2, 3]\nattributes: [{}]",
      "spec.unallocated[0]",
      "free but also allocated",
    ],
    [
      "ordinal out of range",
      "10-244-1-0-30",
      "cidr: 10.244.1.0/30\nallocations: [null, null, null, null]\nunallocated: [4]\nattributes: []",
      "spec.unallocated[0]",
      "0..3",
    ],
    [
      "affinity form",
      "10-244-1-0-30",
      `cidr: 10.244.1.0/30\naffinity: node-1\nallocations: [null, null, null, null]\nunallocated: [${free}]\nattributes: []`,
      "spec.affinity",
      "host:<node>",
    ],
  ])("IPAMBlock: %s", (_w, name, spec, path, rule) => {
    refuse(block(name, spec), path, rule);
  });

  it("BlockAffinity and IPAMHandle", () => {
    accept(
      doc(
        "BlockAffinity",
        "node-1-10-244-1-0-26",
        "state: confirmed\nnode: node-1\ncidr: 10.244.1.0/26\ndeleted: false",
      ),
    );
    refuse(
      doc("BlockAffinity", "a", "state: confirmed\nnode: n\ncidr: 10.244.1.0/26\ndeleted: true"),
      "spec.deleted",
      "cannot be set to true",
    );
    refuse(
      doc("BlockAffinity", "a", "state: claimed\nnode: n\ncidr: 10.244.1.0/26"),
      "spec.state",
      "pendingDeletion",
    );
    accept(
      doc("IPAMHandle", "k8s-pod-network.abc", "handleID: k8s-pod-network.abc\nblock: {10.244.1.0/26: 1}"),
    );
    refuse(doc("IPAMHandle", "h", "handleID: h\nblock: {rack: 1}"), "spec.block.rack", "block CIDRs");
    refuse(doc("IPAMHandle", "h", "block: {}"), "spec.handleID", "is required");
  });
});
