/**
 * What this node announces and what it lets through to its peers, after confd's bird_aggr.cfg /
 * bird_ipam.cfg (calico-bgp-cni.md §1.7, §1.8): `calico_export_to_bgp_peers` as policy rules (reject
 * pools with disableBGPExport; accept this node's confirmed blocks exactly and reject what lies beneath
 * them; accept the service ranges; on a route reflector also LB/external ranges; accept anything inside
 * another pool; the caller's default is reject), and the prefixes to originate (the blocks, borrowed
 * /32 and /128 addresses, the service ranges) with the communities of `prefixAdvertisements` and
 * LOCAL_PREF 2^31-1-priority as Calico v3.32+ sends. Skipped: BIRD's ifname rejects (tabby learns no
 * kernel routes) and the "elevated priority /32 escapes the block" rule (no kernel metric here). Pure.
 */

import type { PrefixMatch, Rule } from "../../bgp/policy/policy.js";
import type { OriginateConfig } from "../../bgp/speaker/config.js";
import type { BGPConfigurationSpec } from "../api/bgpconfig.js";
import { checkCommunity } from "../api/formats.js";
import { bitsOf, type Cidr, formatCidr, networkOf, parseCidr } from "../api/net.js";

export interface ExportInputs {
  readonly pools: readonly { readonly cidr: Cidr; readonly disableBGPExport: boolean }[];
  /** This node's affine blocks in state confirmed (or without a state). */
  readonly blocks: readonly Cidr[];
  /** Service ranges advertised from this node (confd's /calico/staticroutes). */
  readonly serviceRoutes: readonly Cidr[];
  /** Only on a route reflector: serviceLoadBalancerIPs and serviceExternalIPs, to reflect per-service routes. */
  readonly reflectedRanges: readonly Cidr[];
}

/** `c` and everything inside it (BIRD `net ~ c`). */
const within = (c: Cidr): PrefixMatch => ({ prefix: formatCidr(c), ge: c.prefixLen, le: bitsOf(c.family) });

const byText = (a: Cidr, b: Cidr) =>
  a.family - b.family || (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : a.prefixLen - b.prefixLen);

/** calico_export_to_bgp_peers as rules, for after the BGPFilter export rules; default reject. */
export function calicoExportRules(x: ExportInputs): Rule[] {
  const rules: Rule[] = [];
  const disabled = x.pools.filter((p) => p.disableBGPExport).map((p) => within(p.cidr));
  if (disabled.length > 0) rules.push({ match: { prefixes: disabled }, action: "reject" });
  // calico_aggr(): the blocks are disjoint, so one accept and one reject rule are the per-block pairs.
  const blocks = [...x.blocks].sort(byText);
  if (blocks.length > 0) {
    rules.push({ match: { prefixes: blocks.map((b) => ({ prefix: formatCidr(b) })) }, action: "accept" });
    const beneath = blocks
      .filter((b) => b.prefixLen < bitsOf(b.family))
      .map((b) => ({ prefix: formatCidr(b), ge: b.prefixLen + 1, le: bitsOf(b.family) }));
    if (beneath.length > 0) rules.push({ match: { prefixes: beneath }, action: "reject" });
  }
  const accepted = [...x.serviceRoutes, ...x.reflectedRanges].sort(byText).map(within);
  if (accepted.length > 0) rules.push({ match: { prefixes: accepted }, action: "accept" });
  const enabled = x.pools
    .filter((p) => !p.disableBGPExport)
    .map((p) => p.cidr)
    .sort(byText)
    .map(within);
  if (enabled.length > 0) rules.push({ match: { prefixes: enabled }, action: "accept" });
  return rules;
}

export interface Advertisement {
  readonly cidr: Cidr;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
}

/**
 * prefixAdvertisements with community names resolved against the same resource's `communities`
 * (confd getPrefixAdvertisementsKVPair); an unknown name or bad CIDR is reported and skipped.
 */
export function resolveAdvertisements(
  spec: BGPConfigurationSpec,
  where: string,
): { advertisements: Advertisement[]; issues: string[] } {
  const named = new Map((spec.communities ?? []).map((c) => [c.name ?? "", c.value ?? ""]));
  const advertisements: Advertisement[] = [];
  const issues: string[] = [];
  for (const [i, pa] of (spec.prefixAdvertisements ?? []).entries()) {
    const cidr = parseCidr(pa.cidr ?? "");
    if (cidr === undefined) {
      issues.push(`${where}: spec.prefixAdvertisements[${i}].cidr: ${JSON.stringify(pa.cidr)} is not a CIDR`);
      continue;
    }
    const std: string[] = [];
    const large: string[] = [];
    for (const [j, c] of (pa.communities ?? []).entries()) {
      const value = /^\d+(:\d+){1,2}$/.test(c) ? c : named.get(c);
      if (value === undefined || checkCommunity(value) !== undefined) {
        issues.push(
          `${where}: spec.prefixAdvertisements[${i}].communities[${j}]: ${JSON.stringify(c)} is not a community or a name in spec.communities`,
        );
        continue;
      }
      const list = value.split(":").length === 3 ? large : std;
      if (!list.includes(value)) list.push(value);
    }
    advertisements.push({ cidr: networkOf(cidr), communities: std, largeCommunities: large });
  }
  return { advertisements, issues };
}

/** Whether prefix `p` lies within `c` (BIRD `net ~ c`). */
function inside(p: Cidr, c: Cidr): boolean {
  if (p.family !== c.family || p.prefixLen < c.prefixLen) return false;
  const shift = BigInt(bitsOf(c.family) - c.prefixLen);
  return p.addr >> shift === c.addr >> shift;
}

export interface OriginateInputs {
  readonly prefixes: readonly Cidr[];
  readonly advertisements: readonly Advertisement[];
  /** LOCAL_PREF per family: 2^31-1 - the normal route priority (1024 unless BGPConfiguration says). */
  readonly localPref: { readonly 4: number; readonly 6: number };
}

/** The originated prefixes, deduplicated and sorted, each with the communities that cover it. */
export function computeOriginate(x: OriginateInputs): OriginateConfig[] {
  const seen = new Set<string>();
  const out: OriginateConfig[] = [];
  for (const p of [...x.prefixes].map(networkOf).sort(byText)) {
    const prefix = formatCidr(p);
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    const communities = new Set<string>();
    const large = new Set<string>();
    for (const a of x.advertisements) {
      if (!inside(p, a.cidr)) continue;
      for (const c of a.communities) communities.add(c);
      for (const c of a.largeCommunities) large.add(c);
    }
    out.push({
      prefix,
      localPref: x.localPref[p.family],
      ...(communities.size > 0 ? { communities: [...communities] } : {}),
      ...(large.size > 0 ? { largeCommunities: [...large] } : {}),
    });
  }
  return out;
}
