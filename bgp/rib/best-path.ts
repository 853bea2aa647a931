/**
 * The BGP decision process, phase 2 (RFC 4271 §9.1.2.2), as a sequence of eliminations so that MED is
 * compared only among paths from the same neighbour AS, as the RFC intends (pairwise comparators get
 * this wrong with three or more paths). Steps: highest LOCAL_PREF (100 when absent), locally originated
 * first, shortest AS_PATH (sets count one, confederation segments none), lowest ORIGIN, lowest MED per
 * neighbour AS (absent = 0), eBGP over iBGP, lowest BGP identifier or ORIGINATOR_ID (RFC 4456 §9),
 * shortest CLUSTER_LIST, lowest peer address. IGP cost is not used (next hops are on-link or resolved
 * by the dataplane). Pure.
 */
import { parseIp } from "../codec/ip.js";
import type { PathAttrs } from "./path-attrs.js";

export interface Candidate {
  readonly attrs: PathAttrs;
  /** The source: "local" for routes we originate. */
  readonly source: "local" | "ebgp" | "ibgp";
  /** BGP identifier of the peer it came from ("0.0.0.0" for local). */
  readonly peerRouterId: string;
  /** Address of the peer it came from ("" for local). */
  readonly peerAddress: string;
  /** Stale after the peer restarted (RFC 4724): still usable, but a fresh path of equal rank wins. */
  readonly stale: boolean;
}

const DEFAULT_LOCAL_PREF = 100;
/** RFC 9494 well-known communities. */
export const LLGR_STALE = 0xffff0006;
export const NO_LLGR = 0xffff0007;

function ipv4Number(s: string): number {
  const p = s.split(".");
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0 || 0;
}

/** Compares addresses of either family as text of fixed width, so that lower means lower. */
function addressRank(a: string): string {
  if (a === "") return "0";
  try {
    const bytes = parseIp(a);
    return `${bytes.length === 4 ? 4 : 6}${Buffer.from(bytes).toString("hex")}`;
  } catch {
    return `9${a}`;
  }
}

function keepMin<T>(list: T[], value: (x: T) => number): T[] {
  let min = Number.POSITIVE_INFINITY;
  for (const x of list) min = Math.min(min, value(x));
  return list.filter((x) => value(x) === min);
}

/** Index of the best candidate, or -1 when there is none. */
export function selectBest(paths: readonly Candidate[]): number {
  if (paths.length <= 1) return paths.length - 1;
  let c = paths.map((_, i) => i);
  const p = (i: number) => paths[i]!;
  // RFC 9494 §4.2: a long-lived stale path loses to any other, before LOCAL_PREF is looked at.
  c = keepMin(c, (i) => (p(i).attrs.communities.includes(LLGR_STALE) ? 1 : 0));
  c = keepMin(c, (i) => -(p(i).attrs.localPref ?? DEFAULT_LOCAL_PREF));
  c = keepMin(c, (i) => (p(i).source === "local" ? 0 : 1));
  c = keepMin(c, (i) => p(i).attrs.asPathLength);
  c = keepMin(c, (i) => p(i).attrs.origin);
  if (c.length > 1) {
    // MED only among paths from the same neighbour AS.
    const minMed = new Map<number | undefined, number>();
    for (const i of c) {
      const as = p(i).attrs.neighborAs;
      minMed.set(as, Math.min(minMed.get(as) ?? Number.POSITIVE_INFINITY, p(i).attrs.med ?? 0));
    }
    c = c.filter((i) => (p(i).attrs.med ?? 0) === minMed.get(p(i).attrs.neighborAs));
  }
  c = keepMin(c, (i) => (p(i).source === "ibgp" ? 1 : 0));
  c = keepMin(c, (i) => (p(i).stale ? 1 : 0));
  c = keepMin(c, (i) => ipv4Number(p(i).attrs.originatorId ?? p(i).peerRouterId));
  c = keepMin(c, (i) => p(i).attrs.clusterList.length);
  if (c.length > 1) {
    const ranked = c
      .map((i) => ({ i, r: addressRank(p(i).peerAddress) }))
      .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0));
    return ranked[0]!.i;
  }
  return c[0]!;
}
