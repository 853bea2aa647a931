/**
 * IPReservation (api/pkg/apis/projectcalico/v3/ipreservation.go): addresses IPAM must not hand out
 * (existing allocations are untouched). Rule: each entry is a CIDR or a bare address (validator.go
 * `cidrs`). Pure.
 */
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";

export interface IPReservationSpec {
  reservedCIDRs?: string[];
}

export type IPReservation = Resource<IPReservationSpec>;

export const ipReservationSpecSchema = {
  type: "object",
  description: "IPReservationSpec contains the specification for an IPReservation resource.",
  properties: {
    reservedCIDRs: {
      type: "array",
      items: { type: "string", check: "cidr" },
      listType: "set",
      description:
        "ReservedCIDRs is a list of CIDRs and/or IP addresses that Calico IPAM will exclude from new allocations.",
    },
  },
} as const satisfies ObjectSchemaOf<IPReservationSpec>;

/** calicoctl's joinAndTruncate(..., ",", 80). */
function joinAndTruncate(items: readonly string[], max: number): string {
  let out = "";
  for (const [i, s] of items.entries()) {
    out += (i > 0 ? "," : "") + s;
    if (out.length > max) return `${out.slice(0, max - 3)}...`;
  }
  return out;
}

export const ipReservationKind: KindDef = {
  kind: "IPReservation",
  listKind: "IPReservationList",
  plural: "ipreservations",
  singular: "ipreservation",
  aliases: ["ipreservation", "ipreservations", "reservation", "reservations"],
  namespaced: false,
  spec: ipReservationSpecSchema as ObjectSchema,
  table: {
    columns: ["NAME"],
    wide: ["NAME", "CIDRS"],
    cell(res, column) {
      const s = res.spec as IPReservationSpec;
      if (column === "NAME") return res.metadata.name;
      if (column === "CIDRS") return joinAndTruncate(s.reservedCIDRs ?? [], 80);
      return "";
    },
  },
};
