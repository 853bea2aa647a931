/**
 * BGPFilter (api/pkg/apis/projectcalico/v3/bgpfilter.go): ordered import/export rules per address family,
 * first match wins, referenced by name from BGPPeer.filters. Rules are the CRD's (cidr maxLength 18/43,
 * prefixLength bounds, exactly one community value, 1..10 operations each setting exactly one of
 * addCommunity/prependASPath/setPriority) and its CEL rules (cidr with matchOperator, prefixLength needs
 * cidr, operations only with Accept), plus validator.go's (strictly masked CIDR of the rule's family,
 * interface globs). No defaults. Pure.
 */
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf, StringSchema } from "./schema.js";

export interface BGPFilterRule {
  cidr?: string;
  prefixLength?: { min?: number; max?: number };
  source?: "RemotePeers";
  interface?: string;
  matchOperator?: "Equal" | "NotEqual" | "In" | "NotIn";
  peerType?: "eBGP" | "iBGP";
  communities?: { values: string[] };
  asPathPrefix?: number[];
  priority?: number;
  action: "Accept" | "Reject";
  operations?: BGPFilterOperation[];
}

export interface BGPFilterOperation {
  addCommunity?: { value: string };
  prependASPath?: { prefix: number[] };
  setPriority?: { value: number };
}

export interface BGPFilterSpec {
  exportV4?: BGPFilterRule[];
  importV4?: BGPFilterRule[];
  exportV6?: BGPFilterRule[];
  importV6?: BGPFilterRule[];
}

export type BGPFilter = Resource<BGPFilterSpec>;

const U16 = "([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
const U32 =
  "([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[0-1][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[0-1][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])";
const COMMUNITY_RE = `^(${U16}:${U16}|${U32}:${U32}:${U32})$`;

const communityValue: StringSchema = {
  type: "string",
  maxLength: 32,
  presence: "always",
  pattern: {
    crd: COMMUNITY_RE,
    js: new RegExp(COMMUNITY_RE),
    rule: "must be a community aa:nn (16-bit parts) or a large community aa:nn:mm (32-bit parts)",
  },
};

const asnList = (extra: { minItems?: number; maxItems?: number } = {}) =>
  ({ type: "array", items: { type: "asNumber" }, listType: "atomic", ...extra }) as const;

const priority = { type: "integer", minimum: 1, maximum: 2147483646 } as const;

const operationSchema = {
  type: "object",
  mapType: "atomic",
  minProperties: 1,
  maxProperties: 1,
  properties: {
    addCommunity: {
      type: "object",
      mapType: "atomic",
      required: ["value"],
      properties: { value: communityValue },
    } satisfies ObjectSchemaOf<{ value: string }>,
    prependASPath: {
      type: "object",
      mapType: "atomic",
      required: ["prefix"],
      properties: { prefix: { ...asnList({ minItems: 1, maxItems: 10 }), presence: "always" } },
    } satisfies ObjectSchemaOf<{ prefix: number[] }>,
    setPriority: {
      type: "object",
      mapType: "atomic",
      required: ["value"],
      properties: { value: { ...priority, presence: "always" } },
    } satisfies ObjectSchemaOf<{ value: number }>,
  },
} as const satisfies ObjectSchemaOf<BGPFilterOperation>;

