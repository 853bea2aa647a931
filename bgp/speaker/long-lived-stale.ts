/**
 * Long-lived graceful restart as the helper (RFC 9494 §4.3), the pure parts: how long each family of a
 * restarting peer's routes is kept once its restart time is over (the stale time it announced, capped
 * by ours), and what a kept path becomes (LLGR_STALE added; a path marked NO_LLGR is not kept).
 */
import { LLGR_STALE, NO_LLGR } from "../rib/best-path.js";
import { buildPathAttrs, type PathAttrs } from "../rib/path-attrs.js";
import type { Family } from "../rib/prefix-key.js";
import type { Negotiated } from "../session/negotiate.js";

/** Per family, the seconds the peer's routes stay LLGR_STALE; empty when LLGR was not agreed. */
export function longLivedStaleTimes(n: Negotiated, localMaxSec: number | undefined): Map<Family, number> {
  const out = new Map<Family, number>();
  if (
    !n.localLongLivedGracefulRestart ||
    n.longLivedGracefulRestart === undefined ||
    localMaxSec === undefined
  )
    return out;
  for (const [f, sec] of n.longLivedGracefulRestart) {
    const t = Math.min(sec, localMaxSec);
    if (t > 0 && n.families.has(f)) out.set(f, t);
  }
  return out;
}

/** The attributes of a path kept past the restart time, or undefined when it must go (NO_LLGR). */
export function markLongLivedStale(a: PathAttrs): PathAttrs | undefined {
  if (a.communities.includes(NO_LLGR)) return undefined;
  if (a.communities.includes(LLGR_STALE)) return a;
  const communities = [...a.communities, LLGR_STALE];
  const rest = a.attrs.filter((x) => x.kind !== "communities");
  return buildPathAttrs(
    [...rest, { kind: "communities", code: 8, flags: 0xc0, communities }],
    a.nextHop,
    a.nextHopLinkLocal,
  );
}

/** Families grouped by their stale time, so that one timer serves each group. */
export function byStaleTime(times: ReadonlyMap<Family, number>): Map<number, Family[]> {
  const out = new Map<number, Family[]>();
  for (const [f, t] of times) out.set(t, [...(out.get(t) ?? []), f]);
  return out;
}
