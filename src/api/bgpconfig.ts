/**
 * BGPConfiguration (api/pkg/apis/projectcalico/v3/bgpconfig.go): cluster BGP settings in `default`, and
 * per-node overrides in `node.<nodename>`. Defaults are the CRD's (logSeverityScreen Info,
 * serviceLoadBalancerAggregation Enabled); everything else absent means Calico's built-in default (mesh on,
 * AS 64512, port 179). Rules: the CRD's CEL rules (mesh password/restart time only with the mesh on,
 * communities only with prefixAdvertisements), validator.go's community checks (defined name or valid
 * literal), and clientv3's default-only fields (ValidateDefaultOnlyFields). Pure.
 */
import { checkCommunity } from "./formats.js";
import type { Issues } from "./issues.js";
import type { KindDef } from "./kind.js";
import type { Resource } from "./meta.js";
import type { ObjectSchema, ObjectSchemaOf } from "./schema.js";
import { type BGPPassword, bgpPasswordSchema } from "./secret-ref.js";

export interface CidrBlock {
  cidr?: string;
}

export interface Community {
  name?: string;
  value?: string;
}

export interface PrefixAdvertisement {
  cidr?: string;
  communities?: string[];
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: string;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number;
  serviceLoadBalancerIPs?: CidrBlock[];
  serviceExternalIPs?: CidrBlock[];
  serviceClusterIPs?: CidrBlock[];
  serviceLoadBalancerAggregation?: "Enabled" | "Disabled";
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  listenPort?: number;
  nodeMeshPassword?: BGPPassword;
  nodeMeshMaxRestartTime?: string;
  bindMode?: "None" | "NodeIP";
  ignoredInterfaces?: string[];
  localWorkloadPeeringIPV4?: string;
  localWorkloadPeeringIPV6?: string;
  programClusterRoutes?: "Enabled" | "Disabled" | "EnabledIPIPOnly" | "EnabledNoEncapOnly";
  ipv4NormalRoutePriority?: number;
  ipv6NormalRoutePriority?: number;
}

export type BGPConfiguration = Resource<BGPConfigurationSpec>;

/** What components assume when `default` (or a field of it) is absent (confd globalDefaults). */
export const BGP_DEFAULTS = { asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179 } as const;

const cidrBlock = (what: string) =>
  ({
    type: "array",
    listType: "atomic",
    description: `${what} CIDR blocks.`,
    items: {
      type: "object",
      mapType: "atomic",
      properties: { cidr: { type: "string", format: "cidr", check: "net" } },
    } satisfies ObjectSchemaOf<CidrBlock>,
  }) as const;

const communitySchema = {
  type: "object",
  mapType: "atomic",
  required: ["name", "value"],
  properties: {
    name: { type: "string", maxLength: 253, check: "name", description: "Name given to community value." },
    value: {
      type: "string",
      maxLength: 40,
      pattern: {
        crd: "^(\\d+):(\\d+)$|^(\\d+):(\\d+):(\\d+)$",
        js: /^(\d+):(\d+)$|^(\d+):(\d+):(\d+)$/,
        rule: "must be a community aa:nn or a large community aa:nn:mm",
      },
      check: "community",
      description: "Value of format `aa:nn` (16-bit parts) or `aa:nn:mm` (32-bit parts).",
    },
  },
} as const satisfies ObjectSchemaOf<Community>;

const prefixAdvertisementSchema = {
  type: "object",
  mapType: "atomic",
  required: ["cidr"],
  properties: {
    cidr: {
      type: "string",
      format: "cidr",
      check: "net",
      description: "CIDR for which properties should be advertised.",
    },
    communities: {
      type: "array",
      items: { type: "string" },
      maxItems: 50,
      listType: "atomic",
      description: "Community names defined in spec.communities, or literal values aa:nn / aa:nn:mm.",
    },
  },
} as const satisfies ObjectSchemaOf<PrefixAdvertisement>;

