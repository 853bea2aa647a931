/**
 * Calico BGPFilter rules as bgp/policy rules, with the semantics confd renders into BIRD
 * (confd/pkg/resource/template/template_funcs.go `filterStatement`): rules in order, first accept or
 * reject wins; a rule's conditions are ANDed; `peerType` rules apply only to iBGP or only to eBGP
 * sessions (decided here, per session); v4 lists apply to IPv4 routes, v6 lists to IPv6 routes.
 * NotEqual / NotIn have no negation in our Policy model, so they become the exact complement as a list
 * of prefix ranges (every length outside the range, plus the siblings along the CIDR's path).
 * Conditions tabby cannot evaluate: `interface` (tabby imports no kernel routes, so no route has one:
 * the rule never matches and is dropped, reported); `asPathPrefix` and `priority` (no such match in
 * bgp/policy): in an Accept rule the rule is dropped (fewer routes accepted), in a Reject rule the
 * session is shut down (we cannot honour a reject). Both are reported. Pure.
 */
import type { PrefixMatch, Rule, RuleMatch, RuleSet } from "../../bgp/policy/policy.js";
import type { Family } from "../../bgp/rib/prefix-key.js";
import type { BGPFilterRule, BGPFilterSpec } from "../api/bgpfilter.js";
import { bitsOf, type Cidr, formatCidr, type IpFamily, networkOf, parseCidr } from "../api/net.js";

/** 2^31-1: Calico maps a route priority (kernel metric) p to LOCAL_PREF 2^31-1-p and back. */
export const BIRD_INT_MAX = 2147483647;

export interface FilterIssue {
  /** "BGPFilter <name> exportV4[2]: ..." */
  readonly reason: string;
  /** ignored: the rule is left out and the session runs; shutdown: the session cannot honour it. */
  readonly effect: "ignored" | "shutdown";
}

export interface FilterRules {
  readonly rules: readonly Rule[];
  readonly issues: readonly FilterIssue[];
}

const familyOf = (f: IpFamily): Family => (f === 4 ? "ipv4" : "ipv6");

/** All prefixes of `family` in `[lo, hi]` that lie within `c` (BIRD `net ~ [c{lo,hi}]`). */
function rangeWithin(c: Cidr, lo: number, hi: number): PrefixMatch[] {
  return lo > hi ? [] : [{ prefix: formatCidr(c), ge: lo, le: hi }];
}

/** The exact complement of rangeWithin(c, lo, hi) within the family. */
export function complementOf(c: Cidr, lo: number, hi: number): PrefixMatch[] {
  const bits = bitsOf(c.family);
  const zero = formatCidr({ family: c.family, addr: 0n, prefixLen: 0 });
  if (lo > hi) return [{ prefix: zero, ge: 0, le: bits }];
  const out: PrefixMatch[] = [];
  if (lo > 0) out.push({ prefix: zero, ge: 0, le: lo - 1 });
  if (hi < bits) out.push({ prefix: zero, ge: hi + 1, le: bits });
  // Lengths in [lo, hi] outside c: within one of the siblings met on the way down to c.
  for (let i = 1; i <= c.prefixLen; i++) {
    const bit = 1n << BigInt(bits - i);
    const sibling = { family: c.family, addr: c.addr ^ bit, prefixLen: i };
    out.push({ prefix: formatCidr(sibling), ge: lo, le: hi });
  }
  return out;
}

function prefixesOf(r: BGPFilterRule, family: IpFamily): PrefixMatch[] | string {
  const c = parseCidr(r.cidr ?? "");
  if (c === undefined || c.family !== family)
    return `cidr ${JSON.stringify(r.cidr)} is not an IPv${family} CIDR`;
  const bits = bitsOf(family);
  const net = networkOf(c);
  // confd: `[cidr{max(len,min), min(bits,max)}]`; prefixLength only narrows In / NotIn (with Equal BIRD
  // would compare a prefix with a set, which never holds, so we read Equal as the exact prefix).
  const lo = Math.max(c.prefixLen, r.prefixLength?.min ?? 0);
  const hi = Math.min(bits, r.prefixLength?.max ?? bits);
  switch (r.matchOperator) {
    case "Equal":
      return rangeWithin(net, c.prefixLen, c.prefixLen);
    case "NotEqual":
      return complementOf(net, c.prefixLen, c.prefixLen);
    case "In":
      return rangeWithin(net, lo, hi);
    case "NotIn":
      return complementOf(net, lo, hi);
    default:
      return `matchOperator ${JSON.stringify(r.matchOperator)} is not Equal, NotEqual, In or NotIn`;
  }
}

