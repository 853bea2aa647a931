/**
 * CalicoNodeStatus (api/pkg/apis/projectcalico/v3/nodestatus.go): a request, for one node, to publish its
 * agent, BGP and route status every `updatePeriodSeconds` into `status`. Rules are validator.go's tags:
 * node, classes (unique) and updatePeriodSeconds (0..86400) are required. Pure.
 */
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface CalicoNodeStatusSpec {
  node: string;
  classes: ("Agent" | "BGP" | "Routes")[];
  updatePeriodSeconds: number;
}

export interface BGPDaemonStatus {
  state?: "Ready" | "NotReady";
  version?: string;
  routerID?: string;
  lastBootTime?: string;
  lastReconfigurationTime?: string;
}

export interface CalicoNodePeer {
  peerIP?: string;
  type?: "NodeMesh" | "NodePeer" | "GlobalPeer";
  state?: "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established" | "Close";
  since?: string;
}

export interface CalicoNodeRoute {
  type?: "FIB" | "RIB";
  destination?: string;
  gateway?: string;
  interface?: string;
  learnedFrom?: { sourceType?: "Kernel" | "Static" | "Direct" | "NodeMesh" | "BGPPeer"; peerIP?: string };
}

export interface CalicoNodeStatusStatus {
  lastUpdated?: string;
  agent?: { birdV4?: BGPDaemonStatus; birdV6?: BGPDaemonStatus };
  bgp?: {
    numberEstablishedV4: number;
    numberNotEstablishedV4: number;
    numberEstablishedV6: number;
    numberNotEstablishedV6: number;
    peersV4?: CalicoNodePeer[];
    peersV6?: CalicoNodePeer[];
  };
  routes?: { routesV4?: CalicoNodeRoute[]; routesV6?: CalicoNodeRoute[] };
}

export type CalicoNodeStatus = Resource<CalicoNodeStatusSpec, CalicoNodeStatusStatus>;

export const calicoNodeStatusSpecSchema = {
  type: "object",
  description: "CalicoNodeStatusSpec contains the specification for a CalicoNodeStatus resource.",
  required: ["node", "classes"],
  properties: {
    node: {
      type: "string",
      check: "name",
      description: "The node name identifies the Calico node instance.",
    },
    classes: {
      type: "array",
      items: { type: "string", enum: ["Agent", "BGP", "Routes"] },
      listType: "set",
      minItems: 1,
      description: "Classes declares the types of information to monitor for this calico/node.",
    },
    updatePeriodSeconds: {
      type: "integer",
      format: "int32",
      minimum: 0,
      maximum: 86400,
      presence: "optional",
      description: "Period in seconds at which CalicoNodeStatus is updated.",
    },
  },
} as const satisfies ObjectSchemaOf<CalicoNodeStatusSpec>;

const daemon = {
  type: "object",
  properties: {
    state: { type: "string", enum: ["Ready", "NotReady"] },
    version: { type: "string" },
    routerID: { type: "string" },
    lastBootTime: { type: "string" },
    lastReconfigurationTime: { type: "string" },
  },
} as const satisfies ObjectSchemaOf<BGPDaemonStatus>;

const peer = {
  type: "object",
  properties: {
    peerIP: { type: "string", check: "ip" },
    type: { type: "string", enum: ["NodeMesh", "NodePeer", "GlobalPeer"] },
    state: {
      type: "string",
      enum: ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Close"],
    },
    since: { type: "string" },
  },
} as const satisfies ObjectSchemaOf<CalicoNodePeer>;

const route = {
  type: "object",
  properties: {
    type: { type: "string", enum: ["FIB", "RIB"] },
    destination: { type: "string" },
    gateway: { type: "string" },
    interface: { type: "string" },
    learnedFrom: {
      type: "object",
      properties: {
        sourceType: { type: "string", enum: ["Kernel", "Static", "Direct", "NodeMesh", "BGPPeer"] },
        peerIP: { type: "string", check: "ip" },
      },
    },
  },
} as const satisfies ObjectSchemaOf<CalicoNodeRoute>;

const count = { type: "integer", minimum: 0, presence: "always" } as const;

const statusSchema = {
  type: "object",
  properties: {
    lastUpdated: { type: "string", format: "date-time", check: "dateTime", nullable: true },
    agent: { type: "object", properties: { birdV4: daemon, birdV6: daemon } },
    bgp: {
      type: "object",
      required: [
        "numberEstablishedV4",
        "numberEstablishedV6",
        "numberNotEstablishedV4",
        "numberNotEstablishedV6",
      ],
      properties: {
        numberEstablishedV4: count,
        numberNotEstablishedV4: count,
        numberEstablishedV6: count,
        numberNotEstablishedV6: count,
        peersV4: { type: "array", items: peer, listType: "atomic" },
        peersV6: { type: "array", items: peer, listType: "atomic" },
      },
    },
    routes: {
      type: "object",
      properties: {
        routesV4: { type: "array", items: route, listType: "atomic" },
        routesV6: { type: "array", items: route, listType: "atomic" },
      },
    },
  },
} as const satisfies ObjectSchemaOf<CalicoNodeStatusStatus>;

export const calicoNodeStatusKind: KindDef = {
  kind: "CalicoNodeStatus",
  listKind: "CalicoNodeStatusList",
  plural: "caliconodestatuses",
  singular: "caliconodestatus",
  aliases: ["caliconodestatus", "caliconodestatuses", "nodestatus", "nodestatuses"],
  namespaced: false,
  statusSubresource: true,
  printerColumns: [
    { name: "Node", type: "string", jsonPath: ".spec.node", description: "The name of the node" },
    {
      name: "Classes",
      type: "string",
      jsonPath: ".spec.classes",
      description: "The types of information to monitor for this calico/node",
    },
  ],
  spec: calicoNodeStatusSpecSchema as ObjectSchema,
  status: statusSchema as ObjectSchema,
  validate(res, issues) {
    if ((res.spec as Partial<CalicoNodeStatusSpec>).updatePeriodSeconds === undefined) {
      issues.add(["spec", "updatePeriodSeconds"], "is required (0..86400; 0 stops updates)");
    }
  },
  table: {
    columns: ["NAME", "NODE"],
    wide: ["NAME", "NODE", "CLASSES"],
    cell(res, column) {
      const s = res.spec as CalicoNodeStatusSpec;
      if (column === "NAME") return res.metadata.name;
      if (column === "NODE") return s.node;
      if (column === "CLASSES") return (s.classes ?? []).join(",");
      return "";
    },
  },
};
