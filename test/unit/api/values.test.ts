import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAsNumber } from "../../../src/api/asn.js";
import { formatDuration, parseDuration } from "../../../src/api/duration.js";
import { checkCommunity, formatChecks, parseIpPort } from "../../../src/api/formats.js";
import { checkLabelValue, checkQualifiedName, checkResourceName } from "../../../src/api/names.js";
import {
  cidrsOverlap,
  formatCidr,
  formatIp,
  isMasked,
  parseCidr,
  parseCidrOrIp,
  parseIp,
} from "../../../src/api/net.js";

describe("IP addresses and CIDRs (Go's parsing and printing)", () => {
  it.each([
    ["10.0.0.1", "10.0.0.1"],
    ["fd00:0:0:0:0:0:0:1", "fd00::1"],
    ["FD00::1", "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first of two equal runs is shortened
    ["2001:0db8:0000:0001:0000:0000:0000:0001", "2001:db8:0:1::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:0:1:1:1:1:1:1", "1:0:1:1:1:1:1:1"], // a single zero group is not shortened
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ])("%s prints as %s", (input, want) => {
    const ip = parseIp(input);
    expect(ip).toBeDefined();
    expect(formatIp(ip!)).toBe(want);
  });

  it.each([
    "010.0.0.1",
    "10.0.0",
    "10.0.0.256",
    "1.2.3.4.5",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "fe80::1%eth0",
    "g::1",
    "",
  ])("%j is not an address", (input) => {
    expect(parseIp(input)).toBeUndefined();
  });

  it("parses, masks and normalises CIDRs", () => {
    expect(formatCidr(parseCidr("2001::00/64")!)).toBe("2001::/64");
    expect(isMasked(parseCidr("10.0.0.0/8")!)).toBe(true);
    expect(isMasked(parseCidr("10.0.0.1/8")!)).toBe(false);
    expect(formatCidr(parseCidr("10.0.0.1/8")!)).toBe("10.0.0.0/8");
    expect(parseCidr("10.0.0.0")).toBeUndefined();
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("10.0.0.0/-1")).toBeUndefined();
    expect(parseCidrOrIp("10.0.0.7")?.prefixLen).toBe(32);
    expect(parseCidrOrIp("fd00::7")?.prefixLen).toBe(128);
  });

  it("detects overlap in either direction and never across families", () => {
    const c = (s: string) => parseCidr(s)!;
    expect(cidrsOverlap(c("10.0.0.0/16"), c("10.0.5.0/24"))).toBe(true);
    expect(cidrsOverlap(c("10.0.5.0/24"), c("10.0.0.0/16"))).toBe(true);
    expect(cidrsOverlap(c("10.0.0.0/16"), c("10.1.0.0/16"))).toBe(false);
    expect(cidrsOverlap(c("0.0.0.0/0"), c("::/0"))).toBe(false);
  });

  it("format ∘ parse is the identity on canonical IPv6 text", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text);
        expect(ip).toBeDefined();
        const canonical = formatIp(ip!);
        expect(formatIp(parseIp(canonical)!)).toBe(canonical);
        expect(parseIp(canonical)!.value).toBe(ip!.value);
      }),
    );
  });
});

describe("AS numbers (numorstring.ASNumber)", () => {
  it.each([
    [64512, 64512],
    ["64512", 64512],
    ["1.10", 65546],
    ["0.0", 0],
    ["65535.65535", 4294967295],
    [4294967295, 4294967295],
  ])("%j is %i", (raw, want) => {
    expect(parseAsNumber(raw)).toEqual({ asn: want });
  });

  it.each([
    [-1, "integer 0..4294967295"],
    [4294967296, "integer 0..4294967295"],
    [1.1, "quoted string"],
    ["1.65536", "16-bit"],
    ["1.2.3", "asdot"],
    ["AS64512", "asdot"],
    [true, "integer or a string"],
  ])("%j is refused (%s)", (raw, rule) => {
    const r = parseAsNumber(raw);
    expect("rule" in r && r.rule).toContain(rule);
  });
});