function setsOf(r: BGPFilterRule): RuleSet[] | string {
  const sets: RuleSet[] = [];
  for (const [i, op] of (r.operations ?? []).entries()) {
    if (op.addCommunity !== undefined) {
      const v = op.addCommunity.value;
      const parts = v.split(":").length;
      if (parts === 2) sets.push({ addCommunities: [v] });
      else if (parts === 3) sets.push({ addLargeCommunities: [v] });
      else return `operations[${i}].addCommunity: ${JSON.stringify(v)} is not a community`;
    } else if (op.prependASPath !== undefined) {
      // BIRD prepends one AS at a time from the last, so the path ends up starting with prefix[0].
      const asns = [...op.prependASPath.prefix].reverse();
      for (let k = 0; k < asns.length; ) {
        let n = 1;
        while (k + n < asns.length && asns[k + n] === asns[k]) n++;
        sets.push({ prependAs: { as: Number(asns[k]), count: n } });
        k += n;
      }
    } else if (op.setPriority !== undefined) {
      sets.push({ localPref: BIRD_INT_MAX - op.setPriority.value });
    } else return `operations[${i}] sets nothing`;
  }
  return sets;
}

/**
 * One BGPFilter rule as policy rules: the sets of its operations, each a rule without action on the
 * same match (the match still holds after a set: it never looks at the AS path or removes communities),
 * the last carrying the action. [] when the rule does not apply to this session or never matches.
 */
function convertRule(
  r: BGPFilterRule,
  where: string,
  family: IpFamily,
  sameAs: boolean,
): { rules: Rule[]; issue?: FilterIssue } {
  if ((r.peerType === "iBGP" && !sameAs) || (r.peerType === "eBGP" && sameAs)) return { rules: [] };
  const action = r.action === "Accept" ? "accept" : r.action === "Reject" ? "reject" : undefined;
  if (action === undefined)
    return {
      rules: [],
      issue: { reason: `${where}: action ${JSON.stringify(r.action)}`, effect: "shutdown" },
    };
  const unsupported = (what: string): { rules: Rule[]; issue: FilterIssue } => ({
    rules: [],
    issue:
      action === "accept"
        ? { reason: `${where}: ${what} is not supported; the Accept rule is ignored`, effect: "ignored" }
        : { reason: `${where}: ${what} is not supported; cannot honour the Reject rule`, effect: "shutdown" },
  });
  if (r.interface)
    return {
      rules: [],
      issue: {
        reason: `${where}: interface ${JSON.stringify(r.interface)} never matches (tabby imports no kernel routes); rule ignored`,
        effect: "ignored",
      },
    };
  if ((r.asPathPrefix ?? []).length > 0) return unsupported("asPathPrefix");
  if (r.priority !== undefined) return unsupported("priority");
  const match: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = { family: familyOf(family) };
  if (r.cidr || r.matchOperator) {
    const p = prefixesOf(r, family);
    if (typeof p === "string") return unsupported(p);
    if (p.length === 0) return { rules: [] }; // an empty prefix-length range: never matches
    match.prefixes = p;
  }
  if (r.source === "RemotePeers") match.source = ["ebgp", "ibgp"];
  else if (r.source !== undefined) return unsupported(`source ${JSON.stringify(r.source)}`);
  const community = r.communities?.values[0];
  if (community !== undefined) {
    if (community.split(":").length === 3) match.largeCommunities = [community];
    else match.communities = [community];
  }
  const sets = setsOf(r);
  if (typeof sets === "string") return unsupported(sets);
  if (sets.length === 0) return { rules: [{ match, action }] };
  return {
    rules: sets.map((set, i) => (i === sets.length - 1 ? { match, set, action } : { match, set })),
  };
}

/** The rules of one BGPFilter for one direction, for both families, on an iBGP or eBGP session. */
export function filterRules(
  name: string,
  spec: BGPFilterSpec,
  direction: "import" | "export",
  sameAs: boolean,
): FilterRules {
  const rules: Rule[] = [];
  const issues: FilterIssue[] = [];
  for (const family of [4, 6] as const) {
    const list = `${direction}V${family}` as const;
    for (const [i, r] of (spec[list] ?? []).entries()) {
      const out = convertRule(r, `BGPFilter ${name} ${list}[${i}]`, family, sameAs);
      rules.push(...out.rules);
      if (out.issue) issues.push(out.issue);
    }
  }
  return { rules, issues };
}
