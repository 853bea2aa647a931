/**
 * The speaker's best paths, as felix wants them: destination, next hop and the kernel metric Calico
 * derives from LOCAL_PREF (calico_kernel_programming: krt_metric = 2^31-1 - bgp_local_pref, with BIRD's
 * default LOCAL_PREF 100 for eBGP routes, which carry none). Locally originated paths are ours and are
 * not programmed. Kept as a map updated per best-path change, so a pass costs nothing per unchanged
 * route; `list()` is cached until the next change. No I/O.
 */

import type { Path } from "../../bgp/rib/loc-rib.js";
import { keyToString, type PrefixKey } from "../../bgp/rib/prefix-key.js";
import type { BgpRouteInput } from "../../felix/model/inputs.js";

const BIRD_INT_MAX = 2147483647;
const DEFAULT_LOCAL_PREF = 100;

export function kernelMetric(localPref: number | undefined): number {
  return Math.max(0, BIRD_INT_MAX - (localPref ?? DEFAULT_LOCAL_PREF));
}

export class LearnedRoutes {
  private readonly routes = new Map<string, BgpRouteInput>();
  private cached: readonly BgpRouteInput[] | undefined;
  /** Changes since the last `list()`, for the agent's counters. */
  changes = 0;

  /** Applies one best-path change; true when what felix would program changed. */
  update(key: PrefixKey, best: Path | undefined): boolean {
    const dst = keyToString(key);
    const next =
      best === undefined || best.peer.type === "local" || best.attrs.nextHop === ""
        ? undefined
        : { dst, nextHop: best.attrs.nextHop, metric: kernelMetric(best.attrs.localPref) };
    const had = this.routes.get(dst);
    if (next === undefined) {
      if (had === undefined) return false;
      this.routes.delete(dst);
    } else {
      if (had !== undefined && had.nextHop === next.nextHop && had.metric === next.metric) return false;
      this.routes.set(dst, next);
    }
    this.cached = undefined;
    this.changes++;
    return true;
  }

  get size(): number {
    return this.routes.size;
  }

  list(): readonly BgpRouteInput[] {
    this.cached ??= [...this.routes.values()];
    return this.cached;
  }
}
