import { describe, expect, it } from "vitest";
import { parseAddr, parseCidr } from "../../../ipam/ip.js";
import { noReservations, reservationFilter } from "../../../ipam/reservations.js";

const a = (s: string) => parseAddr(s)!;
const c = (s: string) => parseCidr(s)!;

describe("ipam/reservations", () => {
  it("matches reserved CIDRs and bare addresses, ignoring malformed entries", () => {
    const f = reservationFilter(["10.0.0.0/30", "10.0.1.7", "not-a-cidr", " fd00::1 "]);
    expect(f.matches(a("10.0.0.3"))).toBe(true);
    expect(f.matches(a("10.0.0.4"))).toBe(false);
    expect(f.matches(a("10.0.1.7"))).toBe(true);
    expect(f.matches(a("fd00::1"))).toBe(true);
    expect(reservationFilter(["junk"])).toBe(noReservations);
  });

  it("tells blocks partly reserved from blocks wholly reserved", () => {
    const f = reservationFilter(["10.0.0.0/27", "10.0.0.32/27", "10.0.1.5"]);
    expect(f.coversCidr(c("10.0.0.0/26"))).toBe(true); // two halves tile it
    expect(f.coversCidr(c("10.0.0.0/25"))).toBe(false);
    expect(f.overlapsCidr(c("10.0.0.0/25"))).toBe(true);
    expect(f.coversCidr(c("10.0.1.0/26"))).toBe(false);
    expect(f.overlapsCidr(c("10.0.1.0/26"))).toBe(true);
    expect(f.overlapsCidr(c("10.0.2.0/26"))).toBe(false);
  });

  it("does not count nested reservations twice", () => {
    const f = reservationFilter(["10.0.0.0/27", "10.0.0.0/28", "10.0.0.16/28"]);
    expect(f.coversCidr(c("10.0.0.0/26"))).toBe(false);
    expect(f.coversCidr(c("10.0.0.0/27"))).toBe(true);
  });
});
