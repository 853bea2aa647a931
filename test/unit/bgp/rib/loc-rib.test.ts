import { describe, expect, it } from "vitest";
import { LocRib } from "../../../../bgp/rib/loc-rib.js";
import { AttrTable } from "../../../../bgp/rib/path-attrs.js";
import { keyFromString, keyToString } from "../../../../bgp/rib/prefix-key.js";
import { attrs, peer } from "./helpers.js";

const A = peer(1, "ebgp", "10.0.0.2", "2.2.2.2");
const B = peer(2, "ebgp", "10.0.0.3", "3.3.3.3");
const K = keyFromString("192.0.2.0/24");
const K2 = keyFromString("198.51.100.0/24");

describe("Loc-RIB", () => {
  it("keeps the best path per prefix as paths arrive, change and leave, and reports each change once", () => {
    const rib = new LocRib(new AttrTable());
    expect(rib.update(A, "ipv4", K, 0, attrs({ asPath: [65002, 1] }))).toBe(true);
    expect(rib.update(B, "ipv4", K, 0, attrs({ asPath: [65003] }))).toBe(true);
    expect(rib.best("ipv4", K)?.peer).toBe(B);
    // A replaces its path with a shorter one: still B wins on router id? no, A's is now equal length and lower id.
    rib.update(A, "ipv4", K, 0, attrs({ asPath: [65002] }));
    expect(rib.best("ipv4", K)?.peer).toBe(A);
    const changes = rib.drainChanges("ipv4");
    expect(changes.map((d) => keyToString(d.key))).toEqual(["192.0.2.0/24"]);
    expect(rib.drainChanges("ipv4")).toEqual([]);
    expect(rib.update(A, "ipv4", K, 0, undefined)).toBe(true);
    expect(rib.best("ipv4", K)?.peer).toBe(B);
    expect(rib.update(A, "ipv4", K, 0, undefined)).toBe(false);
    rib.update(B, "ipv4", K, 0, undefined);
    expect(rib.dest("ipv4", K)).toBeUndefined();
    expect(rib.countOf(A, "ipv4")).toBe(0);
  });

  it("keeps ADD-PATH paths of one peer apart by path id", () => {
    const rib = new LocRib(new AttrTable());
    rib.update(A, "ipv4", K, 1, attrs({ asPath: [65002, 9] }));
    rib.update(A, "ipv4", K, 2, attrs({ asPath: [65002] }));
    expect(rib.dest("ipv4", K)?.paths).toHaveLength(2);
    expect(rib.best("ipv4", K)?.pathId).toBe(2);
    rib.update(A, "ipv4", K, 2, undefined);
    expect(rib.best("ipv4", K)?.pathId).toBe(1);
    expect(rib.countOf(A, "ipv4")).toBe(1);
  });

  it("shares equal attribute sets and forgets them when unused", () => {
    const table = new AttrTable();
    const rib = new LocRib(table);
    rib.update(A, "ipv4", K, 0, attrs({ communities: [1] }));
    rib.update(A, "ipv4", K2, 0, attrs({ communities: [1] }));
    expect(rib.best("ipv4", K)?.attrs).toBe(rib.best("ipv4", K2)?.attrs);
    expect(table.size).toBe(1);
    rib.removePeer(A);
    expect(table.size).toBe(0);
  });

  it("graceful restart: marks a peer's paths stale, keeps them usable, sweeps what was not refreshed", () => {
    const rib = new LocRib(new AttrTable());
    rib.update(A, "ipv4", K, 0, attrs());
    rib.update(A, "ipv4", K2, 0, attrs());
    rib.update(B, "ipv6", keyFromString("2001:db8::/32"), 0, attrs());
    expect(rib.markStale(A, ["ipv4"])).toBe(2);
    expect(rib.staleCountOf(A)).toBe(2);
    expect(rib.best("ipv4", K)?.stale).toBe(true);
    rib.update(A, "ipv4", K, 0, attrs({ med: 1 })); // refreshed after the restart
    expect(rib.staleCountOf(A)).toBe(1);
    expect(rib.sweepStale(A, ["ipv4"])).toBe(1);
    expect(rib.best("ipv4", K2)).toBeUndefined();
    expect(rib.best("ipv4", K)?.stale).toBe(false);
    expect(rib.size("ipv6")).toBe(1);
  });
});
