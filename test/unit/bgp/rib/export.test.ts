// What a best path becomes towards each kind of peer (RFC 4271 §5.1/§9.2, RFC 4456, RFC 1997, RFC 6793).
import { describe, expect, it } from "vitest";
import type { PathAttribute } from "../../../../bgp/codec/attributes.js";
import { compilePolicy } from "../../../../bgp/policy/policy.js";
import { type ExportTarget, exportPath, mayAdvertise } from "../../../../bgp/rib/export.js";
import { Path } from "../../../../bgp/rib/loc-rib.js";
import type { PathAttrs } from "../../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../../bgp/rib/prefix-key.js";
import { type AttrOpts, attrs, peer } from "./helpers.js";

const EBGP_FROM = peer(1, "ebgp", "10.1.0.1", "1.1.1.1");
const IBGP_CLIENT = peer(2, "ibgp", "10.0.0.5", "5.5.5.5", true);
const IBGP_NONCLIENT = peer(3, "ibgp", "10.0.0.6", "6.6.6.6", false);
const LOCAL = peer(0, "local", "", "10.0.0.1");
const K = keyFromString("192.0.2.0/24");

const target = (o: Partial<ExportTarget> = {}): ExportTarget => ({
  type: "ebgp",
  localAs: 65001,
  routerId: "10.0.0.1",
  clusterId: "10.0.0.100",
  rrClient: false,
  nextHopMode: "auto",
  localAddress: { ipv4: "10.0.0.1", ipv6: "fd00::1" },
  fourOctetAs: true,
  ...o,
});

const path = (from: typeof EBGP_FROM, o: AttrOpts = {}) => new Path(from, K, 0, attrs(o), false);
const get = <K extends PathAttribute["kind"]>(p: PathAttrs | undefined, kind: K) =>
  p?.attrs.find((a) => a.kind === kind) as Extract<PathAttribute, { kind: K }> | undefined;

describe("who may receive a route", () => {
  it("NO_ADVERTISE goes nowhere; NO_EXPORT and NO_EXPORT_SUBCONFED stay inside the AS", () => {
    expect(mayAdvertise(path(EBGP_FROM, { communities: [0xffffff02] }), target({ type: "ibgp" }))).toBe(
      false,
    );
    for (const c of [0xffffff01, 0xffffff03]) {
      expect(mayAdvertise(path(EBGP_FROM, { communities: [c] }), target())).toBe(false);
      expect(mayAdvertise(path(EBGP_FROM, { communities: [c] }), target({ type: "ibgp" }))).toBe(true);
    }
  });

  it("iBGP split horizon, and route reflection: client routes to all, non-client routes to clients only", () => {
    expect(mayAdvertise(path(IBGP_NONCLIENT), target({ type: "ibgp" }))).toBe(false);
    expect(mayAdvertise(path(IBGP_NONCLIENT), target({ type: "ibgp", rrClient: true }))).toBe(true);
    expect(mayAdvertise(path(IBGP_CLIENT), target({ type: "ibgp" }))).toBe(true);
    expect(mayAdvertise(path(IBGP_NONCLIENT), target())).toBe(true); // iBGP routes go to eBGP peers
  });
});