export const bgpConfigurationSpecSchema = {
  type: "object",
  description: "BGPConfigurationSpec contains the values of the BGP configuration.",
  properties: {
    logSeverityScreen: {
      type: "string",
      default: "Info",
      pattern: {
        crd: "^(?i)(Trace|Debug|Info|Warning|Error|Fatal)?$",
        js: /^(Trace|Debug|Info|Warning|Error|Fatal)?$/i,
        rule: "must be one of Trace, Debug, Info, Warning, Error, Fatal (any case)",
      },
      description:
        "LogSeverityScreen is the log severity above which logs are sent to the stdout. [Default: Info]",
    },
    nodeToNodeMeshEnabled: {
      type: "boolean",
      presence: "optional",
      description:
        "NodeToNodeMeshEnabled sets whether full node to node BGP mesh is enabled. [Default: true]",
    },
    asNumber: {
      type: "asNumber",
      presence: "optional",
      description: "ASNumber is the default AS number used by a node. [Default: 64512]",
    },
    serviceLoadBalancerIPs: cidrBlock("Service LoadBalancer IP"),
    serviceExternalIPs: cidrBlock("Service external IP"),
    serviceClusterIPs: cidrBlock("Service cluster IP"),
    serviceLoadBalancerAggregation: {
      type: "string",
      enum: ["Enabled", "Disabled"],
      default: "Enabled",
      presence: "optional",
      description:
        "Disabled advertises a /32 per LoadBalancer service instead of the whole CIDR. [Default: Enabled]",
    },
    communities: {
      type: "array",
      items: communitySchema,
      maxItems: 500,
      listType: "atomic",
      description: "BGP community values and their names, for tagging routes.",
    },
    prefixAdvertisements: {
      type: "array",
      items: prefixAdvertisementSchema,
      maxItems: 500,
      listType: "atomic",
      description: "Per-prefix advertisement configuration.",
    },
    listenPort: {
      type: "integer",
      minimum: 1,
      maximum: 65535,
      description: "ListenPort is the port where BGP protocol should listen. Defaults to 179",
    },
    nodeMeshPassword: bgpPasswordSchema,
    nodeMeshMaxRestartTime: {
      type: "duration",
      presence: "optional",
      description:
        "Graceful restart time for node-to-node mesh peerings; only on default and with the mesh on.",
    },
    bindMode: {
      type: "string",
      enum: ["None", "NodeIP"],
      presence: "optional",
      description: "Listen on all addresses (None) or only on the node IP (NodeIP).",
    },
    ignoredInterfaces: {
      type: "array",
      items: { type: "string", check: "ignoredInterface" },
      listType: "set",
      description: "Interfaces to exclude when reading device routes.",
    },
    localWorkloadPeeringIPV4: {
      type: "string",
      check: "ipv4",
      description: "The virtual IPv4 address of the node with which its local workload is expected to peer.",
    },
    localWorkloadPeeringIPV6: {
      type: "string",
      check: "ipv6",
      description: "The virtual IPv6 address of the node with which its local workload is expected to peer.",
    },
    programClusterRoutes: {
      type: "string",
      enum: ["Enabled", "Disabled", "EnabledIPIPOnly", "EnabledNoEncapOnly"],
      presence: "optional",
      description: "Which cluster routes the BGP stack programs. [Default: EnabledNoEncapOnly]",
    },
    ipv4NormalRoutePriority: {
      type: "integer",
      minimum: 1,
      maximum: 2147483646,
      presence: "optional",
      description: "The route metric Felix uses for IPv4 workload routes. [Default: 1024]",
    },
    ipv6NormalRoutePriority: {
      type: "integer",
      minimum: 1,
      maximum: 2147483646,
      presence: "optional",
      description: "The route metric Felix uses for IPv6 workload routes. [Default: 1024]",
    },
  },
  // Written for tabby; the same rules as Calico's CRD.
  cel: [
    {
      rule: "!has(self.nodeMeshPassword) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled",
      message: "nodeMeshPassword cannot be set when nodeToNodeMeshEnabled is false",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.nodeMeshMaxRestartTime) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled",
      message: "nodeMeshMaxRestartTime cannot be set when nodeToNodeMeshEnabled is false",
      reason: "FieldValueForbidden",
    },
    {
      rule: "!has(self.communities) || size(self.communities) == 0 || (has(self.prefixAdvertisements) && size(self.prefixAdvertisements) > 0)",
      message: "communities are defined but not used in prefixAdvertisements",
      reason: "FieldValueInvalid",
    },
  ],
} as const satisfies ObjectSchemaOf<BGPConfigurationSpec>;

