/**
 * Attribute rules a speaker applies to what it received before using or passing it on, kept next to
 * the codec because they are about attribute bytes, not policy:
 * - RFC 6793 §4.2.3: the real AS path and aggregator of a route from a 2-octet ("OLD") peer, merging
 *   AS4_PATH and AS4_AGGREGATOR (which are ignored when AGGREGATOR names a real 2-octet AS).
 * - RFC 4271 §5 / §9.1.2.2: unknown optional transitive attributes travel on with the Partial bit set;
 *   unknown non-transitive ones, and malformed ones, stop here.
 */
import { type AsPathSegment, mergeAs4Path } from "./as-path.js";
import type { PathAttribute } from "./attributes.js";
import { AS_TRANS, AttrFlag } from "./constants.js";

export interface As4View {
  readonly asPath: readonly AsPathSegment[];
  readonly aggregator?: { readonly as: number; readonly address: string };
}

/** The effective AS_PATH and AGGREGATOR of attributes received on a session (`fourOctetAs` as negotiated). */
export function reconcileAs4(attrs: readonly PathAttribute[], fourOctetAs: boolean): As4View {
  let asPath: readonly AsPathSegment[] = [];
  let as4Path: readonly AsPathSegment[] | undefined;
  let aggregator: As4View["aggregator"];
  let as4Aggregator: As4View["aggregator"];
  for (const a of attrs) {
    if (a.kind === "as-path") asPath = a.segments;
    else if (a.kind === "as4-path") as4Path = a.segments;
    else if (a.kind === "aggregator") aggregator = { as: a.as, address: a.address };
    else if (a.kind === "as4-aggregator") as4Aggregator = { as: a.as, address: a.address };
  }
  // A NEW speaker never needs the AS4_* attributes of a NEW peer (RFC 6793 §4.2.1).
  if (fourOctetAs) return { asPath, ...(aggregator ? { aggregator } : {}) };
  // §4.2.3: AGGREGATOR with a real 2-octet AS means the route was aggregated by an OLD speaker after the
  // AS4_* attributes were attached: both are stale.
  if (aggregator !== undefined && aggregator.as !== AS_TRANS) return { asPath, aggregator };
  const merged = as4Path === undefined ? asPath : mergeAs4Path(asPath, as4Path);
  const agg = as4Aggregator ?? aggregator;
  return { asPath: merged, ...(agg ? { aggregator: agg } : {}) };
}

const OPAQUE_KINDS = new Set<PathAttribute["kind"]>(["unknown", "malformed"]);

/**
 * The attributes to pass on to another peer: known ones unchanged, unknown optional transitive ones
 * with Partial set, unknown non-transitive and malformed ones dropped. (Which known attributes to
 * rewrite or strip on export, e.g. LOCAL_PREF to eBGP, is the speaker's business.)
 */
export function forwardableAttributes(attrs: readonly PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = [];
  for (const a of attrs) {
    if (!OPAQUE_KINDS.has(a.kind)) {
      out.push(a);
    } else if (
      a.kind === "unknown" &&
      (a.flags & AttrFlag.Optional) !== 0 &&
      (a.flags & AttrFlag.Transitive) !== 0
    ) {
      out.push({ ...a, flags: a.flags | AttrFlag.Partial });
    }
  }
  return out;
}