describe("attributes on the way out", () => {
  it("to eBGP: our AS prepended, next hop self, no LOCAL_PREF / ORIGINATOR_ID / CLUSTER_LIST, no foreign MED", () => {
    const out = exportPath(
      path(IBGP_CLIENT, {
        asPath: [65010],
        localPref: 200,
        med: 5,
        originatorId: "5.5.5.5",
        clusterList: ["9.9.9.9"],
      }),
      "ipv4",
      target(),
      undefined,
    )!;
    expect(get(out, "as-path")?.segments).toEqual([{ type: 2, asns: [65001, 65010] }]);
    expect(out.nextHop).toBe("10.0.0.1");
    expect(get(out, "next-hop")?.nextHop).toBe("10.0.0.1");
    for (const k of ["local-pref", "originator-id", "cluster-list", "med"] as const)
      expect(get(out, k)).toBeUndefined();
    // Our own routes keep the MED policy gave them.
    expect(
      get(exportPath(path(LOCAL, { med: 7, nextHop: "" }), "ipv4", target(), undefined), "med")?.med,
    ).toBe(7);
  });

  it("to iBGP: next hop kept (auto), LOCAL_PREF added, AS path unchanged; next-hop self on request", () => {
    const out = exportPath(
      path(EBGP_FROM, { asPath: [65010], nextHop: "10.1.0.1" }),
      "ipv4",
      target({ type: "ibgp" }),
      undefined,
    )!;
    expect(out.nextHop).toBe("10.1.0.1");
    expect(get(out, "local-pref")?.localPref).toBe(100);
    expect(get(out, "as-path")?.segments).toEqual([{ type: 2, asns: [65010] }]);
    expect(
      exportPath(
        path(EBGP_FROM, { nextHop: "10.1.0.1" }),
        "ipv4",
        target({ type: "ibgp", nextHopMode: "self" }),
        undefined,
      )?.nextHop,
    ).toBe("10.0.0.1");
  });

  it("to eBGP on a shared subnet: a next hop on that subnet is kept (third-party, RFC 4271 §5.1.3), others and our own routes get ours", () => {
    const shared = target({ sharedSubnet: { ipv4: "10.0.0.0/24" } });
    // A block learned over the mesh from 10.0.0.5 goes to the ToR with 10.0.0.5 as its next hop.
    expect(exportPath(path(IBGP_CLIENT, { nextHop: "10.0.0.5" }), "ipv4", shared, undefined)?.nextHop).toBe(
      "10.0.0.5",
    );
    // Off the shared subnet, or with no shared subnet (a multihop peer): next hop self.
    expect(exportPath(path(EBGP_FROM, { nextHop: "10.1.0.1" }), "ipv4", shared, undefined)?.nextHop).toBe(
      "10.0.0.1",
    );
    expect(exportPath(path(IBGP_CLIENT, { nextHop: "10.0.0.5" }), "ipv4", target(), undefined)?.nextHop).toBe(
      "10.0.0.1",
    );
    // Our own routes and an explicit next-hop self are ours regardless.
    expect(exportPath(path(LOCAL, { nextHop: "" }), "ipv4", shared, undefined)?.nextHop).toBe("10.0.0.1");
    expect(
      exportPath(
        path(IBGP_CLIENT, { nextHop: "10.0.0.5" }),
        "ipv4",
        { ...shared, nextHopMode: "self" },
        undefined,
      )?.nextHop,
    ).toBe("10.0.0.1");
  });

  it("reflecting: ORIGINATOR_ID set once, our cluster id prepended", () => {
    const out = exportPath(
      path(IBGP_CLIENT, { clusterList: ["10.0.0.200"] }),
      "ipv4",
      target({ type: "ibgp", rrClient: true }),
      undefined,
    )!;
    expect(get(out, "originator-id")?.originatorId).toBe("5.5.5.5");
    expect(get(out, "cluster-list")?.clusterList).toEqual(["10.0.0.100", "10.0.0.200"]);
    const kept = exportPath(
      path(IBGP_CLIENT, { originatorId: "7.7.7.7" }),
      "ipv4",
      target({ type: "ibgp" }),
      undefined,
    )!;
    expect(get(kept, "originator-id")?.originatorId).toBe("7.7.7.7");
  });

  it("locally originated routes always use our address; without one for the family they are not sent", () => {
    expect(
      exportPath(path(LOCAL, { nextHop: "" }), "ipv6", target({ type: "ibgp" }), undefined)?.nextHop,
    ).toBe("fd00::1");
    expect(
      exportPath(
        path(LOCAL, { nextHop: "" }),
        "ipv6",
        target({ localAddress: { ipv4: "10.0.0.1" } }),
        undefined,
      ),
    ).toBeUndefined();
  });

  it("to a 2-octet peer: AS4_PATH and AS4_AGGREGATOR carry the 4-octet ASes (RFC 6793 §4.2.2)", () => {
    const agg: PathAttribute = {
      kind: "aggregator",
      code: 7,
      flags: 0xc0,
      as: 4200000009,
      address: "10.9.9.9",
    };
    const out = exportPath(
      path(EBGP_FROM, { asPath: [4200000002], extra: [agg] }),
      "ipv4",
      target({ fourOctetAs: false, localAs: 4200000001 }),
      undefined,
    )!;
    expect(get(out, "as4-path")?.segments).toEqual([{ type: 2, asns: [4200000001, 4200000002] }]);
    expect(get(out, "aggregator")?.as).toBe(23456);
    expect(get(out, "as4-aggregator")?.as).toBe(4200000009);
    expect(
      get(
        exportPath(path(EBGP_FROM, { asPath: [65002] }), "ipv4", target({ fourOctetAs: false }), undefined),
        "as4-path",
      ),
    ).toBeUndefined();
  });

  it("unknown transitive attributes go on with Partial set; non-transitive ones stop", () => {
    const extra: PathAttribute[] = [
      { kind: "unknown", code: 99, flags: 0xc0, value: Uint8Array.of(1) },
      { kind: "unknown", code: 98, flags: 0x80, value: Uint8Array.of(2) },
    ];
    const out = exportPath(path(EBGP_FROM, { extra }), "ipv4", target(), undefined)!;
    expect(out.attrs.filter((a) => a.kind === "unknown")).toEqual([
      { kind: "unknown", code: 99, flags: 0xe0, value: Uint8Array.of(1) },
    ]);
  });

  it("export policy runs last, on the rewritten attributes", () => {
    const policy = compilePolicy({
      name: "out",
      defaultAction: "accept",
      rules: [
        {
          match: { prefixes: [{ prefix: "192.0.2.0/24" }] },
          set: { addCommunities: ["65001:42"], prependAs: { as: 65001, count: 2 } },
          action: "accept",
        },
      ],
    });
    const out = exportPath(path(LOCAL, { nextHop: "" }), "ipv4", target(), policy)!;
    expect(out.communities).toEqual([65001 * 65536 + 42]);
    expect(get(out, "as-path")?.segments).toEqual([{ type: 2, asns: [65001, 65001, 65001] }]);
    const deny = compilePolicy({ name: "deny", defaultAction: "reject", rules: [] });
    expect(exportPath(path(LOCAL, { nextHop: "" }), "ipv4", target(), deny)).toBeUndefined();
  });
});
