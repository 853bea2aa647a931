// Long-lived graceful restart (RFC 9494) in the RIB: a kept path gains LLGR_STALE (NO_LLGR ones go),
// loses to any other path whatever its LOCAL_PREF, and is not sent to peers without LLGR.
import { describe, expect, it } from "vitest";
import { LLGR_STALE, NO_LLGR, selectBest } from "../../../../bgp/rib/best-path.js";
import { exportPath } from "../../../../bgp/rib/export.js";
import { LocRib, Path } from "../../../../bgp/rib/loc-rib.js";
import { AttrTable } from "../../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../../bgp/rib/prefix-key.js";
import { markLongLivedStale } from "../../../../bgp/speaker/long-lived-stale.js";
import { attrs, peer } from "./helpers.js";

const a = peer(1, "ebgp", "10.0.0.1");
const b = peer(2, "ebgp", "10.0.0.2");
const key = keyFromString("203.0.113.0/24");

describe("LLGR in the RIB", () => {
  it("marks kept paths LLGR_STALE and drops NO_LLGR ones", () => {
    const plain = attrs({ asPath: [65001], communities: [100] });
    const marked = markLongLivedStale(plain)!;
    expect(marked.communities).toEqual([100, LLGR_STALE]);
    expect(markLongLivedStale(marked)).toBe(marked);
    expect(markLongLivedStale(attrs({ communities: [NO_LLGR] }))).toBeUndefined();

    const rib = new LocRib(new AttrTable());
    rib.update(a, "ipv4", key, 0, plain);
    rib.update(a, "ipv4", keyFromString("198.51.100.0/24"), 0, attrs({ communities: [NO_LLGR] }));
    rib.markStale(a, ["ipv4"]);
    expect(rib.rewritePeer(a, ["ipv4"], markLongLivedStale)).toBe(1);
    expect(rib.best("ipv4", key)?.attrs.communities).toContain(LLGR_STALE);
    expect(rib.best("ipv4", key)?.stale).toBe(true);
    expect(rib.best("ipv4", keyFromString("198.51.100.0/24"))).toBeUndefined();
    expect(rib.staleCountOf(a)).toBe(1);
    expect(rib.sweepStale(a, ["ipv4"])).toBe(1);
    expect(rib.countOf(a, "ipv4")).toBe(0);
  });

  it("a long-lived stale path loses to any other, before LOCAL_PREF", () => {
    const stale = new Path(a, key, 0, markLongLivedStale(attrs({ localPref: 500 }))!, true);
    const fresh = new Path(b, key, 0, attrs({ localPref: 50, asPath: [1, 2, 3] }), false);
    expect(selectBest([stale, fresh])).toBe(1);
    expect(selectBest([fresh, stale])).toBe(0);
  });

  it("is sent only to peers that announced LLGR", () => {
    const stale = new Path(a, key, 0, markLongLivedStale(attrs({ asPath: [65001] }))!, true);
    const target = {
      type: "ebgp" as const,
      localAs: 65000,
      routerId: "10.0.0.9",
      clusterId: "10.0.0.9",
      rrClient: false,
      nextHopMode: "auto" as const,
      localAddress: { ipv4: "10.0.0.9" },
      fourOctetAs: true,
    };
    expect(exportPath(stale, "ipv4", target, undefined)).toBeUndefined();
    expect(exportPath(stale, "ipv4", { ...target, llgr: true }, undefined)?.communities).toContain(
      LLGR_STALE,
    );
  });
});
