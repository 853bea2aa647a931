import { describe, expect, it } from "vitest";
import { hashRouterId, resolveRouterId } from "../../../src/agent/router-id.js";

describe("hashRouterId (confd template HashToIPv4)", () => {
  // The first two are confd's own test vectors (confd/pkg/resource/template/template_funcs_test.go);
  // node-1 was computed with `printf %s node-1 | sha256sum` (35971be6...) by hand.
  it.each([
    ["Testrobin123", "207.94.5.27"], // sha256 starts ef 5e 05 1b: 239 > 223, so 239 - 32
    ["nodeTest", "109.174.215.226"], // 6d ae d7 e2
    ["node-1", "53.151.27.230"], // 35 97 1b e6
  ])("%s -> %s", (name, want) => {
    expect(hashRouterId(name)).toBe(want);
  });

  it("never yields a class D/E first octet", () => {
    for (let i = 0; i < 2000; i++) {
      const first = Number(hashRouterId(`node-${i}`).split(".")[0]);
      expect(first).toBeLessThanOrEqual(223);
    }
  });
});

describe("resolveRouterId (confd bgp_processor.go)", () => {
  it.each([
    ["hash", "10.0.0.5/24", "nodeTest", "109.174.215.226"],
    ["192.168.1.1", "10.0.0.5/24", "n", "192.168.1.1"],
    [undefined, "10.0.0.5/24", "n", "10.0.0.5"],
    [undefined, "10.0.0.5", "n", "10.0.0.5"],
    ["", "10.0.0.5", "n", "10.0.0.5"],
    [undefined, undefined, "n", undefined],
    [undefined, "fd00::1/64", "n", undefined],
  ] as const)("setting %s, ipv4 %s -> %s", (setting, ipv4, node, want) => {
    expect(resolveRouterId(setting, ipv4, node)).toBe(want);
  });
});