/** Fields only `default` may set (clientv3 bgpconfig.go ValidateDefaultOnlyFields). */
const DEFAULT_ONLY = [
  "nodeToNodeMeshEnabled",
  "asNumber",
  "serviceLoadBalancerIPs",
  "serviceExternalIPs",
  "serviceClusterIPs",
  "nodeMeshPassword",
  "nodeMeshMaxRestartTime",
] as const;

function validate(res: Resource, issues: Issues): void {
  const s = res.spec as BGPConfigurationSpec;
  const at = (...p: (string | number)[]) => ["spec", ...p];
  if (s.nodeToNodeMeshEnabled === false) {
    if (s.nodeMeshPassword !== undefined) {
      issues.add(at("nodeMeshPassword"), "cannot be set when nodeToNodeMeshEnabled is false");
    }
    if (s.nodeMeshMaxRestartTime !== undefined) {
      issues.add(
        at("nodeMeshMaxRestartTime"),
        "cannot be set when nodeToNodeMeshEnabled is false",
        s.nodeMeshMaxRestartTime,
      );
    }
  }
  const communities = s.communities ?? [];
  if (communities.length > 0 && (s.prefixAdvertisements ?? []).length === 0) {
    issues.add(
      at("communities"),
      "communities are defined but not used: add prefixAdvertisements that reference them",
    );
  }
  const names = new Set(communities.map((c) => c.name));
  (s.prefixAdvertisements ?? []).forEach((pa, i) => {
    (pa.communities ?? []).forEach((c, j) => {
      if (names.has(c)) return;
      if (/^\d+(:\d+){1,2}$/.test(c)) {
        const bad = checkCommunity(c);
        if (bad !== undefined) issues.add(at("prefixAdvertisements", i, "communities", j), bad, c);
        return;
      }
      issues.add(
        at("prefixAdvertisements", i, "communities", j),
        "must name a community defined in spec.communities or be a literal aa:nn / aa:nn:mm",
        c,
      );
    });
  });
  if (res.metadata.name !== "default") {
    for (const f of DEFAULT_ONLY) {
      const v = s[f];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      issues.add(
        at(f),
        `can only be set on the BGPConfiguration named "default" (this is ${res.metadata.name})`,
        v,
      );
    }
  }
}

export const bgpConfigurationKind: KindDef = {
  kind: "BGPConfiguration",
  listKind: "BGPConfigurationList",
  plural: "bgpconfigurations",
  singular: "bgpconfiguration",
  aliases: ["bgpconfiguration", "bgpconfigurations", "bgpconfig", "bgpconfigs"],
  namespaced: false,
  shortNames: ["bgpconfig", "bgpconfigs"],
  spec: bgpConfigurationSpecSchema as ObjectSchema,
  validate,
  table: {
    columns: ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
    wide: ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
    cell(res, column) {
      const s = res.spec as BGPConfigurationSpec;
      switch (column) {
        case "NAME":
          return res.metadata.name;
        case "LOGSEVERITY":
          return s.logSeverityScreen ?? "";
        case "MESHENABLED":
          // calicoctl's template `{{if .Spec.NodeToNodeMeshEnabled}}` tests the pointer, so false prints "false".
          return s.nodeToNodeMeshEnabled === undefined ? "-" : String(s.nodeToNodeMeshEnabled);
        case "ASNUMBER":
          return s.asNumber === undefined ? "-" : String(s.asNumber);
        default:
          return "";
      }
    },
  },
};
