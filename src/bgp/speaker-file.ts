/**
 * The YAML file of `tabby bgp run --config speaker.yaml`: the speaker's identity, listener, peers,
 * policies and originated prefixes (bgp/speaker/config.ts), plus where this process serves status and
 * metrics. Every problem is reported with file, line and field (src/util/yaml-config.ts), e.g.
 * `speaker.yaml:14:11: peers[1].holdTimeSec: must be 0 or 3..65535 (value 2)`. docs/bgp-speaker.md
 * documents every field.
 */

import { isIP } from "node:net";
import { BFD_LIMITS, type BfdConfig } from "../../bgp/bfd/binding.js";
import type { Policy, PrefixMatch, Rule, RuleMatch, RuleSet } from "../../bgp/policy/policy.js";
import { compilePolicy } from "../../bgp/policy/policy.js";
import { keyFromString } from "../../bgp/rib/prefix-key.js";
import { ROLES } from "../../bgp/rib/roles.js";
import type {
  AddPathSend,
  MaxPrefixes,
  OriginateConfig,
  PeerConfig,
  SpeakerConfig,
} from "../../bgp/speaker/config.js";
import { parseAsNumber } from "../api/asn.js";
import {
  ConfigFieldError,
  type FieldPath,
  FieldReader,
  loadYamlConfig,
  parseYamlConfig,
} from "../util/yaml-config.js";

export interface SpeakerFile {
  readonly speaker: SpeakerConfig;
  /** Unix socket for `tabby bgp peers` / `rib`. */
  readonly statusSocket: string;
  /** host:port for Prometheus metrics, or undefined for none. */
  readonly metricsListen: string | undefined;
  readonly logLevel: string;
}

export const DEFAULT_STATUS_SOCKET = "/var/run/tabby/bgp.sock";
const FAMILIES = ["ipv4", "ipv6"] as const;

function ip(r: FieldReader, key: string, family?: 4 | 6): string {
  const v = r.string(key);
  const f = isIP(v);
  if (f === 0 || (family !== undefined && f !== family))
    throw r.fail(key, `must be an IP${family ? `v${family}` : ""} address`, v);
  return v;
}

function optionalIp(r: FieldReader, key: string, family?: 4 | 6): string | undefined {
  return r.optional(key, () => ip(r, key, family));
}

function asn(r: FieldReader, key: string): number {
  const v = r.raw(key);
  if (v === undefined || v === null) throw r.fail(key, "is required");
  const parsed = parseAsNumber(v);
  if ("rule" in parsed) throw r.fail(key, parsed.rule, v);
  if (parsed.asn === 0) throw r.fail(key, "AS 0 is reserved (RFC 7607)", v);
  return parsed.asn;
}

function holdTime(r: FieldReader, key: string): number | undefined {
  return r.optional(key, () => {
    const v = r.int(key, { min: 0, max: 65535 });
    if (v === 1 || v === 2) throw r.fail(key, "must be 0 or 3..65535 (RFC 4271 §4.2)", v);
    return v;
  });
}

function optionalInt(r: FieldReader, key: string, min: number, max: number): number | undefined {
  return r.optional(key, () => r.int(key, { min, max }));
}

function strings(r: FieldReader, key: string): string[] | undefined {
  return r.optional(key, () =>
    r.list(key, (item, path) => {
      if (typeof item !== "string" || item === "")
        throw new ConfigFieldError(path, "must be a non-empty string", item);
      return item;
    }),
  );
}

/** `maxPrefixes: { ipv4: { limit, warningPercent, action, restartAfterSeconds }, ipv6: {...} }`. */
function decodeMaxPrefixes(r: FieldReader): Partial<Record<"ipv4" | "ipv6", MaxPrefixes>> | undefined {
  return r.optional("maxPrefixes", () =>
    r.object("maxPrefixes", (m) => {
      const one = (f: "ipv4" | "ipv6") =>
        m.optional(f, () =>
          m.object(f, (l) => {
            const action = l.optional("action", () =>
              l.oneOf("action", ["restart", "shutdown", "warn"] as const),
            );
            const restartAfterSeconds = optionalInt(l, "restartAfterSeconds", 1, 604800);
            if (restartAfterSeconds !== undefined && action !== undefined && action !== "restart")
              throw l.fail("restartAfterSeconds", `only applies to action restart (action is ${action})`);
            return {
              // RFC 4486 §4 carries the limit in 4 octets.
              limit: l.int("limit", { min: 1, max: 0xffffffff }),
              ...opt("warningPercent", optionalInt(l, "warningPercent", 1, 100)),
              ...opt("action", action),
              ...opt("restartAfterSeconds", restartAfterSeconds),
            };
          }),
        );
      return { ...opt("ipv4", one("ipv4")), ...opt("ipv6", one("ipv6")) };
    }),
  );
}

