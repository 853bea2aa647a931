/**
 * BGPPeer (api/pkg/apis/projectcalico/v3/bgppeer.go): a BGP session to set up, from which nodes
 * (`node`, `nodeSelector`, or all) to which peer (`peerIP` or the nodes matching `peerSelector`). Rules are
 * the CRD's CEL rules (exclusive pairs, asNumber with peerSelector/localWorkloadSelector, reachableBy),
 * validator.go's (IP:port, reachableBy family) and clientv3's (every named BGPFilter must exist).
 * No defaults: an absent field means BIRD's default, as in Calico. Pure.
 */

import { parseIpPort } from "./formats.js";
import type { FieldIssue, Issues } from "./issues.js";
import type { KindDef, WriteContext } from "./kind.js";
import type { Resource } from "./meta.js";
import { parseIp } from "./net.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";
import { type BGPPassword, bgpPasswordSchema } from "./secret-ref.js";

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  asNumber?: number;
  localASNumber?: number;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  nextHopMode?: "Auto" | "Self" | "Keep";
  password?: BGPPassword;
  sourceAddress?: "UseNodeIP" | "None";
  maxRestartTime?: string;
  keepaliveTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  reachableBy?: string;
  filters?: string[];
  localWorkloadSelector?: string;
  reversePeering?: "Auto" | "Manual";
}

export type BGPPeer = Resource<BGPPeerSpec>;

export const bgpPeerSpecSchema = {
  type: "object",
  description: "BGPPeerSpec contains the specification for a BGPPeer resource.",
  properties: {
    node: {
      type: "string",
      maxLength: 253,
      check: "name",
      description: "The node name identifying the Calico node instance that is targeted by this peer.",
    },
    nodeSelector: {
      type: "string",
      maxLength: 1024,
      check: "selector",
      description: "Selector for the nodes that should have this peering.",
    },
    peerIP: {
      type: "string",
      maxLength: 64,
      check: "ipPort",
      description: "The IP address of the peer followed by an optional port number to peer with.",
    },
    asNumber: { type: "asNumber", description: "The AS Number of the peer." },
    localASNumber: {
      type: "asNumber",
      presence: "optional",
      description: "The optional Local AS Number to use when peering with this remote peer.",
    },
    peerSelector: {
      type: "string",
      maxLength: 1024,
      check: "selector",
      description: "Selector for the remote nodes to peer with.",
    },
    keepOriginalNextHop: {
      type: "boolean",
      description: "Deprecated: keep the original next hop (next hop keep;). Use nextHopMode instead.",
    },
    nextHopMode: {
      type: "string",
      enum: ["Auto", "Self", "Keep"],
      presence: "optional",
      description: "How the next hop is set for routes sent to this peer: Auto (BGP default), Self or Keep.",
    },
    password: bgpPasswordSchema,
    sourceAddress: {
      type: "string",
      enum: ["UseNodeIP", "None"],
      description:
        "Whether to use the node IP as the source address of the peerings (UseNodeIP, the default) or not (None).",
    },
    maxRestartTime: {
      type: "duration",
      presence: "optional",
      description: "Time to allow for software restart (graceful restart time). BIRD's default is 120s.",
    },
    keepaliveTime: {
      type: "duration",
      presence: "optional",
      description:
        "Delay between consecutive Keepalive messages. BIRD's default is a third of the hold time.",
    },
    numAllowedLocalASNumbers: {
      type: "integer",
      format: "int32",
      presence: "optional",
      description: "Maximum number of local AS numbers allowed in the AS path of received routes.",
    },
    ttlSecurity: {
      type: "integer",
      minimum: 0,
      maximum: 255,
      presence: "optional",
      description: "Number of hops for the generalized TTL security mechanism (GTSM).",
    },
    reachableBy: {
      type: "string",
      maxLength: 64,
      check: "ip",
      description: "Gateway through which the peer is reachable; a /32 static route to the peer is added.",
    },
    filters: {
      type: "array",
      items: { type: "string", check: "name" },
      listType: "atomic",
      description: "The ordered set of BGPFilters applied on this BGP peer.",
    },
    localWorkloadSelector: {
      type: "string",
      maxLength: 1024,
      check: "selector",
      description: "Selector for the local workloads that the node should peer with.",
    },
    reversePeering: {
      type: "string",
      enum: ["Auto", "Manual"],
      presence: "optional",
      description:
        "Whether the reverse peering for peerings between Calico nodes is generated automatically.",
    },
  },
  // Written for tabby; the same rules as Calico's CRD.
  cel: [
    {
      rule: "!has(self.node) || self.node == '' || !has(self.nodeSelector) || self.nodeSelector == ''",
      message: "node and nodeSelector cannot both be set",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.peerIP) || self.peerIP == '' || !has(self.peerSelector) || self.peerSelector == ''",
      message: "peerIP and peerSelector cannot both be set",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.peerSelector) || self.peerSelector == '' || !has(self.asNumber) || self.asNumber == 0",
      message: "asNumber must be empty when peerSelector is set",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.reachableBy) || self.reachableBy == '' || (has(self.peerIP) && self.peerIP != '')",
      message: "reachableBy must be empty when peerIP is empty",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.keepOriginalNextHop) || !self.keepOriginalNextHop || !has(self.nextHopMode)",
      message:
        "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode instead",
      reason: "FieldValueForbidden",
    },
  ],
} as const satisfies ObjectSchemaOf<BGPPeerSpec>;

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as BGPPeerSpec;
  const at = (f: string) => ["spec", f];
  if (s.node && s.nodeSelector) {
    issues.add(
      at("nodeSelector"),
      `node and nodeSelector cannot both be set (node is ${JSON.stringify(s.node)})`,
      s.nodeSelector,
    );
  }
  if (s.peerIP && s.peerSelector) {
    issues.add(
      at("peerSelector"),
      `peerIP and peerSelector cannot both be set (peerIP is ${s.peerIP})`,
      s.peerSelector,
    );
  }
  if (s.peerSelector && s.asNumber) {
    issues.add(
      at("asNumber"),
      "must be empty when peerSelector is set (the remote nodes' AS numbers are used)",
      s.asNumber,
    );
  }
  if (s.localWorkloadSelector) {
    if (s.peerIP) issues.add(at("peerIP"), "must be empty when localWorkloadSelector is set", s.peerIP);
    if (s.peerSelector)
      issues.add(at("peerSelector"), "must be empty when localWorkloadSelector is set", s.peerSelector);
    if (!s.asNumber) issues.add(at("asNumber"), "is required when localWorkloadSelector is set");
  }
  if (s.reachableBy) {
    if (!s.peerIP) issues.add(at("reachableBy"), "must be empty when peerIP is empty", s.reachableBy);
    else {
      const gw = parseIp(s.reachableBy);
      const peer = parseIpPort(s.peerIP);
      const peerIp = peer === undefined ? undefined : parseIp(peer.ip);
      if (gw !== undefined && peerIp !== undefined && gw.family !== peerIp.family) {
        issues.add(
          at("reachableBy"),
          `must be the same address family as peerIP (${s.peerIP})`,
          s.reachableBy,
        );
      }
    }
  }
  if (s.keepOriginalNextHop && s.nextHopMode !== undefined) {
    issues.add(
      at("nextHopMode"),
      "keepOriginalNextHop and nextHopMode cannot both be set; keepOriginalNextHop is deprecated, use nextHopMode",
      s.nextHopMode,
    );
  }
}