describe("durations (metav1.Duration)", () => {
  it.each([
    ["120s", "2m0s"],
    ["2m", "2m0s"],
    ["1h30m", "1h30m0s"],
    ["1.5s", "1.5s"],
    ["300ms", "300ms"],
    ["0", "0s"],
    ["90m", "1h30m0s"],
    ["1.5h", "1h30m0s"],
    ["2µs", "2µs"],
    ["1h0m0.5s", "1h0m0.5s"],
  ])("%s is stored as %s", (input, want) => {
    const ns = parseDuration(input);
    expect(ns).toBeDefined();
    expect(formatDuration(ns!)).toBe(want);
    expect(parseDuration(formatDuration(ns!))).toBe(ns);
  });

  it.each(["", "5", "s", "1d", "1h 30m", ".s", "10 s"])("%j is not a duration", (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe("string formats", () => {
  it("IP:port accepts address, v4:port and [v6]:port", () => {
    expect(parseIpPort("192.0.2.1")).toEqual({ ip: "192.0.2.1" });
    expect(parseIpPort("192.0.2.1:1790")).toEqual({ ip: "192.0.2.1", port: 1790 });
    expect(parseIpPort("[2001:db8::1]:179")).toEqual({ ip: "2001:db8::1", port: 179 });
    expect(parseIpPort("2001:db8::1")).toEqual({ ip: "2001:db8::1" });
    for (const bad of [
      "192.0.2.1:0",
      "192.0.2.1:65536",
      "2001:db8::1:179x",
      "[2001:db8::1]",
      "host:179",
      "192.0.2.1:",
    ]) {
      expect(parseIpPort(bad), bad).toBeUndefined();
    }
  });

  it("communities are 16-bit pairs or 32-bit triples", () => {
    expect(checkCommunity("65535:65535")).toBeUndefined();
    expect(checkCommunity("4294967295:1:2")).toBeUndefined();
    expect(checkCommunity("65536:1")).toContain("16-bit");
    expect(checkCommunity("4294967296:1:1")).toContain("32-bit");
    expect(checkCommunity("1:2:3:4")).toContain("aa:nn");
  });

  it("MAC addresses as Go's net.ParseMAC reads them", () => {
    for (const ok of [
      "66:0a:b3:1f:2c:9d",
      "66-0A-B3-1F-2C-9D",
      "660a.b31f.2c9d",
      "00:00:00:00:fe:80:00:00",
    ]) {
      expect(formatChecks.mac(ok), ok).toBe(ok);
    }
    for (const bad of ["66:0a:b3:1f:2c", "66:0a-b3:1f:2c:9d", "zz:0a:b3:1f:2c:9d"]) {
      expect(formatChecks.mac(bad), bad).toHaveProperty("rule");
    }
  });

  it("interface names, with and without globs", () => {
    expect(formatChecks.interface("eth0")).toBe("eth0");
    expect(formatChecks.interface("a".repeat(16))).toHaveProperty("rule");
    expect(formatChecks.bgpFilterInterface("*.calico")).toBe("*.calico");
    expect(formatChecks.ignoredInterface("*")).toHaveProperty("rule");
    expect(formatChecks.ignoredInterface("docker*")).toBe("docker*");
  });

  it("Kubernetes names and labels", () => {
    expect(checkResourceName("my.ippool-1")).toBeUndefined();
    expect(checkResourceName("My-Pool")).toContain("lower case");
    expect(checkResourceName("-pool")).toBeDefined();
    expect(checkResourceName("a".repeat(254))).toContain("253");
    expect(checkQualifiedName("kubernetes.io/hostname")).toBeUndefined();
    expect(checkQualifiedName("a/b/c")).toBeDefined();
    expect(checkQualifiedName("-x")).toBeDefined();
    expect(checkLabelValue("")).toBeUndefined();
    expect(checkLabelValue("rack-1")).toBeUndefined();
    expect(checkLabelValue("rack 1")).toBeDefined();
    expect(checkLabelValue("x".repeat(64))).toContain("63");
  });
});
