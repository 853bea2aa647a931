/**
 * BlockAffinity (api/pkg/apis/projectcalico/v3/blockaffinity.go): a node's (or a virtual owner's) claim on
 * one IPAM block, going pending -> confirmed -> pendingDeletion. Written only by IPAM. Rules: validator.go
 * refuses `deleted: true` (the flag is the Kubernetes backend's soft delete, never set through the API);
 * the CIDR must be a network. In crd.projectcalico.org/v1 `deleted` is the string "true"/"false". Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface BlockAffinitySpec {
  state: "" | "pending" | "confirmed" | "pendingDeletion";
  node: string;
  type?: "host" | "virtual";
  cidr: string;
  deleted: boolean;
}

export type BlockAffinity = Resource<BlockAffinitySpec>;

export const blockAffinitySpecSchema = {
  type: "object",
  description: "BlockAffinitySpec contains the specification for a BlockAffinity resource.",
  required: ["cidr", "node"],
  properties: {
    state: {
      type: "string",
      enum: ["", "pending", "confirmed", "pendingDeletion"],
      presence: "always",
      description: "State of the affinity: pending, confirmed or pendingDeletion (empty means confirmed).",
    },
    node: {
      type: "string",
      presence: "always",
      description: "The node (or virtual owner) the block is affine to.",
    },
    type: { type: "string", enum: ["host", "virtual"], description: "host (default) or virtual." },
    cidr: { type: "string", check: "net", presence: "always", description: "The block CIDR." },
    deleted: {
      type: "boolean",
      presence: "always",
      description: "Soft-delete marker of the Kubernetes backend.",
    },
  },
} as const satisfies ObjectSchemaOf<BlockAffinitySpec>;

function validate(res: Resource, issues: Issues): void {
  if ((res.spec as BlockAffinitySpec).deleted) {
    issues.add(["spec", "deleted"], "cannot be set to true (it is the datastore's soft-delete marker)", true);
  }
}

export const blockAffinityKind: KindDef = {
  kind: "BlockAffinity",
  listKind: "BlockAffinityList",
  plural: "blockaffinities",
  singular: "blockaffinity",
  aliases: ["blockaffinity", "blockaffinities", "affinity", "affinities"],
  namespaced: false,
  readOnly: true,
  shortNames: ["affinity", "affinities"],
  printerColumns: [
    { name: "CIDR", type: "string", jsonPath: ".spec.cidr", description: "The block CIDR" },
    { name: "Node", type: "string", jsonPath: ".spec.node", description: "The node the block is affine to" },
    { name: "Type", type: "string", jsonPath: ".spec.type", description: "The type of block affinity" },
  ],
  spec: blockAffinitySpecSchema as ObjectSchema,
  // crd.projectcalico.org/v1 keeps `deleted` as the string "true"/"false" (calico.md 1.7).
  crdSpec: {
    ...blockAffinitySpecSchema,
    required: ["cidr", "deleted", "node", "state"],
    properties: { ...blockAffinitySpecSchema.properties, deleted: { type: "string", presence: "always" } },
  } as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "CIDR", "NODE", "TYPE"],
    wide: ["NAME", "CIDR", "NODE", "TYPE", "STATE"],
    cell(res, column) {
      const s = res.spec as BlockAffinitySpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "CIDR":
          return s.cidr;
        case "NODE":
          return s.node;
        case "TYPE":
          return s.type || "host";
        case "STATE":
          return s.state || "confirmed";
        default:
          return "";
      }
    },
  },
};