function ruleSchema(family: 4 | 6) {
  const bits = family === 4 ? 32 : 128;
  return {
    type: "object",
    mapType: "atomic",
    required: ["action"],
    properties: {
      cidr: {
        type: "string",
        format: "cidr",
        maxLength: family === 4 ? 18 : 43,
        check: family === 4 ? "netv4" : "netv6",
      },
      prefixLength: {
        type: "object",
        mapType: "atomic",
        properties: {
          min: { type: "integer", format: "int32", minimum: 0, maximum: bits, presence: "optional" },
          max: { type: "integer", format: "int32", minimum: 0, maximum: bits, presence: "optional" },
        },
      },
      source: { type: "string", enum: ["RemotePeers"] },
      interface: { type: "string", maxLength: 15, check: "bgpFilterInterface" },
      matchOperator: { type: "string", enum: ["Equal", "NotEqual", "In", "NotIn"] },
      peerType: { type: "string", enum: ["eBGP", "iBGP"] },
      communities: {
        type: "object",
        mapType: "atomic",
        required: ["values"],
        properties: {
          values: {
            type: "array",
            items: communityValue,
            minItems: 1,
            maxItems: 1,
            listType: "atomic",
            presence: "always",
          },
        },
      },
      asPathPrefix: asnList(),
      priority: { ...priority, presence: "optional" },
      action: { type: "string", enum: ["Accept", "Reject"], presence: "always" },
      operations: { type: "array", items: operationSchema, minItems: 1, maxItems: 10, listType: "atomic" },
    },
    // Written for tabby; the same rules as Calico's CRD.
    cel: [
      {
        rule: "(has(self.cidr) && self.cidr != '') == (has(self.matchOperator) && self.matchOperator != '')",
        message: "cidr and matchOperator must both be set or both be empty",
        reason: "FieldValueInvalid",
      },
      {
        rule: "!has(self.prefixLength) || (has(self.cidr) && self.cidr != '')",
        message: "cidr is required when prefixLength is set",
        reason: "FieldValueInvalid",
      },
      {
        rule: "!has(self.operations) || size(self.operations) == 0 || self.action == 'Accept'",
        message: "operations may only be used with action Accept",
        reason: "FieldValueInvalid",
      },
    ],
  } as const satisfies ObjectSchemaOf<BGPFilterRule>;
}

const ruleList = (family: 4 | 6, what: string) =>
  ({ type: "array", items: ruleSchema(family), listType: "atomic", description: what }) as const;

export const bgpFilterSpecSchema = {
  type: "object",
  description: "BGPFilterSpec contains the IPv4 and IPv6 filter rules of the BGP Filter.",
  properties: {
    exportV4: ruleList(4, "The ordered set of IPv4 BGPFilter rules acting on exporting routes to a peer."),
    importV4: ruleList(4, "The ordered set of IPv4 BGPFilter rules acting on importing routes from a peer."),
    exportV6: ruleList(6, "The ordered set of IPv6 BGPFilter rules acting on exporting routes to a peer."),
    importV6: ruleList(6, "The ordered set of IPv6 BGPFilter rules acting on importing routes from a peer."),
  },
} as const satisfies ObjectSchemaOf<BGPFilterSpec>;

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as BGPFilterSpec;
  for (const list of ["exportV4", "importV4", "exportV6", "importV6"] as const) {
    (s[list] ?? []).forEach((r, i) => {
      const at = (f: string) => ["spec", list, i, f];
      if (Boolean(r.cidr) !== Boolean(r.matchOperator)) {
        if (r.cidr)
          issues.add(at("matchOperator"), "is required when cidr is set (Equal, NotEqual, In or NotIn)");
        else issues.add(at("cidr"), "is required when matchOperator is set", undefined);
      }
      if (r.prefixLength !== undefined && !r.cidr)
        issues.add(at("prefixLength"), "requires cidr to be set", r.prefixLength);
      if ((r.operations ?? []).length > 0 && r.action !== "Accept") {
        issues.add(at("operations"), `may only be used with action Accept (action is ${r.action})`);
      }
    });
  }
}

export const bgpFilterKind: KindDef = {
  kind: "BGPFilter",
  listKind: "BGPFilterList",
  plural: "bgpfilters",
  singular: "bgpfilter",
  aliases: ["bgpfilter", "bgpfilters", "bgpf", "bgpfs", "bf", "bfs"],
  namespaced: false,
  spec: bgpFilterSpecSchema as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "NUMEXPORTV4", "NUMIMPORTV4", "NUMEXPORTV6", "NUMIMPORTV6"],
    wide: ["NAME", "NUMEXPORTV4", "NUMIMPORTV4", "NUMEXPORTV6", "NUMIMPORTV6"],
    cell(res, column) {
      const s = res.spec as BGPFilterSpec;
      const n = (l?: unknown[]) => String(l?.length ?? 0);
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "NUMEXPORTV4":
          return n(s.exportV4);
        case "NUMIMPORTV4":
          return n(s.importV4);
        case "NUMEXPORTV6":
          return n(s.exportV6);
        case "NUMIMPORTV6":
          return n(s.importV6);
        default:
          return "";
      }
    },
  },
};
