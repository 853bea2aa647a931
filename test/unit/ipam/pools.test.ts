import { describe, expect, it } from "vitest";
import { isIpamError } from "../../../ipam/errors.js";
import { formatCidr } from "../../../ipam/ip.js";
import {
  blockWalk,
  fnv32,
  maxPrefixLenFor,
  numBlocks,
  type PoolRequest,
  resolvePool,
  resolvePools,
  selectPools,
  walkPosition,
  walkStart,
} from "../../../ipam/pools.js";
import { match, pool } from "./helpers.js";

const req = (over: Partial<PoolRequest> = {}): PoolRequest => ({
  family: 4,
  use: "Workload",
  node: "n1",
  nodeLabels: { zone: "a" },
  ...over,
});

function select(pools: ReturnType<typeof pool>[], over: Partial<PoolRequest> = {}): string[] {
  return selectPools(resolvePools(pools), req(over), match).map((p) => p.name);
}

function failure(pools: ReturnType<typeof pool>[], over: Partial<PoolRequest> = {}): string {
  try {
    select(pools, over);
  } catch (e) {
    if (isIpamError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return "no error";
}

describe("ipam/pools: resolvePool applies clientv3's defaults", () => {
  it("blockSize 26/122, nodeSelector all(), allowedUses Workload+Tunnel, Automatic, modes Never", () => {
    const v4 = resolvePool(pool("a", "10.0.0.0/16"))!;
    expect(v4.blockSize).toBe(26);
    expect(v4.nodeSelector).toBe("all()");
    expect(v4.allowedUses).toEqual(["Workload", "Tunnel"]);
    expect(v4.assignmentMode).toBe("Automatic");
    expect(v4.ipipMode).toBe("Never");
    expect(resolvePool(pool("b", "fd00::/64"))!.blockSize).toBe(122);
    expect(resolvePool(pool("c", "nonsense"))).toBeUndefined();
  });

  it("sorts pools by name, as Calico's pool accessor does", () => {
    expect(resolvePools([pool("z", "10.1.0.0/16"), pool("a", "10.2.0.0/16")]).map((p) => p.name)).toEqual([
      "a",
      "z",
    ]);
  });
});

describe("ipam/pools: selectPools", () => {
  it("uses enabled pools of the requested family only", () => {
    const pools = [
      pool("v4", "10.0.0.0/16"),
      pool("off", "10.1.0.0/16", { disabled: true }),
      pool("v6", "fd00::/64"),
    ];
    expect(select(pools)).toEqual(["v4"]);
    expect(select(pools, { family: 6 })).toEqual(["v6"]);
  });

  it("fails with 'cannot find a qualified ippool' when no pool of the family is enabled", () => {
    expect(failure([pool("off", "10.1.0.0/16", { disabled: true })])).toMatch(
      /^IPAM_NO_POOLS: cannot find a qualified ippool: no enabled IPv4 pool for node n1/,
    );
  });

  it("skips pools whose blocks are too small for the host-reserved addresses (getMaxPrefixLen)", () => {
    expect(maxPrefixLenFor(4, 4)).toBe(29);
    expect(maxPrefixLenFor(6, 0)).toBe(128);
    const pools = [
      pool("tiny", "10.0.0.0/24", { blockSize: 30 }),
      pool("ok", "10.1.0.0/24", { blockSize: 28 }),
    ];
    expect(select(pools, { maxPrefixLen: 29 })).toEqual(["ok"]);
  });

  it("honours the nodeSelector", () => {
    const pools = [
      pool("a", "10.0.0.0/16", { nodeSelector: "zone == 'a'" }),
      pool("b", "10.1.0.0/16", { nodeSelector: "zone == 'b'" }),
    ];
    expect(select(pools)).toEqual(["a"]);
    expect(failure(pools, { nodeLabels: {} })).toBe("IPAM_NO_POOLS: no configured Calico pools for node n1");
  });

  it("honours the namespaceSelector, evaluated against no labels when the namespace is unknown", () => {
    const pools = [
      pool("ns", "10.0.0.0/16", { namespaceSelector: "team == 'x'" }),
      pool("any", "10.1.0.0/16"),
    ];
    expect(select(pools, { namespaceLabels: { team: "x" } })).toEqual(["any", "ns"]);
    expect(select(pools, { namespaceLabels: { team: "y" } })).toEqual(["any"]);
    expect(select(pools)).toEqual(["any"]);
    expect(select([pool("neg", "10.0.0.0/16", { namespaceSelector: "!has(team)" })])).toEqual(["neg"]);
  });

  it("uses Manual pools only when they are asked for", () => {
    const pools = [pool("manual", "10.0.0.0/16", { assignmentMode: "Manual" }), pool("auto", "10.1.0.0/16")];
    expect(select(pools)).toEqual(["auto"]);
    expect(select(pools, { requested: ["manual"] })).toEqual(["manual"]);
  });

  it("takes requested pools by name or CIDR, in the order asked, selectors aside", () => {
    const pools = [pool("a", "10.0.0.0/16", { nodeSelector: "zone == 'b'" }), pool("b", "10.1.0.0/16")];
    expect(select(pools, { requested: ["10.1.0.0/16", "a"] })).toEqual(["b", "a"]);
    expect(select(pools, { requested: ["10.1.0.7/16"] })).toEqual(["b"]); // host bits are masked
  });

  it("refuses a requested pool that does not exist or is disabled", () => {
    const pools = [pool("a", "10.0.0.0/16"), pool("off", "10.1.0.0/16", { disabled: true })];
    expect(failure(pools, { requested: ["nope"] })).toBe(
      "IPAM_POOL_NOT_FOUND: the given pool (nope) does not exist, or is not enabled",
    );
    expect(failure(pools, { requested: ["off"] })).toMatch(/^IPAM_POOL_NOT_FOUND/);
  });

  it("keeps only pools allowing the intended use", () => {
    const pools = [
      pool("tunnels", "10.0.0.0/16", { allowedUses: ["Tunnel"] }),
      pool("pods", "10.1.0.0/16", { allowedUses: ["Workload"] }),
    ];
    expect(select(pools)).toEqual(["pods"]);
    expect(select(pools, { use: "Tunnel" })).toEqual(["tunnels"]);
    expect(failure([pools[0]!])).toBe(
      "IPAM_NO_POOLS: cannot find a qualified ippool, no pools match the required use (Workload) for node n1",
    );
  });
});

describe("ipam/pools: a host's walk through a pool's blocks", () => {
  const p = resolvePool(pool("p", "10.0.0.0/24", { blockSize: 28 }))!;

  it("FNV-1 32 is Go's hash/fnv New32", () => {
    expect(fnv32("")).toBe(0x811c9dc5);
    expect(fnv32("a")).toBe(0x050c5d7e);
    expect(fnv32("foobar")).toBe(0x31f0b262);
  });

  it("visits every block once, wrapping, from a start that depends on the host only", () => {
    expect(numBlocks(p)).toBe(16n);
    const walk = [...blockWalk(p, "node-a")].map(formatCidr);
    expect(new Set(walk).size).toBe(16);
    expect([...blockWalk(p, "node-a")].map(formatCidr)).toEqual(walk);
    const start = Number(walkStart(p, "node-a"));
    expect(walk[0]).toBe(`10.0.0.${start * 16}/28`);
    expect(walk[16 - start] ?? walk[0]).toBe("10.0.0.0/28");
  });

  it("starts different hosts at different blocks", () => {
    const starts = new Set(["n1", "n2", "n3", "n4", "n5", "n6"].map((h) => walkStart(p, h)));
    expect(starts.size).toBeGreaterThan(3);
  });

  it("walkPosition says at which step the walk reaches a block", () => {
    const walk = [...blockWalk(p, "n7")];
    walk.forEach((c, i) => {
      expect(walkPosition(p, walkStart(p, "n7"), c)).toBe(BigInt(i));
    });
  });

  it("a pool smaller than its blockSize has no blocks", () => {
    expect(numBlocks(resolvePool(pool("s", "10.0.0.0/30", { blockSize: 26 }))!)).toBe(0n);
  });
});
