/**
 * IPPool (api/pkg/apis/projectcalico/v3/ippool.go): the address ranges pods, tunnels and load balancers
 * get addresses from, and how traffic to them is encapsulated. Defaults are clientv3's
 * (libcalico-go/lib/clientv3/ippool.go validateAndSetDefaults: CIDR normalised, blockSize 26/122,
 * nodeSelector all(), allowedUses [Workload, Tunnel], modes Never, assignmentMode Automatic); rules are the
 * CRD's CEL rules and clientv3's create/update checks (overlap, immutable CIDR and blockSize, LoadBalancer
 * pools stay LoadBalancer, existing blocks of another size). Pure.
 */
import type { FieldIssue, Issues } from "./issues.js";
import type { KindDef, WriteContext } from "./kind.js";
import type { Resource } from "./meta.js";
import {
  type Cidr,
  cidrContainsIp,
  cidrsOverlap,
  formatCidr,
  IPV4_LINK_LOCAL,
  IPV6_LINK_LOCAL,
  isMasked,
  parseCidr,
} from "./net.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";
import { type Condition, conditionsSchema } from "./status-conditions.js";

export type EncapMode = "Never" | "Always" | "CrossSubnet";
export type AllowedUse = "Workload" | "Tunnel" | "LoadBalancer";

export interface IPPoolSpec {
  cidr: string;
  vxlanMode?: EncapMode;
  ipipMode?: EncapMode;
  natOutgoing?: boolean;
  disabled?: boolean;
  disableBGPExport?: boolean;
  blockSize?: number;
  nodeSelector?: string;
  namespaceSelector?: string;
  allowedUses?: AllowedUse[];
  assignmentMode?: "Automatic" | "Manual";
}

export interface IPPoolStatus {
  conditions?: Condition[];
}

export type IPPool = Resource<IPPoolSpec, IPPoolStatus>;

const ENCAP = ["Never", "Always", "CrossSubnet"] as const;

export const ipPoolSpecSchema = {
  type: "object",
  description: "IPPoolSpec contains the specification for an IPPool resource.",
  required: ["cidr"],
  properties: {
    cidr: {
      type: "string",
      format: "cidr",
      maxLength: 48,
      description: "The pool CIDR.",
      cel: [
        {
          rule: "self == oldSelf",
          message: "CIDR cannot be changed; follow IP pool migration guide to avoid corruption.",
        },
      ],
    },
    vxlanMode: {
      type: "string",
      enum: ENCAP,
      defaultDoc: "Never",
      description: "Contains configuration for VXLAN tunneling for this pool.",
    },
    ipipMode: {
      type: "string",
      enum: ENCAP,
      defaultDoc: "Never",
      description:
        "Contains configuration for IPIP tunneling for this pool. For IPv6 pools, IPIP tunneling must be disabled.",
    },
    natOutgoing: {
      type: "boolean",
      description:
        "When true, packets from workloads in this pool to destinations outside all pools are masqueraded.",
    },
    disabled: {
      type: "boolean",
      description: "When true, Calico IPAM will not assign addresses from this pool.",
    },
    disableBGPExport: {
      type: "boolean",
      description: "Disable exporting routes from this IP Pool's CIDR over BGP. [Default: false]",
    },
    blockSize: {
      type: "integer",
      minimum: 0,
      maximum: 128,
      defaultDoc: "26 (IPv4), 122 (IPv6)",
      description:
        "The block size to use for IP address assignments from this pool. Defaults to 26 for IPv4 and 122 for IPv6.",
      cel: [
        {
          rule: "self == oldSelf",
          message: "Block size cannot be changed; follow IP pool migration guide to avoid corruption.",
        },
      ],
    },
    nodeSelector: {
      type: "string",
      maxLength: 1024,
      default: "all()",
      check: "selector",
      description: "Allows IPPool to allocate for a specific node by label selector.",
    },
    namespaceSelector: {
      type: "string",
      maxLength: 1024,
      check: "selector",
      description: "Allows IPPool to allocate for a specific namespace by label selector.",
    },
    allowedUses: {
      type: "array",
      defaultDoc: "[Workload, Tunnel]",
      items: { type: "string", enum: ["Workload", "Tunnel", "LoadBalancer"] },
      maxItems: 10,
      listType: "set",
      description:
        'AllowedUses controls what the IP pool will be used for. Defaults to ["Workload", "Tunnel"].',
    },
    assignmentMode: {
      type: "string",
      enum: ["Automatic", "Manual"],
      default: "Automatic",
      presence: "optional",
      description: "Determines the mode how IP addresses should be assigned from this pool",
    },
  },
  // Written for tabby; the same rules Calico's CRD enforces, minus the cidr() ones (validated in code).
  cel: [
    {
      rule: "!(has(self.ipipMode) && self.ipipMode != 'Never' && has(self.vxlanMode) && self.vxlanMode != 'Never')",
      message: "ipipMode and vxlanMode cannot both be enabled",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.allowedUses) || !('LoadBalancer' in self.allowedUses) || self.allowedUses.all(u, u == 'LoadBalancer')",
      message: "LoadBalancer cannot be combined with Workload or Tunnel allowed uses",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.allowedUses) || !('Tunnel' in self.allowedUses) || !has(self.namespaceSelector) || self.namespaceSelector == ''",
      message: "IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.nodeSelector) || !self.nodeSelector.contains('global(')",
      message: "global() selector is not valid for IPPool nodeSelector",
      reason: "FieldValueInvalid",
    },
  ],
} as const satisfies ObjectSchemaOf<IPPoolSpec>;

