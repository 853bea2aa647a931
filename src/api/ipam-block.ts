/**
 * IPAMBlock (api/pkg/apis/projectcalico/v3/ipamblocks.go, model/block.go): one block of a pool, with one
 * allocation slot per address, the FIFO of free ordinals, per-allocation attributes, and the sequence
 * numbers that make release safe. Written only by IPAM; tabbyctl shows it. Calico has no validator for
 * it; tabby checks the invariants IPAM relies on (the name is the CIDR's name as names/cidr.go builds it,
 * one allocation slot per address, free ordinals in range and not allocated, attribute indexes valid),
 * so a corrupt block is caught at the door. Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import { formatCidr, isMasked, parseCidr } from "./net.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface AllocationAttribute {
  handle_id?: string;
  secondary?: Record<string, string>;
  alternateOwnerAttrs?: Record<string, string>;
  releasedAt?: string;
}

export interface IPAMBlockSpec {
  cidr: string;
  affinity?: string;
  affinityClaimTime?: string;
  allocations: (number | null)[];
  unallocated: number[];
  attributes: AllocationAttribute[];
  sequenceNumber: number;
  sequenceNumberForAllocation?: Record<string, number>;
  deleted: boolean;
  strictAffinity: boolean;
}

export type IPAMBlock = Resource<IPAMBlockSpec>;

const stringMap = { type: "map", values: { type: "string" } } as const;

export const ipamBlockSpecSchema = {
  type: "object",
  description: "IPAMBlockSpec contains the specification for an IPAMBlock resource.",
  required: ["allocations", "attributes", "cidr", "strictAffinity", "unallocated"],
  properties: {
    cidr: { type: "string", check: "net", presence: "always", description: "The block's CIDR." },
    affinity: {
      type: "string",
      presence: "optional",
      pattern: {
        crd: "^(host|virtual):.+$",
        js: /^(host|virtual):.+$/,
        rule: 'must be "host:<node>" or "virtual:<name>"',
      },
      description: "Affinity of the block: host:<node> or virtual:<name>.",
    },
    affinityClaimTime: {
      type: "string",
      format: "date-time",
      check: "dateTime",
      presence: "optional",
      description: "Time at which affinity was claimed.",
    },
    allocations: {
      type: "array",
      items: { type: "integer", nullable: true },
      presence: "always",
      description: "One entry per address: null when free, else an index into attributes.",
    },
    unallocated: {
      type: "array",
      items: { type: "integer", minimum: 0 },
      presence: "always",
      description: "Ordinals of free addresses, in FIFO order.",
    },
    attributes: {
      type: "array",
      presence: "always",
      description: "Attributes of the allocations.",
      items: {
        type: "object",
        properties: {
          handle_id: { type: "string" },
          secondary: stringMap,
          alternateOwnerAttrs: stringMap,
          releasedAt: { type: "string", format: "date-time", check: "dateTime" },
        },
      } satisfies ObjectSchemaOf<AllocationAttribute>,
    },
    sequenceNumber: {
      type: "integer",
      format: "int64",
      minimum: 0,
      default: 0,
      presence: "always",
      description: "Bumped on every write of the block.",
    },
    sequenceNumberForAllocation: {
      type: "map",
      values: { type: "integer", format: "int64", minimum: 0 },
      description: "Block sequence number at which each ordinal was allocated.",
    },
    deleted: { type: "boolean", presence: "always", description: "Soft-delete marker." },
    strictAffinity: { type: "boolean", presence: "always", description: "Deprecated and unused." },
  },
} as const satisfies ObjectSchemaOf<IPAMBlockSpec>;

/** Calico's resource name for a CIDR (libcalico-go/lib/names/cidr.go): `10.244.1.0/26` -> `10-244-1-0-26`. */
export function cidrToName(cidr: string): string {
  return cidr.replace(/[.:/]/g, "-");
}

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as IPAMBlockSpec;
  const cidr = s.cidr ? parseCidr(s.cidr) : undefined;
  if (cidr === undefined || !isMasked(cidr)) return; // reported by the field check
  const canonical = formatCidr(cidr);
  if (res.metadata.name !== cidrToName(canonical)) {
    issues.add(
      ["metadata", "name"],
      `must be ${cidrToName(canonical)} for block ${canonical}`,
      res.metadata.name,
    );
  }
  const size = 2 ** ((cidr.family === 4 ? 32 : 128) - cidr.prefixLen);
  if (size > 65536) {
    issues.add(["spec", "cidr"], "a block may hold at most 65536 addresses", s.cidr);
    return;
  }
  const allocations = s.allocations ?? [];
  if (allocations.length !== size) {
    issues.add(
      ["spec", "allocations"],
      `must have one entry per address of ${canonical} (${size}), has ${allocations.length}`,
    );
  }
  const attrs = s.attributes ?? [];
  allocations.forEach((a, i) => {
    if (a !== null && (a < 0 || a >= attrs.length)) {
      issues.add(
        ["spec", "allocations", i],
        `must be null or an index into attributes (0..${attrs.length - 1})`,
        a,
      );
    }
  });
  const seen = new Set<number>();
  (s.unallocated ?? []).forEach((o, i) => {
    if (o >= size) issues.add(["spec", "unallocated", i], `must be an ordinal 0..${size - 1}`, o);
    else if (seen.has(o)) issues.add(["spec", "unallocated", i], "is listed twice", o);
    else if (allocations[o] !== null && allocations[o] !== undefined) {
      issues.add(["spec", "unallocated", i], "is free but also allocated", o);
    }
    seen.add(o);
  });
}

export const ipamBlockKind: KindDef = {
  kind: "IPAMBlock",
  listKind: "IPAMBlockList",
  plural: "ipamblocks",
  singular: "ipamblock",
  aliases: ["ipamblock", "ipamblocks"],
  namespaced: false,
  readOnly: true,
  printerColumns: [
    { name: "CIDR", type: "string", jsonPath: ".spec.cidr", description: "The block CIDR" },
    { name: "Affinity", type: "string", jsonPath: ".spec.affinity", description: "The block affinity" },
    {
      name: "ClaimTime",
      type: "date",
      jsonPath: ".spec.affinityClaimTime",
      description: "The time at which affinity was claimed",
    },
  ],
  spec: ipamBlockSpecSchema as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "CIDR", "AFFINITY"],
    wide: ["NAME", "CIDR", "AFFINITY", "ALLOCATED", "FREE"],
    cell(res, column) {
      const s = res.spec as IPAMBlockSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "CIDR":
          return s.cidr;
        case "AFFINITY":
          return s.affinity ?? "";
        case "ALLOCATED":
          return String(s.allocations.filter((a) => a !== null).length);
        case "FREE":
          return String(s.unallocated.length);
        default:
          return "";
      }
    },
  },
};
