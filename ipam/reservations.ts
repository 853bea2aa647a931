/**
 * IPReservation as an address filter (libcalico-go/lib/ipam/addr_filter.go, reserved.go): the reserved
 * CIDRs (bare addresses count as /32 or /128; malformed entries are ignored, as Calico logs and skips
 * them) answer "is this address reserved", "does this block overlap a reservation" and "is this whole
 * block reserved" (then IPAM never claims it). Reservations only stop new allocations; existing ones
 * stay. Pure.
 */
import { type Addr, type Cidr, cidrContains, cidrCovers, cidrSize, cidrsOverlap, parseCidr } from "./ip.js";

export interface AddressFilter {
  matches(a: Addr): boolean;
  /** Some address of `c` is reserved. */
  overlapsCidr(c: Cidr): boolean;
  /** Every address of `c` is reserved (possibly by several reservations together). */
  coversCidr(c: Cidr): boolean;
}

export const noReservations: AddressFilter = {
  matches: () => false,
  overlapsCidr: () => false,
  coversCidr: () => false,
};

const filters = new WeakMap<readonly string[], AddressFilter>();

/** The filter for the `reservedCIDRs` of every IPReservation (remembered per input array). */
export function reservationFilter(reservedCidrs: readonly string[]): AddressFilter {
  let f = filters.get(reservedCidrs);
  if (f === undefined) {
    f = buildFilter(reservedCidrs);
    filters.set(reservedCidrs, f);
  }
  return f;
}

function buildFilter(reservedCidrs: readonly string[]): AddressFilter {
  const cidrs: Cidr[] = [];
  for (const text of reservedCidrs) {
    const c = parseCidr(text, { bareAddress: true });
    if (c !== undefined) cidrs.push(c);
  }
  if (cidrs.length === 0) return noReservations;
  return {
    matches: (a) => cidrs.some((c) => cidrContains(c, a)),
    overlapsCidr: (c) => cidrs.some((r) => cidrsOverlap(r, c)),
    coversCidr(c) {
      if (cidrs.some((r) => cidrCovers(r, c))) return true;
      // Several smaller reservations may tile the block: count the distinct addresses they cover.
      const inside = cidrs.filter((r) => cidrCovers(c, r)).sort((x, y) => x.prefixLen - y.prefixLen);
      const distinct: Cidr[] = [];
      for (const r of inside) if (!distinct.some((d) => cidrCovers(d, r))) distinct.push(r);
      const covered = distinct.reduce((n, r) => n + cidrSize(r), 0n);
      return covered === cidrSize(c);
    },
  };
}