/** `bfd: { minRxMs, minTxMs, multiplier }` (each optional; `bfd: {}` = BIRD/FRR defaults 300/300/3). */
function decodeBfd(r: FieldReader): BfdConfig | undefined {
  return r.optional("bfd", () =>
    r.object("bfd", (b) => {
      const out: Record<string, number> = {};
      for (const [k, min, max] of BFD_LIMITS) {
        const v = optionalInt(b, k, min, max);
        if (v !== undefined) out[k] = v;
      }
      return out as BfdConfig;
    }),
  );
}

/** `addPathSend: all` or `addPathSend: N` (the best N paths). */
function decodeAddPathSend(r: FieldReader): AddPathSend | undefined {
  return r.optional("addPathSend", () => {
    if (r.raw("addPathSend") === "all") return "all" as const;
    if (typeof r.raw("addPathSend") !== "number")
      throw r.fail("addPathSend", 'must be "all" or a number of paths (the best N)', r.raw("addPathSend"));
    return { best: r.int("addPathSend", { min: 1, max: 64 }) };
  });
}

function decodePeer(raw: unknown, path: FieldPath): PeerConfig {
  const r = new FieldReader(raw, path);
  const families = r.optional("families", () =>
    r.list("families", (f, p) => {
      if (f !== "ipv4" && f !== "ipv6") throw new ConfigFieldError(p, "must be ipv4 or ipv6", f);
      return f as "ipv4" | "ipv6";
    }),
  );
  const nextHopSelf = r.optional("nextHopSelf", () =>
    r.object("nextHopSelf", (n) => ({
      ...opt(
        "ipv4",
        n.optional("ipv4", () => ip(n, "ipv4", 4)),
      ),
      ...opt(
        "ipv6",
        n.optional("ipv6", () => ip(n, "ipv6", 6)),
      ),
    })),
  );
  const peer: PeerConfig = {
    address: ip(r, "address"),
    asn: asn(r, "asn"),
    ...opt("name", r.optionalString("name")),
    ...opt("port", optionalInt(r, "port", 1, 65535)),
    ...opt("localAddress", optionalIp(r, "localAddress")),
    ...opt("password", r.optionalString("password")),
    ...opt("ttl", optionalInt(r, "ttl", 1, 255)),
    ...opt("ttlSecurityHops", optionalInt(r, "ttlSecurityHops", 1, 254)),
    ...opt(
      "passive",
      r.optional("passive", () => r.bool("passive")),
    ),
    ...opt(
      "routeReflectorClient",
      r.optional("routeReflectorClient", () => r.bool("routeReflectorClient")),
    ),
    ...opt(
      "nextHop",
      r.optional("nextHop", () => r.oneOf("nextHop", ["self", "keep", "auto"] as const)),
    ),
    ...opt("nextHopSelf", nextHopSelf),
    ...opt("holdTimeSec", holdTime(r, "holdTimeSec")),
    ...opt("keepaliveSec", optionalInt(r, "keepaliveSec", 1, 21845)),
    ...opt("connectRetrySec", optionalInt(r, "connectRetrySec", 1, 65535)),
    ...opt("families", families),
    ...opt("importPolicy", r.optionalString("importPolicy")),
    ...opt("exportPolicy", r.optionalString("exportPolicy")),
    ...opt("allowOwnAs", optionalInt(r, "allowOwnAs", 0, 10)),
    ...opt(
      "addPathReceive",
      r.optional("addPathReceive", () => r.bool("addPathReceive")),
    ),
    ...opt("addPathSend", decodeAddPathSend(r)),
    ...opt(
      "gracefulRestart",
      r.optional("gracefulRestart", () => r.bool("gracefulRestart")),
    ),
    ...opt(
      "shutdown",
      r.optional("shutdown", () => r.bool("shutdown")),
    ),
    ...opt("maxPrefixes", decodeMaxPrefixes(r)),
    ...opt("bfd", decodeBfd(r)),
    ...opt(
      "role",
      r.optional("role", () => r.oneOf("role", ROLES)),
    ),
    ...opt(
      "roleStrict",
      r.optional("roleStrict", () => r.bool("roleStrict")),
    ),
  };
  for (const f of FAMILIES) {
    if (peer.maxPrefixes?.[f] !== undefined && peer.families !== undefined && !peer.families.includes(f))
      throw new ConfigFieldError([...path, "maxPrefixes", f], `the peer's families do not include ${f}`);
  }
  if (peer.roleStrict !== undefined && peer.role === undefined)
    throw r.fail("roleStrict", "needs role (the role we require the peer to pair with)");
  if (peer.ttl !== undefined && peer.ttlSecurityHops !== undefined)
    throw r.fail("ttlSecurityHops", "cannot be combined with ttl (GTSM always sends TTL 255)");
  if (peer.localAddress !== undefined && isIP(peer.localAddress) !== isIP(peer.address)) {
    throw r.fail("localAddress", "must be of the same family as address", peer.localAddress);
  }
  r.done();
  return peer;
}

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function decodeRule(raw: unknown, path: FieldPath): Rule {
  const r = new FieldReader(raw, path);
  const match = r.optional("match", () =>
    r.object("match", (m): RuleMatch => {
      const prefixes = m.optional("prefixes", () =>
        m.list("prefixes", (p, pp): PrefixMatch => {
          const pr = new FieldReader(p, pp);
          const prefix = pr.string("prefix");
          try {
            keyFromString(prefix);
          } catch (e) {
            throw pr.fail("prefix", (e as Error).message, prefix);
          }
          const out = {
            prefix,
            ...opt("ge", optionalInt(pr, "ge", 0, 128)),
            ...opt("le", optionalInt(pr, "le", 0, 128)),
          };
          pr.done();
          return out;
        }),
      );
      const source = m.optional("source", () =>
        m.list("source", (s, sp) => {
          if (s !== "local" && s !== "ebgp" && s !== "ibgp")
            throw new ConfigFieldError(sp, "must be local, ebgp or ibgp", s);
          return s as "local" | "ebgp" | "ibgp";
        }),
      );
      return {
        ...opt("prefixes", prefixes),
        ...opt("communities", strings(m, "communities")),
        ...opt("largeCommunities", strings(m, "largeCommunities")),
        ...opt("source", source),
        ...opt(
          "family",
          m.optional("family", () => m.oneOf("family", FAMILIES)),
        ),
        ...opt("asPathContains", optionalInt(m, "asPathContains", 1, 0xffffffff)),
      };
    }),
  );
  const set = r.optional("set", () =>
    r.object(
      "set",
      (s): RuleSet => ({
        ...opt("localPref", optionalInt(s, "localPref", 0, 0xffffffff)),
        ...opt("med", optionalInt(s, "med", 0, 0xffffffff)),
        ...opt("addCommunities", strings(s, "addCommunities")),
        ...opt("removeCommunities", strings(s, "removeCommunities")),
        ...opt("addLargeCommunities", strings(s, "addLargeCommunities")),
        ...opt(
          "prependAs",
          s.optional("prependAs", () =>
            s.object("prependAs", (p) => ({
              as: asn(p, "as"),
              count: p.int("count", { min: 1, max: 32 }),
            })),
          ),
        ),
      }),
    ),
  );
  const rule: Rule = {
    ...opt("match", match),
    ...opt("set", set),
    ...opt(
      "action",
      r.optional("action", () => r.oneOf("action", ["accept", "reject"] as const)),
    ),
  };
  r.done();
  return rule;
}

