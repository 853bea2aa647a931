import { describe, expect, it } from "vitest";
import { compilePolicy, type Policy, PolicyError, parseCommunity } from "../../../../bgp/policy/policy.js";
import { keyFromString } from "../../../../bgp/rib/prefix-key.js";
import { attrs } from "./helpers.js";

const route = (
  prefix: string,
  o: Parameters<typeof attrs>[0] = {},
  source: "local" | "ebgp" | "ibgp" = "ebgp",
) => ({
  key: keyFromString(prefix),
  family: (prefix.includes(":") ? "ipv6" : "ipv4") as "ipv4" | "ipv6",
  attrs: attrs(o),
  source,
});

describe("policies", () => {
  const p: Policy = {
    name: "in",
    defaultAction: "reject",
    rules: [
      { match: { communities: ["NO_EXPORT"] }, action: "reject" },
      { match: { prefixes: [{ prefix: "10.0.0.0/8", le: 24 }] }, set: { localPref: 200 }, action: "accept" },
      { match: { prefixes: [{ prefix: "2001:db8::/32", ge: 48, le: 64 }] }, action: "accept" },
      { match: { largeCommunities: ["65000:1:2"], source: ["ibgp"] }, set: { med: 9 } },
      { match: { asPathContains: 65099 }, action: "accept" },
    ],
  };
  const c = compilePolicy(p);

  it("prefix matches with ge/le length ranges, both families", () => {
    expect(c.evaluate(route("10.1.2.0/24"))?.localPref).toBe(200);
    expect(c.evaluate(route("10.1.2.0/25"))).toBeUndefined();
    expect(c.evaluate(route("10.0.0.0/8"))?.localPref).toBe(200);
    expect(c.evaluate(route("11.0.0.0/8"))).toBeUndefined();
    expect(c.evaluate(route("2001:db8:1::/48"))).toBeDefined();
    expect(c.evaluate(route("2001:db8::/32"))).toBeUndefined();
    expect(c.prefixIndependent).toBe(false);
  });

  it("rules apply in order; a match without action applies its set and goes on", () => {
    expect(c.evaluate(route("10.1.2.0/24", { communities: [0xffffff01] }))).toBeUndefined();
    const large = {
      extra: [{ kind: "large-communities" as const, code: 32, flags: 0xc0, communities: [65000, 1, 2] }],
      asPath: [65099],
    };
    expect(c.evaluate(route("172.16.0.0/16", large, "ibgp"))?.med).toBe(9);
    expect(c.evaluate(route("172.16.0.0/16", large, "ebgp"))?.med).toBeUndefined();
  });

  it("refuses bad communities and ranges, naming the field", () => {
    expect(() =>
      compilePolicy({ name: "x", defaultAction: "accept", rules: [{ match: { communities: ["70000:1"] } }] }),
    ).toThrow(/policies\.x\.rules\[0\]\.match\.communities\[0\]: "70000:1" is not asn:value/);
    expect(() =>
      compilePolicy({
        name: "x",
        defaultAction: "accept",
        rules: [{ match: { prefixes: [{ prefix: "10.0.0.0/16", ge: 8 }] } }],
      }),
    ).toThrow(PolicyError);
    expect(parseCommunity("no-export")).toBe(0xffffff01);
  });

  it("a policy without prefix matches is prefix independent", () => {
    expect(
      compilePolicy({
        name: "y",
        defaultAction: "accept",
        rules: [{ match: { communities: ["1:1"] }, action: "reject" }],
      }).prefixIndependent,
    ).toBe(true);
  });
});
