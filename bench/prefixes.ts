/** Deterministic benchmark tables: N distinct IPv4 /24s and IPv6 /48s as PrefixLists, built without strings. */
import type { PrefixList } from "../bgp/codec/prefix-list.js";

/** 1.0.0.0/24, 1.0.1.0/24, ... (up to 16M distinct /24s). */
export function ipv4Slash24(n: number): PrefixList {
  const lengths = new Uint8Array(n).fill(24);
  const addrs = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    addrs[i * 4] = 1 + (i >>> 16);
    addrs[i * 4 + 1] = (i >>> 8) & 0xff;
    addrs[i * 4 + 2] = i & 0xff;
  }
  return { afi: 1, count: n, lengths, addrs, pathIds: undefined };
}

/** 2a00:XXXX:YYYY::/48 for i = XXXXYYYY. */
export function ipv6Slash48(n: number): PrefixList {
  const lengths = new Uint8Array(n).fill(48);
  const addrs = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) {
    const o = i * 16;
    addrs[o] = 0x2a;
    addrs[o + 2] = (i >>> 24) & 0xff;
    addrs[o + 3] = (i >>> 16) & 0xff;
    addrs[o + 4] = (i >>> 8) & 0xff;
    addrs[o + 5] = i & 0xff;
  }
  return { afi: 2, count: n, lengths, addrs, pathIds: undefined };
}