function decodePolicy(name: string, raw: unknown, path: FieldPath): Policy {
  const r = new FieldReader(raw, path);
  const p: Policy = {
    name,
    defaultAction: r.oneOf("defaultAction", ["accept", "reject"] as const, "reject"),
    rules: r.list("rules", decodeRule, []),
  };
  r.done();
  try {
    compilePolicy(p);
  } catch (e) {
    throw new ConfigFieldError(path, (e as Error).message);
  }
  return p;
}

function decodeOriginate(raw: unknown, path: FieldPath): OriginateConfig {
  const r = new FieldReader(raw, path);
  const prefix = r.string("prefix");
  try {
    keyFromString(prefix);
  } catch (e) {
    throw r.fail("prefix", (e as Error).message, prefix);
  }
  const o = {
    prefix,
    ...opt("communities", strings(r, "communities")),
    ...opt("largeCommunities", strings(r, "largeCommunities")),
    ...opt("med", optionalInt(r, "med", 0, 0xffffffff)),
    ...opt("localPref", optionalInt(r, "localPref", 0, 0xffffffff)),
  };
  r.done();
  return o;
}

export function decodeSpeakerFile(raw: unknown): SpeakerFile {
  const r = new FieldReader(raw);
  const routerId = ip(r, "routerId", 4);
  if (routerId === "0.0.0.0") throw r.fail("routerId", "must not be 0.0.0.0", routerId);
  const policiesRaw = r.raw("policies");
  const policies: Record<string, Policy> = {};
  if (policiesRaw !== undefined && policiesRaw !== null) {
    const pr = new FieldReader(policiesRaw, ["policies"]);
    for (const name of Object.keys(policiesRaw as object))
      policies[name] = decodePolicy(name, pr.raw(name), ["policies", name]);
  }
  const listenRaw = r.raw("listen");
  let listen: SpeakerConfig["listen"];
  if (listenRaw === false) listen = undefined;
  else if (listenRaw === undefined || listenRaw === null) listen = { address: "::", port: 179 };
  else {
    const l = new FieldReader(listenRaw, ["listen"]);
    listen = { address: ip(l, "address"), port: l.int("port", { min: 0, max: 65535 }, 179) };
    l.done();
  }
  const speaker: SpeakerConfig = {
    routerId,
    asn: asn(r, "asn"),
    ...opt("clusterId", optionalIp(r, "clusterId", 4)),
    ...opt("listen", listen),
    ...opt("holdTimeSec", holdTime(r, "holdTimeSec")),
    ...opt("connectRetrySec", optionalInt(r, "connectRetrySec", 1, 65535)),
    ...opt("hostname", r.optionalString("hostname")),
    ...opt(
      "gracefulRestart",
      r.optional("gracefulRestart", () =>
        r.object("gracefulRestart", (g) => ({
          restartTimeSec: g.int("restartTimeSec", { min: 1, max: 4095 }, 120),
          ...opt("longLivedStaleTimeSec", optionalInt(g, "longLivedStaleTimeSec", 1, 0xffffff)),
        })),
      ),
    ),
    ...opt(
      "idleHoldSec",
      r.optional("idleHoldSec", () =>
        r.object("idleHoldSec", (g) => ({
          initial: g.int("initial", { min: 1, max: 3600 }, 5),
          max: g.int("max", { min: 1, max: 3600 }, 120),
        })),
      ),
    ),
    peers: r.list("peers", decodePeer, []),
    policies,
    originate: r.list("originate", decodeOriginate, []),
  };
  const statusSocket =
    r.optional("status", () => r.object("status", (s) => s.string("socket", DEFAULT_STATUS_SOCKET))) ??
    DEFAULT_STATUS_SOCKET;
  const metricsListen = r.optional("metrics", () => r.object("metrics", (m) => m.optionalString("listen")));
  const logLevel = r.oneOf("logLevel", ["fatal", "error", "warn", "info", "debug", "trace"] as const, "info");
  r.done();
  // Cross-field rules, with the field that breaks them.
  const names = new Set([...Object.keys(policies), "ACCEPT_ALL", "REJECT_ALL"]);
  speaker.peers.forEach((p, i) => {
    for (const k of ["importPolicy", "exportPolicy"] as const) {
      if (p[k] !== undefined && !names.has(p[k]!))
        throw new ConfigFieldError(
          ["peers", i, k],
          `no policy named ${JSON.stringify(p[k])} under policies`,
          p[k],
        );
    }
    if (speaker.peers.findIndex((q) => q.address === p.address) !== i)
      throw new ConfigFieldError(["peers", i, "address"], "configured twice", p.address);
  });
  return { speaker, statusSocket, metricsListen, logLevel };
}

export function parseSpeakerFile(text: string, file: string): SpeakerFile {
  return parseYamlConfig(text, file, decodeSpeakerFile);
}

export function loadSpeakerFile(file: string): Promise<SpeakerFile> {
  return loadYamlConfig(file, decodeSpeakerFile);
}
