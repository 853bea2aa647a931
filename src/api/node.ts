/**
 * Calico's Node (libcalico-go/lib/apis/internalapi/node.go): what a node agent publishes about itself:
 * BGP addresses (in CIDR form; the prefix is the node's subnet, which CrossSubnet uses), AS number,
 * route-reflector cluster id, tunnel addresses and the VXLAN tunnel MAC. In Kubernetes mode Calico keeps
 * it in annotations of the Kubernetes Node; in etcd mode as a resource. Rules are validator.go's struct
 * tags and validateNodeSpec (`spec.bgp`, if present, must not be empty). Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface NodeBGPSpec {
  asNumber?: number;
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddrV6?: string;
  orchRefs?: { nodeName?: string; orchestrator: string }[];
  wireguard?: { interfaceIPv4Address?: string; interfaceIPv6Address?: string };
  addresses?: { address: string; type?: "CalicoNodeIP" | "InternalIP" | "ExternalIP" }[];
  interfaces?: { name?: string; addresses?: string[] }[];
}

export interface NodeStatus {
  wireguardPublicKey?: string;
  wireguardPublicKeyV6?: string;
  podCIDRs?: string[];
}

export type CalicoNode = Resource<NodeSpec, NodeStatus>;

const nodeBgpSchema = {
  type: "object",
  presence: "optional",
  description: "BGP configuration for this node.",
  properties: {
    asNumber: {
      type: "asNumber",
      presence: "optional",
      description: "The AS Number of the node; empty means the global default.",
    },
    ipv4Address: {
      type: "string",
      check: "cidrv4",
      description: "IPv4 address and subnet of the node (CIDR form).",
    },
    ipv6Address: {
      type: "string",
      check: "cidrv6",
      description: "IPv6 address and subnet of the node (CIDR form).",
    },
    ipv4IPIPTunnelAddr: {
      type: "string",
      check: "ipv4",
      description: "IPv4 address of the IP-in-IP tunnel.",
    },
    routeReflectorClusterID: {
      type: "string",
      check: "ipv4",
      description: "Route reflector cluster ID (IPv4 format); set to make the node a route reflector.",
    },
  },
} as const satisfies ObjectSchemaOf<NodeBGPSpec>;

const wgKey = {
  type: "string",
  pattern: {
    crd: "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$",
    js: /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/,
    rule: "must be a WireGuard public key (44 characters of base64)",
  },
} as const;

export const nodeSpecSchema = {
  type: "object",
  description: "NodeSpec contains the specification for a Calico Node resource.",
  properties: {
    bgp: nodeBgpSchema,
    ipv4VXLANTunnelAddr: { type: "string", check: "ipv4", description: "IPv4 address of the VXLAN tunnel." },
    vxlanTunnelMACAddr: {
      type: "string",
      check: "mac",
      description: "MAC address of the IPv4 VXLAN tunnel.",
    },
    ipv6VXLANTunnelAddr: { type: "string", check: "ipv6", description: "IPv6 address of the VXLAN tunnel." },
    vxlanTunnelMACAddrV6: {
      type: "string",
      check: "mac",
      description: "MAC address of the IPv6 VXLAN tunnel.",
    },
    orchRefs: {
      type: "array",
      description: "Correlates this node to a node in another orchestrator.",
      items: {
        type: "object",
        properties: {
          nodeName: { type: "string" },
          orchestrator: { type: "string", presence: "always" },
        },
      },
    },
    wireguard: {
      type: "object",
      presence: "optional",
      properties: {
        interfaceIPv4Address: { type: "string", check: "ipv4" },
        interfaceIPv6Address: { type: "string", check: "ipv6" },
      },
    },
    addresses: {
      type: "array",
      description: "Addresses of the node.",
      items: {
        type: "object",
        required: ["address"],
        properties: {
          address: { type: "string", check: "net", presence: "always" },
          type: { type: "string", enum: ["CalicoNodeIP", "InternalIP", "ExternalIP"] },
        },
      },
    },
    interfaces: {
      type: "array",
      description: "Interfaces of the node and their addresses.",
      items: {
        type: "object",
        properties: {
          name: { type: "string", check: "name" },
          addresses: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
} as const satisfies ObjectSchemaOf<NodeSpec>;

const nodeStatusSchema = {
  type: "object",
  properties: {
    wireguardPublicKey: wgKey,
    wireguardPublicKeyV6: wgKey,
    podCIDRs: { type: "array", items: { type: "string", check: "cidr" } },
  },
} as const satisfies ObjectSchemaOf<NodeStatus>;

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as NodeSpec;
  if (s.bgp !== undefined && Object.keys(s.bgp).length === 0) {
    issues.add(["spec", "bgp"], "must not be empty when present (set an address or remove bgp)", s.bgp);
  }
}

export const nodeKind: KindDef = {
  kind: "Node",
  listKind: "NodeList",
  plural: "nodes",
  singular: "node",
  aliases: ["node", "nodes", "no", "nos"],
  namespaced: false,
  noCrd: true,
  spec: nodeSpecSchema as ObjectSchema,
  status: nodeStatusSchema as ObjectSchema,
  validate,
  table: {
    columns: ["NAME"],
    wide: ["NAME", "ASN", "IPV4", "IPV6"],
    cell(res, column, ctx) {
      const bgp = (res.spec as NodeSpec).bgp;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "ASN":
          if (bgp === undefined) return "";
          return bgp.asNumber !== undefined ? String(bgp.asNumber) : `(${ctx.defaultAsNumber})`;
        case "IPV4":
          return bgp?.ipv4Address ?? "";
        case "IPV6":
          return bgp?.ipv6Address ?? "";
        default:
          return "";
      }
    },
  },
};
