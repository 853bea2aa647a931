// BGPFilter -> policy rules (bgp-filters.ts): the NotEqual/NotIn complement is exact, operations keep
// confd's order (template_funcs.go filterOperationStatements), peerType selects by session kind.
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../bgp/policy/policy.js";
import { buildPathAttrs } from "../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../bgp/rib/prefix-key.js";
import { complementOf, filterRules } from "../../../src/agent/bgp-filters.js";
import { parseCidr } from "../../../src/api/net.js";

function matcher(prefixes: ReturnType<typeof complementOf>) {
  const pol = compilePolicy({
    name: "t",
    rules: [{ match: { prefixes }, action: "accept" }],
    defaultAction: "reject",
  });
  const attrs = buildPathAttrs([], "10.0.0.1");
  return (prefix: string) =>
    pol.evaluate({ key: keyFromString(prefix), family: "ipv4", attrs, source: "local" }) !== undefined;
}

describe("complementOf", () => {
  // Prefixes of every first octet at lengths 0..8, and 10.x at lengths 9..12.
  const all: string[] = [];
  for (let f = 0; f < 256; f++) for (let len = 0; len <= 8; len++) all.push(`${f}.0.0.0/${len}`);
  for (let s = 0; s < 256; s += 16) for (let len = 9; len <= 12; len++) all.push(`10.${s}.0.0/${len}`);
  it.each([
    ["10.0.0.0/8", 8, 8],
    ["10.0.0.0/8", 8, 12],
    ["8.0.0.0/6", 7, 10],
    ["0.0.0.0/0", 0, 3],
  ])("NotIn %s{%i,%i} is exactly the other prefixes", (cidr, lo, hi) => {
    const c = parseCidr(cidr)!;
    const comp = matcher(complementOf(c, lo, hi));
    const inside = (p: string) => {
      const q = parseCidr(p)!;
      const shift = BigInt(32 - c.prefixLen);
      return q.prefixLen >= lo && q.prefixLen <= hi && q.addr >> shift === c.addr >> shift;
    };
    for (const p of [...all, "10.1.0.0/16", "10.0.0.0/8", "11.0.0.0/8", "10.0.0.0/12", "9.0.0.0/8"])
      expect([p, comp(p)]).toEqual([p, !inside(p)]);
  });
});

describe("filterRules", () => {
  it("operations become set rules on the same match, the last carrying the action", () => {
    const { rules, issues } = filterRules(
      "f",
      {
        exportV4: [
          {
            action: "Accept",
            matchOperator: "In",
            cidr: "10.0.0.0/8",
            communities: { values: ["65000:1"] },
            operations: [
              { addCommunity: { value: "65000:2" } },
              { prependASPath: { prefix: [65001, 65002, 65002] } },
              { setPriority: { value: 1000 } },
            ],
          },
        ],
      },
      "export",
      false,
    );
    expect(issues).toEqual([]);
    const match = {
      family: "ipv4",
      prefixes: [{ prefix: "10.0.0.0/8", ge: 8, le: 32 }],
      communities: ["65000:1"],
    };
    expect(rules).toEqual([
      { match, set: { addCommunities: ["65000:2"] } },
      { match, set: { prependAs: { as: 65002, count: 2 } } }, // BIRD prepends from the last
      { match, set: { prependAs: { as: 65001, count: 1 } } },
      { match, set: { localPref: 2147483647 - 1000 }, action: "accept" },
    ]);
  });

  it.each([
    [true, 1],
    [false, 0],
  ])("an iBGP-only rule on sameAs=%s gives %i rules; v6 lists carry family ipv6", (sameAs, n) => {
    const { rules } = filterRules(
      "f",
      { importV6: [{ action: "Reject", matchOperator: "Equal", cidr: "fd00::/64", peerType: "iBGP" }] },
      "import",
      sameAs,
    );
    expect(rules).toHaveLength(n);
    if (n === 1) expect(rules[0]!.match?.family).toBe("ipv6");
  });

  it("priority in an Accept rule is ignored, in a Reject rule shuts the session", () => {
    const spec = {
      exportV4: [
        { action: "Accept" as const, priority: 512 },
        { action: "Reject" as const, priority: 512 },
      ],
    };
    const { rules, issues } = filterRules("f", spec, "export", true);
    expect(rules).toEqual([]);
    expect(issues.map((i) => i.effect)).toEqual(["ignored", "shutdown"]);
  });
});
