/**
 * IPAMConfiguration (api/pkg/apis/projectcalico/v3/ipamconfig.go), the singleton `default`: whether nodes
 * may borrow addresses from other nodes' blocks, claim new blocks, and how many. Stored in
 * crd.projectcalico.org/v1 as kind IPAMConfig. Defaults are the CRD's (strictAffinity false,
 * autoAllocateBlocks true); the name rule is clientv3's (ipamconfig.go validateMetadata). The library's
 * extra rules for `calicoctl ipam configure` (SetIPAMConfig) are not applied here, as calicoctl apply does
 * not apply them either. Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface IPAMConfigurationSpec {
  strictAffinity: boolean;
  maxBlocksPerHost?: number;
  autoAllocateBlocks: boolean;
  kubeVirtVMAddressPersistence?: "Enabled" | "Disabled";
  ipCooldownSeconds?: number;
}

export type IPAMConfiguration = Resource<IPAMConfigurationSpec>;

export const ipamConfigurationSpecSchema = {
  type: "object",
  description: "IPAMConfigurationSpec contains the specification for an IPAMConfiguration resource.",
  required: ["autoAllocateBlocks", "strictAffinity"],
  properties: {
    strictAffinity: {
      type: "boolean",
      default: false,
      presence: "always",
      description: "When StrictAffinity is true, borrowing IP addresses is not allowed.",
    },
    maxBlocksPerHost: {
      type: "integer",
      minimum: 0,
      maximum: 1000000,
      description:
        "MaxBlocksPerHost, if non-zero, is the max number of blocks that can be affine to each host.",
    },
    autoAllocateBlocks: {
      type: "boolean",
      default: true,
      presence: "always",
      description: "Whether or not to auto allocate blocks to hosts.",
    },
    kubeVirtVMAddressPersistence: {
      type: "string",
      enum: ["Enabled", "Disabled"],
      presence: "optional",
      description:
        "Whether KubeVirt VMs keep their IP addresses across VM lifecycle events. [Default: Enabled]",
    },
    ipCooldownSeconds: {
      type: "integer",
      minimum: 0,
      maximum: 1200,
      description: "Minimum age of a released IP in a block before it is re-used.",
    },
  },
} as const satisfies ObjectSchemaOf<IPAMConfigurationSpec>;

function validate(res: Resource, issues: Issues): void {
  if (res.metadata.name !== "default") {
    issues.add(
      ["metadata", "name"],
      'must be "default": IPAMConfiguration is a singleton',
      res.metadata.name,
    );
  }
}

export const ipamConfigurationKind: KindDef = {
  kind: "IPAMConfiguration",
  listKind: "IPAMConfigurationList",
  plural: "ipamconfigurations",
  singular: "ipamconfiguration",
  aliases: ["ipamconfiguration", "ipamconfigurations", "ipamconfig", "ipamconfigs"],
  namespaced: false,
  crd: { kind: "IPAMConfig", plural: "ipamconfigs", singular: "ipamconfig" },
  printerColumns: [
    {
      name: "StrictAffinity",
      type: "boolean",
      jsonPath: ".spec.strictAffinity",
      description: "Whether borrowing IP addresses is allowed",
    },
    {
      name: "MaxBlocksPerHost",
      type: "integer",
      jsonPath: ".spec.maxBlocksPerHost",
      description: "The max number of blocks that can be affine to each host",
    },
    {
      name: "AutoAllocateBlocks",
      type: "boolean",
      jsonPath: ".spec.autoAllocateBlocks",
      description: "Whether or not to auto allocate blocks to hosts",
    },
  ],
  spec: ipamConfigurationSpecSchema as ObjectSchema,
  // The v1 CRD bounds maxBlocksPerHost by int32 rather than v3's 1,000,000.
  crdSpec: {
    ...ipamConfigurationSpecSchema,
    properties: {
      ...ipamConfigurationSpecSchema.properties,
      maxBlocksPerHost: { ...ipamConfigurationSpecSchema.properties.maxBlocksPerHost, maximum: 2147483647 },
    },
  } as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "STRICTAFFINITY", "AUTOALLOCATEBLOCKS"],
    wide: ["NAME", "STRICTAFFINITY", "AUTOALLOCATEBLOCKS", "MAXBLOCKSPERHOST"],
    cell(res, column) {
      const s = res.spec as IPAMConfigurationSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "STRICTAFFINITY":
          return String(s.strictAffinity);
        case "AUTOALLOCATEBLOCKS":
          return String(s.autoAllocateBlocks);
        case "MAXBLOCKSPERHOST":
          return String(s.maxBlocksPerHost ?? 0);
        default:
          return "";
      }
    },
  },
};
