/**
 * WorkloadEndpoint (libcalico-go/lib/apis/internalapi/workloadendpoint.go): a pod's interface as the CNI
 * plugin records it: its addresses (/32 and /128 only), host-side interface, MAC and ports. Namespaced.
 * In Kubernetes mode Calico derives it from the Pod; in etcd and embedded mode it is stored. Rules:
 * validator.go's struct tags and validateWorkloadEndpointSpec (single-address networks, gateway families,
 * NATs inside the networks, ports), and clientv3's name rule (names/workloadendpoint.go: the name is built
 * from node, orchestrator, pod or workload, and endpoint, each with '-' doubled). Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import { cidrContainsIp, parseCidrOrIp, parseIp } from "./net.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface WorkloadEndpointPort {
  name: string;
  protocol: string;
  port: number;
  hostPort: number;
  hostIP: string;
}

export interface IPNAT {
  internalIP: string;
  externalIP: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: IPNAT[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
  qosControls?: Record<string, number | string>;
}

export type WorkloadEndpoint = Resource<WorkloadEndpointSpec>;

const PROTOCOLS = ["TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite"];
const PORT_PROTOCOLS = new Set(["TCP", "UDP", "SCTP", "6", "17", "132"]);

const portSchema = {
  type: "object",
  properties: {
    name: { type: "string", check: "portName", presence: "always" },
    protocol: {
      type: "string",
      presence: "always",
      pattern: {
        crd: "^(TCP|UDP|ICMP|ICMPv6|SCTP|UDPLite|[1-9][0-9]{0,2})$",
        js: /^(TCP|UDP|ICMP|ICMPv6|SCTP|UDPLite|[1-9][0-9]{0,2})$/,
        rule: `must be one of ${PROTOCOLS.join(", ")} or a protocol number 1..255`,
      },
    },
    port: { type: "integer", minimum: 0, maximum: 65535, presence: "always" },
    hostPort: { type: "integer", minimum: 0, maximum: 65535, presence: "always" },
    hostIP: { type: "string", check: "net", presence: "always" },
  },
} as const satisfies ObjectSchemaOf<WorkloadEndpointPort>;

const int64 = { type: "integer", format: "int64" } as const;

export const workloadEndpointSpecSchema = {
  type: "object",
  description: "WorkloadEndpointSpec contains the specification for a WorkloadEndpoint resource.",
  required: ["interfaceName"],
  properties: {
    orchestrator: { type: "string", check: "name", description: "The orchestrator, k8s for Kubernetes." },
    workload: { type: "string", check: "name" },
    node: { type: "string", check: "name", description: "The node hosting the workload." },
    containerID: { type: "string", check: "containerID" },
    pod: { type: "string", check: "name" },
    endpoint: { type: "string", check: "name", description: "The interface inside the pod, e.g. eth0." },
    serviceAccountName: { type: "string", check: "name" },
    ipNetworks: {
      type: "array",
      items: { type: "string", check: "net" },
      description: "The pod's addresses as /32 and /128 networks.",
    },
    ipNATs: {
      type: "array",
      items: {
        type: "object",
        properties: {
          internalIP: { type: "string", check: "ip", presence: "always" },
          externalIP: { type: "string", check: "ip", presence: "always" },
        },
      } satisfies ObjectSchemaOf<IPNAT>,
    },
    ipv4Gateway: { type: "string", check: "ipv4" },
    ipv6Gateway: { type: "string", check: "ipv6" },
    profiles: { type: "array", items: { type: "string", check: "name" } },
    interfaceName: {
      type: "string",
      check: "interface",
      presence: "always",
      description: "The host-side interface, e.g. cali1a2b3c4d5e6.",
    },
    mac: { type: "string", check: "mac", description: "The container-side MAC address." },
    ports: { type: "array", items: portSchema },
    allowSpoofedSourcePrefixes: { type: "array", items: { type: "string", check: "cidr" } },
    qosControls: {
      type: "object",
      presence: "optional",
      properties: {
        ingressBandwidth: int64,
        ingressBurst: int64,
        ingressPeakrate: int64,
        ingressMinburst: int64,
        egressBandwidth: int64,
        egressBurst: int64,
        egressPeakrate: int64,
        egressMinburst: int64,
        ingressPacketRate: int64,
        ingressPacketBurst: int64,
        egressPacketRate: int64,
        egressPacketBurst: int64,
        ingressMaxConnections: int64,
        egressMaxConnections: int64,
        dscp: { type: "string", presence: "optional" },
      },
    },
  },
} as const satisfies ObjectSchemaOf<WorkloadEndpointSpec>;

/** The name Calico requires for a workload endpoint, or the identifier that is missing or malformed. */
export function workloadEndpointName(
  s: WorkloadEndpointSpec,
): { name: string } | { field: string; rule: string } {
  const orch = s.orchestrator ?? "";
  const segments: [string, string][] = [
    ["node", s.node ?? ""],
    ["orchestrator", orch],
  ];
  if (orch === "k8s") segments.push(["pod", s.pod ?? ""]);
  else if (orch === "cni") segments.push(["containerID", s.containerID ?? ""]);
  else if (orch === "libnetwork") segments.push(["workload", "libnetwork"]);
  else segments.push(["workload", s.workload ?? ""]);
  segments.push(["endpoint", s.endpoint ?? ""]);
  const parts: string[] = [];
  for (const [field, value] of segments) {
    if (value === "") return { field, rule: "is required to build the endpoint's name" };
    if (value.startsWith("-") || value.endsWith("-"))
      return { field, rule: "must not start or end with '-'" };
    parts.push(value.replaceAll("-", "--"));
  }
  return { name: parts.join("-") };
}

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as WorkloadEndpointSpec;
  const at = (...p: (string | number)[]) => ["spec", ...p];
  const networks = (s.ipNetworks ?? []).map((n, i) => {
    const c = parseCidrOrIp(n);
    if (c !== undefined && c.prefixLen !== (c.family === 4 ? 32 : 128)) {
      issues.add(at("ipNetworks", i), "must be a single address (/32 or /128)", n);
    }
    return c;
  });
  (s.ipNATs ?? []).forEach((nat, i) => {
    const ip = parseIp(nat.internalIP);
    if (ip === undefined) return;
    if (!networks.some((c) => c !== undefined && cidrContainsIp(c, ip))) {
      issues.add(at("ipNATs", i, "internalIP"), "must be one of the endpoint's ipNetworks", nat.internalIP);
    }
  });
  (s.ports ?? []).forEach((p, i) => {
    if (!PORT_PROTOCOLS.has(p.protocol)) {
      issues.add(at("ports", i, "protocol"), "must be a protocol with ports (TCP, UDP or SCTP)", p.protocol);
    }
    if (!(p.port > 0)) issues.add(at("ports", i, "port"), "must be 1..65535", p.port);
    if (p.name === "" && p.hostPort === 0)
      issues.add(at("ports", i, "name"), "is required when hostPort is not set");
  });
  const expected = workloadEndpointName(s);
  if ("field" in expected) issues.add(at(expected.field), expected.rule);
  else if (res.metadata.name !== "" && res.metadata.name !== expected.name) {
    issues.add(
      ["metadata", "name"],
      `must match the identifiers in spec: expected ${expected.name}`,
      res.metadata.name,
    );
  }
}

export const workloadEndpointKind: KindDef = {
  kind: "WorkloadEndpoint",
  listKind: "WorkloadEndpointList",
  plural: "workloadendpoints",
  singular: "workloadendpoint",
  aliases: ["workloadendpoint", "workloadendpoints", "wep", "weps"],
  namespaced: true,
  noCrd: true,
  spec: workloadEndpointSpecSchema as ObjectSchema,
  validate,
  table: {
    columns: ["WORKLOAD", "NODE", "NETWORKS", "INTERFACE"],
    wide: ["NAME", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE", "PROFILES", "NATS"],
    cell(res, column) {
      const s = res.spec as WorkloadEndpointSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "NAMESPACE":
          return res.metadata.namespace ?? "";
        case "WORKLOAD":
          return s.workload || s.pod || "";
        case "NODE":
          return s.node ?? "";
        case "NETWORKS":
          return (s.ipNetworks ?? []).join(",");
        case "INTERFACE":
          return s.interfaceName;
        case "PROFILES":
          return (s.profiles ?? []).join(",");
        case "NATS":
          return (s.ipNATs ?? []).map((n) => `{${n.internalIP} ${n.externalIP}}`).join(",");
        default:
          return "";
      }
    },
  },
};
