/**
 * The attributes of a path as the RIB uses them: the received attribute list (minus MP_REACH /
 * MP_UNREACH, whose NLRI live in the RIB maps), the next hop, and the fields the decision process and
 * export rules read, precomputed once. Attribute sets are interned by their bytes, so the 1,000
 * prefixes of one UPDATE, and every UPDATE with the same attributes, share one object; the intern table
 * counts references and forgets a set when no path uses it. Pure apart from the table.
 */
import { type AsPathSegment, countAs, firstAs, pathLength } from "../codec/as-path.js";
import { type AttrContext, encodeAttribute, type PathAttribute } from "../codec/attributes.js";

export interface PathAttrs {
  /** Attributes in wire order, without MP_REACH_NLRI / MP_UNREACH_NLRI (NEXT_HOP kept for IPv4). */
  readonly attrs: readonly PathAttribute[];
  /** The next hop (IPv4 NEXT_HOP or MP_REACH global); "" for locally originated routes. */
  readonly nextHop: string;
  readonly nextHopLinkLocal?: string;
  readonly origin: number;
  readonly asPath: readonly AsPathSegment[];
  readonly asPathLength: number;
  /** Leftmost AS of the path (the neighbour AS for MED comparison); undefined for an empty path. */
  readonly neighborAs: number | undefined;
  /** LOCAL_PREF if present. */
  readonly localPref: number | undefined;
  readonly med: number | undefined;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly number[];
  readonly originatorId: string | undefined;
  readonly clusterList: readonly string[];
  /** Interning key and reference count (managed by AttrTable). */
  readonly key: string;
  refs: number;
}

function attr<K extends PathAttribute["kind"]>(
  attrs: readonly PathAttribute[],
  kind: K,
): Extract<PathAttribute, { kind: K }> | undefined {
  for (const a of attrs) if (a.kind === kind) return a as Extract<PathAttribute, { kind: K }>;
  return undefined;
}

/** Interning key: the canonical 4-octet encoding of the attributes plus the next hop. */
function keyOf(
  attrs: readonly PathAttribute[],
  nextHop: string,
  nextHopLinkLocal: string | undefined,
): string {
  const ctx: AttrContext = { fourOctetAs: true };
  let s = `${nextHop}|${nextHopLinkLocal ?? ""}|`;
  for (const a of attrs) s += Buffer.from(encodeAttribute(a, ctx)).toString("latin1");
  return s;
}

export function buildPathAttrs(
  attrs: readonly PathAttribute[],
  nextHop: string,
  nextHopLinkLocal?: string,
): PathAttrs {
  const kept = attrs.filter(
    (a) => a.kind !== "mp-reach" && a.kind !== "mp-unreach" && a.kind !== "malformed",
  );
  const asPath = attr(kept, "as-path")?.segments ?? [];
  return {
    attrs: kept,
    nextHop,
    ...(nextHopLinkLocal !== undefined ? { nextHopLinkLocal } : {}),
    origin: attr(kept, "origin")?.origin ?? 2,
    asPath,
    asPathLength: pathLength(asPath),
    neighborAs: firstAs(asPath),
    localPref: attr(kept, "local-pref")?.localPref,
    med: attr(kept, "med")?.med,
    communities: attr(kept, "communities")?.communities ?? [],
    largeCommunities: attr(kept, "large-communities")?.communities ?? [],
    originatorId: attr(kept, "originator-id")?.originatorId,
    clusterList: attr(kept, "cluster-list")?.clusterList ?? [],
    key: keyOf(kept, nextHop, nextHopLinkLocal),
    refs: 0,
  };
}

export const hasCommunity = (p: PathAttrs, c: number) => p.communities.includes(c);
export const asPathContains = (p: PathAttrs, as: number) => countAs(p.asPath, as);

/** Shares equal attribute sets between paths. */
export class AttrTable {
  private readonly table = new Map<string, PathAttrs>();

  /** The shared instance equal to `p` (not yet referenced: call `ref`). */
  intern(p: PathAttrs): PathAttrs {
    const have = this.table.get(p.key);
    if (have !== undefined) return have;
    this.table.set(p.key, p);
    return p;
  }

  ref(p: PathAttrs): void {
    p.refs++;
  }

  unref(p: PathAttrs): void {
    p.refs--;
    if (p.refs <= 0 && this.table.get(p.key) === p) this.table.delete(p.key);
  }

  get size(): number {
    return this.table.size;
  }
}
