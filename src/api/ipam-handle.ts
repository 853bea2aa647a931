/**
 * IPAMHandle (api/pkg/apis/projectcalico/v3/ipamhandle.go): who holds addresses, and how many in which
 * block (`k8s-pod-network.<containerID>`, `ipip-tunnel-addr-<node>`, ...). Written only by IPAM. tabby
 * checks that block keys are CIDRs and counts are positive. Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import { parseCidr } from "./net.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface IPAMHandleSpec {
  handleID: string;
  block: Record<string, number>;
  deleted: boolean;
}

export type IPAMHandle = Resource<IPAMHandleSpec>;

export const ipamHandleSpecSchema = {
  type: "object",
  description: "IPAMHandleSpec contains the specification for an IPAMHandle resource.",
  required: ["block", "handleID"],
  properties: {
    handleID: { type: "string", presence: "always", description: "The handle ID." },
    block: {
      type: "map",
      values: { type: "integer", minimum: 0 },
      presence: "always",
      description: "Number of addresses this handle holds per block CIDR.",
    },
    deleted: { type: "boolean", presence: "always", description: "Soft-delete marker." },
  },
} as const satisfies ObjectSchemaOf<IPAMHandleSpec>;

function validate(res: Resource, issues: Issues): void {
  for (const key of Object.keys((res.spec as IPAMHandleSpec).block ?? {})) {
    if (parseCidr(key) === undefined)
      issues.add(["spec", "block", key], "block keys must be block CIDRs", key);
  }
}

export const ipamHandleKind: KindDef = {
  kind: "IPAMHandle",
  listKind: "IPAMHandleList",
  plural: "ipamhandles",
  singular: "ipamhandle",
  aliases: ["ipamhandle", "ipamhandles"],
  namespaced: false,
  readOnly: true,
  printerColumns: [{ name: "ID", type: "string", jsonPath: ".spec.handleID", description: "The handle ID" }],
  spec: ipamHandleSpecSchema as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "HANDLEID"],
    wide: ["NAME", "HANDLEID", "BLOCKS"],
    cell(res, column) {
      const s = res.spec as IPAMHandleSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "HANDLEID":
          return s.handleID;
        case "BLOCKS":
          return Object.entries(s.block)
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .join(",");
        default:
          return "";
      }
    },
  },
};
