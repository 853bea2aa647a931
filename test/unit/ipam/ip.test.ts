import { describe, expect, it } from "vitest";
import {
  cidrContains,
  cidrCovers,
  cidrsOverlap,
  formatAddr,
  formatCidr,
  nthAddr,
  ordinalOf,
  parseAddr,
  parseCidr,
} from "../../../ipam/ip.js";

const fmt = (s: string) => {
  const a = parseAddr(s);
  return a === undefined ? undefined : formatAddr(a);
};

describe("ipam/ip", () => {
  it("parses and prints IPv4 strictly", () => {
    expect(fmt("10.244.1.5")).toBe("10.244.1.5");
    expect(fmt("255.255.255.255")).toBe("255.255.255.255");
    for (const bad of ["10.1.1", "10.1.1.256", "10.01.1.1", "1.2.3.4.5", "a.b.c.d", ""])
      expect(fmt(bad)).toBeUndefined();
  });

  it("prints IPv6 in RFC 5952 form, as Go's net.IP.String", () => {
    expect(fmt("FD00:0:0:0:0:0:0:1")).toBe("fd00::1");
    expect(fmt("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1"); // first of two equal runs
    expect(fmt("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1"); // a single zero group stays
    expect(fmt("::")).toBe("::");
    expect(fmt("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    for (const bad of ["1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%eth0"])
      expect(fmt(bad)).toBeUndefined();
  });

  it("masks CIDRs and says whether host bits were set", () => {
    const c = parseCidr("10.244.1.7/26")!;
    expect(formatCidr(c)).toBe("10.244.1.0/26");
    expect(c.exact).toBe(false);
    expect(parseCidr("10.244.1.0/26")!.exact).toBe(true);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("10.0.0.1")).toBeUndefined();
    expect(formatCidr(parseCidr("10.0.0.1", { bareAddress: true })!)).toBe("10.0.0.1/32");
    expect(formatCidr(parseCidr("fd00::1", { bareAddress: true })!)).toBe("fd00::1/128");
  });

  it("answers containment and overlap", () => {
    const pool = parseCidr("10.0.0.0/16")!;
    const block = parseCidr("10.0.1.0/26")!;
    expect(cidrContains(pool, parseAddr("10.0.255.255")!)).toBe(true);
    expect(cidrContains(pool, parseAddr("10.1.0.0")!)).toBe(false);
    expect(cidrContains(pool, parseAddr("::a00:1")!)).toBe(false);
    expect(cidrCovers(pool, block)).toBe(true);
    expect(cidrCovers(block, pool)).toBe(false);
    expect(cidrsOverlap(block, pool)).toBe(true);
    expect(cidrsOverlap(block, parseCidr("10.0.1.64/26")!)).toBe(false);
  });

  it("numbers the addresses of a CIDR from its network address", () => {
    const b = parseCidr("fd00::40/122")!;
    expect(formatAddr(nthAddr(b, 0))).toBe("fd00::40");
    expect(formatAddr(nthAddr(b, 63))).toBe("fd00::7f");
    expect(ordinalOf(b, parseAddr("fd00::7f")!)).toBe(63);
    expect(ordinalOf(b, parseAddr("fd00::80")!)).toBeUndefined();
  });
});
