/**
 * Import and export policy: an ordered list of rules, each a match (prefix with length range,
 * community, large community, peer type, family, AS in path) and what to do (set LOCAL_PREF or MED,
 * add or remove communities, prepend the AS path, then accept, reject or go on to the next rule), with
 * a default at the end. Policies compile to pure functions over (prefix, attributes); a policy that
 * never looks at the prefix is marked so, and the RIB evaluates it once per attribute set instead of
 * once per prefix. Calico's BGPFilter maps onto this later. RFC 8212: the speaker gives eBGP peers
 * without a configured policy `REJECT_ALL`.
 */
import { SegmentType } from "../codec/as-path.js";
import type { PathAttribute } from "../codec/attributes.js";
import { WELL_KNOWN_COMMUNITIES } from "../codec/constants.js";
import { buildPathAttrs, type PathAttrs } from "../rib/path-attrs.js";
import { type Family, keyFromString, keyWithin, type PrefixKey } from "../rib/prefix-key.js";

export interface PrefixMatch {
  readonly prefix: string;
  /** Accepted prefix lengths; default exactly the prefix's own length. */
  readonly ge?: number;
  readonly le?: number;
}

export interface RuleMatch {
  readonly prefixes?: readonly PrefixMatch[];
  /** Any of these communities ("65000:100" or a well-known name). */
  readonly communities?: readonly string[];
  /** Any of these large communities ("g:l1:l2"). */
  readonly largeCommunities?: readonly string[];
  readonly source?: readonly ("local" | "ebgp" | "ibgp")[];
  readonly family?: Family;
  readonly asPathContains?: number;
}

export interface RuleSet {
  readonly localPref?: number;
  readonly med?: number;
  readonly addCommunities?: readonly string[];
  readonly removeCommunities?: readonly string[];
  readonly addLargeCommunities?: readonly string[];
  /** Prepend this AS `count` times (AS defaults to the local AS, filled in by the speaker). */
  readonly prependAs?: { readonly as: number; readonly count: number };
}

export interface Rule {
  readonly match?: RuleMatch;
  readonly set?: RuleSet;
  /** What to do after `set` when the match holds; omitted = go on to the next rule. */
  readonly action?: "accept" | "reject";
}

export interface Policy {
  readonly name: string;
  readonly rules: readonly Rule[];
  readonly defaultAction: "accept" | "reject";
}

export const ACCEPT_ALL: Policy = { name: "ACCEPT_ALL", rules: [], defaultAction: "accept" };
export const REJECT_ALL: Policy = { name: "REJECT_ALL", rules: [], defaultAction: "reject" };

export interface RouteView {
  readonly key: PrefixKey;
  readonly family: Family;
  readonly attrs: PathAttrs;
  readonly source: "local" | "ebgp" | "ibgp";
}

/** undefined = rejected; otherwise the (possibly rewritten) attributes. */
export type PolicyResult = PathAttrs | undefined;

export interface CompiledPolicy {
  readonly name: string;
  /** True when no rule matches on the prefix: the result depends only on attributes and source. */
  readonly prefixIndependent: boolean;
  evaluate(r: RouteView): PolicyResult;
}

const brand: unique symbol = Symbol.for("tabby.error") as never;