const statusSchema = {
  type: "object",
  properties: { conditions: conditionsSchema },
} as const satisfies ObjectSchemaOf<IPPoolStatus>;

export function defaultBlockSize(family: 4 | 6): number {
  return family === 4 ? 26 : 122;
}

function defaults(spec: Record<string, unknown>): Record<string, unknown> {
  const s = { ...spec } as unknown as IPPoolSpec;
  const cidr = typeof s.cidr === "string" ? parseCidr(s.cidr) : undefined;
  // clientv3 stores the canonical text (cidr.String()); unmasked input is refused by validate below.
  if (cidr !== undefined && isMasked(cidr)) s.cidr = formatCidr(cidr);
  s.nodeSelector ||= "all()";
  if (cidr !== undefined && !s.blockSize) s.blockSize = defaultBlockSize(cidr.family);
  if (s.allowedUses === undefined || s.allowedUses.length === 0) s.allowedUses = ["Workload", "Tunnel"];
  s.ipipMode ||= "Never";
  s.vxlanMode ||= "Never";
  s.assignmentMode ??= "Automatic";
  // Keep Go's struct order so JSON output matches calicoctl's.
  const ordered: Record<string, unknown> = {};
  for (const k of Object.keys(ipPoolSpecSchema.properties)) {
    const v = (s as unknown as Record<string, unknown>)[k];
    if (v !== undefined) ordered[k] = v;
  }
  return ordered;
}

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as IPPoolSpec;
  const at = (f: string) => ["spec", f];
  if (typeof s.cidr !== "string" || s.cidr === "") return; // "is required" already reported
  const cidr = parseCidr(s.cidr);
  if (cidr === undefined) {
    issues.add(at("cidr"), "must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64", s.cidr);
    return;
  }
  if (!isMasked(cidr)) {
    issues.add(
      at("cidr"),
      `must be strictly masked (host bits zero): did you mean ${formatCidr(cidr)}?`,
      s.cidr,
    );
  }
  const linkLocal = cidr.family === 4 ? IPV4_LINK_LOCAL : IPV6_LINK_LOCAL;
  if (cidrsOverlap(cidr, linkLocal)) {
    issues.add(
      at("cidr"),
      `must not overlap the IPv${cidr.family} link-local range ${formatCidr(linkLocal)}`,
      s.cidr,
    );
  }
  const v4 = cidr.family === 4;
  if (s.blockSize !== undefined && s.blockSize !== 0) {
    const [lo, hi] = v4 ? [20, 32] : [116, 128];
    if (s.blockSize < lo || s.blockSize > hi) {
      issues.add(at("blockSize"), `must be ${lo}..${hi} for IPv${cidr.family} pools`, s.blockSize);
    } else if (!s.disabled && cidr.prefixLen > s.blockSize) {
      issues.add(
        at("cidr"),
        `IP pool size is too small for blockSize ${s.blockSize}: the pool prefix /${cidr.prefixLen} must be /${s.blockSize} or shorter (or disable the pool)`,
        s.cidr,
      );
    }
  }
  if (!v4 && s.ipipMode !== undefined && s.ipipMode !== "Never") {
    issues.add(at("ipipMode"), "IPIP is not supported on IPv6 pools", s.ipipMode);
  }
  if (isOn(s.ipipMode) && isOn(s.vxlanMode)) {
    issues.add(
      at("vxlanMode"),
      `ipipMode and vxlanMode cannot both be enabled (ipipMode is ${s.ipipMode})`,
      s.vxlanMode,
    );
  }
  const uses = s.allowedUses ?? [];
  if (uses.includes("LoadBalancer")) {
    if (uses.some((u) => u !== "LoadBalancer")) {
      issues.add(at("allowedUses"), "LoadBalancer cannot be combined with Workload or Tunnel", uses);
    }
    for (const f of ["ipipMode", "vxlanMode"] as const) {
      if (isOn(s[f])) issues.add(at(f), "a LoadBalancer pool cannot have IPIP or VXLAN", s[f]);
    }
    if (s.disableBGPExport)
      issues.add(at("disableBGPExport"), "a LoadBalancer pool cannot disable BGP export", true);
    if (s.nodeSelector !== "all()") {
      issues.add(at("nodeSelector"), 'a LoadBalancer pool must have nodeSelector "all()"', s.nodeSelector);
    }
  }
  if (uses.includes("Tunnel") && s.namespaceSelector) {
    issues.add(
      at("namespaceSelector"),
      "cannot be set on a pool whose allowedUses include Tunnel (the default); set allowedUses: [Workload]",
      s.namespaceSelector,
    );
  }
  // Calico's CEL rules test the text for "global(", so a quoted value containing it is refused too.
  for (const f of ["nodeSelector", "namespaceSelector"] as const) {
    if (s[f]?.includes("global(")) issues.add(at(f), "global() is not valid in an IPPool selector", s[f]);
  }
}

