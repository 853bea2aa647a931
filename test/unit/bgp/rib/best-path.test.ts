// RFC 4271 §9.1.2.2 and RFC 4456 §9: each tie-breaker decides when the ones before it are equal.
import { describe, expect, it } from "vitest";
import { type Candidate, selectBest } from "../../../../bgp/rib/best-path.js";
import { type AttrOpts, attrs } from "./helpers.js";

function cand(
  o: AttrOpts & { source?: Candidate["source"]; routerId?: string; address?: string; stale?: boolean } = {},
): Candidate {
  return {
    attrs: attrs(o),
    source: o.source ?? "ebgp",
    peerRouterId: o.routerId ?? "10.0.0.9",
    peerAddress: o.address ?? "10.0.0.9",
    stale: o.stale ?? false,
  };
}

const pick = (...c: Candidate[]) => selectBest(c);

describe("best path selection", () => {
  it("no path, one path", () => {
    expect(selectBest([])).toBe(-1);
    expect(selectBest([cand()])).toBe(0);
  });
  it("highest LOCAL_PREF (100 when absent)", () => {
    expect(pick(cand({ localPref: 90, asPath: [1] }), cand({ asPath: [1, 2, 3] }))).toBe(1);
    expect(pick(cand({ localPref: 100 }), cand({ localPref: 200, asPath: [1, 2, 3, 4] }))).toBe(1);
  });
  it("locally originated before learned", () => {
    expect(pick(cand({ asPath: [] }), cand({ source: "local", asPath: [1] }))).toBe(1);
  });
  it("shortest AS_PATH, a set counting one", () => {
    expect(pick(cand({ asPath: [1, 2] }), cand({ asPath: [3] }))).toBe(1);
    const set = { ...cand(), attrs: { ...attrs({ asPath: [1] }), asPathLength: 2 } };
    expect(pick(set, cand({ asPath: [5, 6, 7] }))).toBe(0);
  });
  it("lowest ORIGIN", () => {
    expect(pick(cand({ origin: 2 }), cand({ origin: 1 }), cand({ origin: 2 }))).toBe(1);
  });
  it("lowest MED only among paths from the same neighbour AS", () => {
    // Same neighbour AS 100: MED decides.
    expect(
      pick(
        cand({ asPath: [100], med: 20, routerId: "1.1.1.1" }),
        cand({ asPath: [100], med: 10, routerId: "9.9.9.9" }),
      ),
    ).toBe(1);
    // Different neighbour ASes: MED is not compared; the router id decides.
    expect(
      pick(
        cand({ asPath: [100], med: 20, routerId: "1.1.1.1" }),
        cand({ asPath: [200], med: 10, routerId: "9.9.9.9" }),
      ),
    ).toBe(0);
    // Three paths (RFC's elimination): the AS 100 path with MED 50 is out, then router id among the rest.
    const r = pick(
      cand({ asPath: [100], med: 50, routerId: "1.1.1.1" }),
      cand({ asPath: [200], med: 1, routerId: "3.3.3.3" }),
      cand({ asPath: [100], med: 5, routerId: "2.2.2.2" }),
    );
    expect(r).toBe(2);
    // Missing MED counts as 0.
    expect(pick(cand({ asPath: [100], med: 5 }), cand({ asPath: [100], routerId: "9.9.9.9" }))).toBe(1);
  });
  it("eBGP over iBGP", () => {
    expect(
      pick(cand({ source: "ibgp", routerId: "1.1.1.1" }), cand({ source: "ebgp", routerId: "9.9.9.9" })),
    ).toBe(1);
  });
  it("fresh over stale, then lowest router id, ORIGINATOR_ID in its place", () => {
    expect(pick(cand({ stale: true, routerId: "1.1.1.1" }), cand({ routerId: "9.9.9.9" }))).toBe(1);
    expect(pick(cand({ routerId: "10.0.0.2" }), cand({ routerId: "10.0.0.1" }))).toBe(1);
    expect(
      pick(
        cand({ source: "ibgp", routerId: "10.0.0.1", originatorId: "10.9.9.9" }),
        cand({ source: "ibgp", routerId: "10.0.0.5" }),
      ),
    ).toBe(1);
  });
  it("shortest CLUSTER_LIST, then lowest peer address", () => {
    expect(
      pick(
        cand({ source: "ibgp", routerId: "1.1.1.1", clusterList: ["1.1.1.1", "2.2.2.2"] }),
        cand({ source: "ibgp", routerId: "1.1.1.1", clusterList: ["3.3.3.3"] }),
      ),
    ).toBe(1);
    expect(
      pick(
        cand({ routerId: "1.1.1.1", address: "10.0.0.20" }),
        cand({ routerId: "1.1.1.1", address: "10.0.0.3" }),
      ),
    ).toBe(1);
    expect(
      pick(
        cand({ routerId: "1.1.1.1", address: "fd00::20" }),
        cand({ routerId: "1.1.1.1", address: "fd00::3" }),
      ),
    ).toBe(1);
  });
});