export class PolicyError extends Error {
  readonly [brand] = true;
  readonly code = "BGP_POLICY";
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

const COMMUNITY_BY_NAME = new Map([...WELL_KNOWN_COMMUNITIES].map(([v, n]) => [n, v]));

export function parseCommunity(s: string, field = "community"): number {
  const named = COMMUNITY_BY_NAME.get(s.toUpperCase().replace(/-/g, "_"));
  if (named !== undefined) return named;
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m || Number(m[1]) > 0xffff || Number(m[2]) > 0xffff)
    throw new PolicyError(
      field,
      `${JSON.stringify(s)} is not asn:value (each 0..65535) or a well-known community name`,
    );
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function parseLargeCommunity(s: string, field = "largeCommunity"): [number, number, number] {
  const m = /^(\d+):(\d+):(\d+)$/.exec(s);
  if (!m || [m[1], m[2], m[3]].some((x) => Number(x) > 0xffffffff))
    throw new PolicyError(field, `${JSON.stringify(s)} is not global:local1:local2 (each 0..4294967295)`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

type CompiledMatch = (r: RouteView) => boolean;

function compileMatch(m: RuleMatch | undefined, field: string): { test: CompiledMatch; usesPrefix: boolean } {
  if (m === undefined) return { test: () => true, usesPrefix: false };
  const tests: CompiledMatch[] = [];
  if (m.prefixes !== undefined) {
    const ranges = m.prefixes.map((p, i) => {
      let key: PrefixKey;
      try {
        key = keyFromString(p.prefix);
      } catch (e) {
        throw new PolicyError(`${field}.prefixes[${i}].prefix`, (e as Error).message);
      }
      const len = Number(p.prefix.split("/")[1]);
      const max = typeof key === "number" ? 32 : 128;
      const ge = p.ge ?? len;
      const le = p.le ?? (p.ge !== undefined ? max : len);
      if (ge < len || le < ge || le > max)
        throw new PolicyError(
          `${field}.prefixes[${i}]`,
          `need ${len} <= ge <= le <= ${max} (ge ${ge}, le ${le})`,
        );
      return { key, ge, le };
    });
    tests.push((r) => {
      const len = typeof r.key === "number" ? r.key % 64 : Number(r.key.split("/")[1]);
      return ranges.some((x) => len >= x.ge && len <= x.le && keyWithin(r.key, x.key));
    });
  }
  if (m.communities !== undefined) {
    const cs = m.communities.map((c, i) => parseCommunity(c, `${field}.communities[${i}]`));
    tests.push((r) => cs.some((c) => r.attrs.communities.includes(c)));
  }
  if (m.largeCommunities !== undefined) {
    const ls = m.largeCommunities.map((c, i) => parseLargeCommunity(c, `${field}.largeCommunities[${i}]`));
    tests.push((r) => {
      const lc = r.attrs.largeCommunities;
      for (let i = 0; i < lc.length; i += 3)
        if (ls.some(([g, a, b]) => lc[i] === g && lc[i + 1] === a && lc[i + 2] === b)) return true;
      return false;
    });
  }
  if (m.source !== undefined) {
    const s = new Set(m.source);
    tests.push((r) => s.has(r.source));
  }
  if (m.family !== undefined) tests.push((r) => r.family === m.family);
  if (m.asPathContains !== undefined) {
    const as = m.asPathContains;
    tests.push((r) => r.attrs.asPath.some((seg) => seg.asns.includes(as)));
  }
  return { test: (r) => tests.every((t) => t(r)), usesPrefix: m.prefixes !== undefined };
}

/** Applies `set` to an attribute list (pure; returns a new list). */
export function applySet(attrs: readonly PathAttribute[], set: RuleSet, field = "set"): PathAttribute[] {
  let out = [...attrs];
  const replace = (kind: PathAttribute["kind"], a: PathAttribute | undefined) => {
    const i = out.findIndex((x) => x.kind === kind);
    if (a === undefined) {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = a;
    else out.push(a);
  };
  if (set.localPref !== undefined)
    replace("local-pref", { kind: "local-pref", code: 5, flags: 0x40, localPref: set.localPref });
  if (set.med !== undefined) replace("med", { kind: "med", code: 4, flags: 0x80, med: set.med });
  if (set.addCommunities !== undefined || set.removeCommunities !== undefined) {
    const cur = out.find((x) => x.kind === "communities");
    let list = cur?.kind === "communities" ? [...cur.communities] : [];
    const remove = new Set(
      (set.removeCommunities ?? []).map((c, i) => parseCommunity(c, `${field}.removeCommunities[${i}]`)),
    );
    list = list.filter((c) => !remove.has(c));
    for (const [i, c] of (set.addCommunities ?? []).entries()) {
      const v = parseCommunity(c, `${field}.addCommunities[${i}]`);
      if (!list.includes(v)) list.push(v);
    }
    replace(
      "communities",
      list.length === 0
        ? undefined
        : { kind: "communities", code: 8, flags: cur?.flags ?? 0xc0, communities: list },
    );
  }
  if (set.addLargeCommunities !== undefined) {
    const cur = out.find((x) => x.kind === "large-communities");
    const list = cur?.kind === "large-communities" ? [...cur.communities] : [];
    for (const [i, c] of set.addLargeCommunities.entries()) {
      const [g, a, b] = parseLargeCommunity(c, `${field}.addLargeCommunities[${i}]`);
      let present = false;
      for (let k = 0; k < list.length; k += 3)
        if (list[k] === g && list[k + 1] === a && list[k + 2] === b) present = true;
      if (!present) list.push(g, a, b);
    }
    replace("large-communities", {
      kind: "large-communities",
      code: 32,
      flags: cur?.flags ?? 0xc0,
      communities: list,
    });
  }
  if (set.prependAs !== undefined && set.prependAs.count > 0) {
    const cur = out.find((x) => x.kind === "as-path");
    const segs = cur?.kind === "as-path" ? cur.segments : [];
    const extra = new Array<number>(set.prependAs.count).fill(set.prependAs.as);
    const first = segs[0];
    const segments =
      first && first.type === SegmentType.AsSequence && first.asns.length + extra.length <= 255
        ? [{ type: SegmentType.AsSequence, asns: [...extra, ...first.asns] }, ...segs.slice(1)]
        : [{ type: SegmentType.AsSequence, asns: extra }, ...segs];
    replace("as-path", { kind: "as-path", code: 2, flags: cur?.flags ?? 0x40, segments });
  }
  out = out.filter((x) => x !== undefined);
  return out;
}

export function compilePolicy(p: Policy): CompiledPolicy {
  const rules = p.rules.map((r, i) => {
    const field = `policies.${p.name}.rules[${i}]`;
    const m = compileMatch(r.match, `${field}.match`);
    if (r.set !== undefined) applySet([], r.set, `${field}.set`); // validate now, not at the first route
    return { ...m, set: r.set, action: r.action };
  });
  const prefixIndependent = rules.every((r) => !r.usesPrefix);
  return {
    name: p.name,
    prefixIndependent,
    evaluate(r: RouteView): PolicyResult {
      let attrs = r.attrs;
      let view = r;
      for (const rule of rules) {
        if (!rule.test(view)) continue;
        if (rule.set !== undefined) {
          attrs = buildPathAttrs(applySet(attrs.attrs, rule.set), attrs.nextHop, attrs.nextHopLinkLocal);
          view = { ...view, attrs };
        }
        if (rule.action === "accept") return attrs;
        if (rule.action === "reject") return undefined;
      }
      return p.defaultAction === "accept" ? attrs : undefined;
    },
  };
}