const isOn = (m: EncapMode | undefined) => m !== undefined && m !== "Never";

function sameNetwork(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x !== undefined && y !== undefined && formatCidr(x) === formatCidr(y) && x.prefixLen === y.prefixLen;
}

function validateWrite(res: Resource, ctx: WriteContext): FieldIssue[] {
  const s = res.spec as IPPoolSpec;
  const out: FieldIssue[] = [];
  const cidr = parseCidr(s.cidr);
  if (cidr === undefined) return out;
  if (ctx.op === "update" && ctx.old !== undefined) {
    const old = ctx.old.spec as IPPoolSpec;
    if (old.cidr !== s.cidr && !sameNetwork(old.cidr, s.cidr)) {
      out.push({
        path: ["spec", "cidr"],
        value: s.cidr,
        rule: `cannot be changed (stored: ${old.cidr}); follow the IP pool migration guide: create a new pool, disable this one, then delete it`,
      });
    }
    if (old.blockSize !== undefined && old.blockSize !== s.blockSize) {
      out.push({
        path: ["spec", "blockSize"],
        value: s.blockSize,
        rule: `cannot be changed (stored: ${old.blockSize}); follow the IP pool migration guide`,
      });
    }
    if (
      old.allowedUses?.includes("LoadBalancer") &&
      (s.allowedUses ?? []).some((u) => u !== "LoadBalancer")
    ) {
      out.push({
        path: ["spec", "allowedUses"],
        value: s.allowedUses,
        rule: "cannot change from LoadBalancer to Workload or Tunnel",
      });
    }
    return out;
  }
  for (const other of ctx.list("IPPool")) {
    if (other.metadata.name === res.metadata.name) continue;
    const o = parseCidr((other.spec as IPPoolSpec).cidr);
    if (o !== undefined && cidrsOverlap(cidr, o)) {
      out.push({
        path: ["spec", "cidr"],
        value: s.cidr,
        rule: `overlaps IPPool ${other.metadata.name} (${formatCidr(o)})`,
      });
    }
  }
  for (const block of ctx.list("IPAMBlock")) {
    const b = parseCidr((block.spec as { cidr: string }).cidr);
    if (b !== undefined && b.prefixLen !== s.blockSize && cidrsOverlap(b, cidr)) {
      out.push({
        path: ["spec", "blockSize"],
        value: s.blockSize,
        rule: `conflicts with existing allocations in block ${formatCidr(b)} of a different size (/${b.prefixLen})`,
      });
      break;
    }
  }
  return out;
}