function validateWrite(res: Resource, ctx: WriteContext): FieldIssue[] {
  const filters = (res.spec as BGPPeerSpec).filters ?? [];
  if (filters.length === 0) return [];
  const known = new Set(ctx.list("BGPFilter").map((f) => f.metadata.name));
  return filters.flatMap((f, i): FieldIssue[] =>
    known.has(f) ? [] : [{ path: ["spec", "filters", i], value: f, rule: "BGPFilter not found" }],
  );
}

export const bgpPeerKind: KindDef = {
  kind: "BGPPeer",
  listKind: "BGPPeerList",
  plural: "bgppeers",
  singular: "bgppeer",
  aliases: ["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"],
  namespaced: false,
  printerColumns: [
    {
      name: "Node Selector",
      type: "string",
      jsonPath: ".spec.nodeSelector",
      description: "Selector for the nodes that should have this peering",
    },
    {
      name: "Node",
      type: "string",
      jsonPath: ".spec.node",
      description: "The node name identifying the Calico node instance that is targeted by this peer",
    },
    {
      name: "Local ASN",
      type: "string",
      jsonPath: ".spec.localASNumber",
      description: "The optional Local AS Number to use when peering with this remote peer",
    },
    {
      name: "Peer Selector",
      type: "string",
      jsonPath: ".spec.peerSelector",
      description: "Selector for the remote nodes to peer with",
    },
    {
      name: "Peer IP",
      type: "string",
      jsonPath: ".spec.peerIP",
      description: "The IP address of the peer followed by an optional port number to peer with",
    },
    {
      name: "Peer ASN",
      type: "string",
      jsonPath: ".spec.asNumber",
      description: "The AS Number of the peer",
    },
  ],
  spec: bgpPeerSpecSchema as ObjectSchema,
  validate,
  validateWrite,
  table: {
    columns: ["NAME", "PEERIP", "NODE", "ASN"],
    wide: ["NAME", "PEERIP", "NODE", "ASN"],
    cell(res, column) {
      const s = res.spec as BGPPeerSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "PEERIP":
          return s.peerIP ?? "";
        case "NODE":
          return s.node || s.nodeSelector || "(global)";
        case "ASN":
          return String(s.asNumber ?? 0);
        default:
          return "";
      }
    },
  },
};