/** True when `ip` falls inside the pool (helper for consumers such as IPAM and the agent). */
export function poolContains(pool: IPPoolSpec, ip: Cidr): boolean {
  const c = parseCidr(pool.cidr);
  return c !== undefined && cidrContainsIp(c, { family: ip.family, value: ip.addr });
}

export const ipPoolKind: KindDef = {
  kind: "IPPool",
  listKind: "IPPoolList",
  plural: "ippools",
  singular: "ippool",
  aliases: ["ippool", "ippools", "ipp", "ipps", "pool", "pools"],
  namespaced: false,
  shortNames: ["ipp", "ipps", "pool", "pools"],
  statusSubresource: true,
  printerColumns: [
    { name: "CIDR", type: "string", jsonPath: ".spec.cidr", description: "The pool CIDR" },
    {
      name: "VXLAN",
      type: "string",
      jsonPath: ".spec.vxlanMode",
      description: "The VXLAN mode for this pool",
    },
    { name: "IPIP", type: "string", jsonPath: ".spec.ipipMode", description: "The IPIP mode for this pool" },
    {
      name: "NAT",
      type: "boolean",
      jsonPath: ".spec.natOutgoing",
      description: "Whether outgoing NAT is enabled for this pool",
    },
    {
      name: "Allocatable",
      type: "string",
      jsonPath: ".status.conditions[?(@.type=='Allocatable')].status",
      description: "Whether or not this pool is available for IP allocations",
    },
    {
      name: "Age",
      type: "date",
      jsonPath: ".metadata.creationTimestamp",
      description: "The age of the pool",
    },
  ],
  spec: ipPoolSpecSchema as ObjectSchema,
  status: statusSchema as ObjectSchema,
  defaults,
  validate,
  validateWrite,
  table: {
    columns: ["NAME", "CIDR", "SELECTOR"],
    wide: [
      "NAME",
      "CIDR",
      "NAT",
      "IPIPMODE",
      "VXLANMODE",
      "DISABLED",
      "DISABLEBGPEXPORT",
      "SELECTOR",
      "ASSIGNMENTMODE",
    ],
    cell(res, column) {
      const s = res.spec as IPPoolSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "CIDR":
          return s.cidr;
        case "NAT":
          return String(s.natOutgoing ?? false);
        case "IPIPMODE":
          return s.ipipMode || "Never";
        case "VXLANMODE":
          return s.vxlanMode || "Never";
        case "DISABLED":
          return String(s.disabled ?? false);
        case "DISABLEBGPEXPORT":
          return String(s.disableBGPExport ?? false);
        case "SELECTOR":
          return s.nodeSelector ?? "";
        case "ASSIGNMENTMODE":
          return s.assignmentMode ?? "";
        default:
          return "";
      }
    },
  },
};
