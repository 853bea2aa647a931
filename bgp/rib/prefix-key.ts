/**
 * Keys for the RIB maps: a prefix as a number for IPv4 (address * 64 + length, exact in a double, the
 * same key `maskedKey` gives) and as a short string for IPv6 ("<32 hex digits>/<len>"), host bits
 * cleared. Numbers make the IPv4 maps of a million routes cheap. Converts back to text and into
 * PrefixLists for encoding. Pure.
 */
import { formatIpv4, formatIpv6, parseIpv4Into, parseIpv6Into } from "../codec/ip.js";
import { maskedKey, type PrefixList } from "../codec/prefix-list.js";

export type PrefixKey = number | string;
export type Family = "ipv4" | "ipv6";

export const keyOf = (list: PrefixList, i: number): PrefixKey => maskedKey(list, i);

export function familyOfKey(k: PrefixKey): Family {
  return typeof k === "number" ? "ipv4" : "ipv6";
}

/** "10.0.0.0/24" or "2001:db8::/32". */
export function keyToString(k: PrefixKey): string {
  if (typeof k === "number") {
    const len = k % 64;
    const a = (k - len) / 64;
    const b = Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
    return `${formatIpv4(b, 0)}/${len}`;
  }
  const [hex, len] = k.split("/");
  return `${formatIpv6(Uint8Array.from(Buffer.from(hex!, "hex")), 0)}/${len}`;
}

/** Parses "10.0.0.0/24" (host bits cleared) into a key; throws on malformed text. */
export function keyFromString(text: string): PrefixKey {
  const slash = text.indexOf("/");
  if (slash < 0) throw new Error(`not a prefix: ${JSON.stringify(text)}`);
  const len = Number(text.slice(slash + 1));
  const addr = text.slice(0, slash);
  if (addr.includes(":")) {
    if (!Number.isInteger(len) || len < 0 || len > 128)
      throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
    const b = new Uint8Array(16);
    parseIpv6Into(addr, b, 0);
    return maskedKey({ afi: 2, count: 1, lengths: Uint8Array.of(len), addrs: b, pathIds: undefined }, 0);
  }
  if (!Number.isInteger(len) || len < 0 || len > 32)
    throw new Error(`bad prefix length in ${JSON.stringify(text)}`);
  const b = new Uint8Array(4);
  parseIpv4Into(addr, b, 0);
  return maskedKey({ afi: 1, count: 1, lengths: Uint8Array.of(len), addrs: b, pathIds: undefined }, 0);
}

/** Builds a PrefixList from keys of one family (path ids optional), for packing into UPDATEs. */
export function keysToPrefixList(
  family: Family,
  keys: readonly PrefixKey[],
  pathIds?: readonly number[],
): PrefixList {
  const n = keys.length;
  const lengths = new Uint8Array(n);
  if (family === "ipv4") {
    const addrs = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      const k = keys[i] as number;
      const len = k % 64;
      const a = (k - len) / 64;
      lengths[i] = len;
      addrs[i * 4] = a >>> 24;
      addrs[i * 4 + 1] = (a >>> 16) & 0xff;
      addrs[i * 4 + 2] = (a >>> 8) & 0xff;
      addrs[i * 4 + 3] = a & 0xff;
    }
    return { afi: 1, count: n, lengths, addrs, pathIds: pathIds ? Uint32Array.from(pathIds) : undefined };
  }
  const addrs = new Uint8Array(n * 16);
  for (let i = 0; i < n; i++) {
    const [hex, len] = (keys[i] as string).split("/");
    lengths[i] = Number(len);
    addrs.set(Buffer.from(hex!, "hex"), i * 16);
  }
  return { afi: 2, count: n, lengths, addrs, pathIds: pathIds ? Uint32Array.from(pathIds) : undefined };
}

/** Whether `inner` lies within `outer` (both keys of the same family). */
export function keyWithin(inner: PrefixKey, outer: PrefixKey): boolean {
  if (typeof inner === "number" && typeof outer === "number") {
    const il = inner % 64;
    const ol = outer % 64;
    if (il < ol) return false;
    const ia = (inner - il) / 64;
    const oa = (outer - ol) / 64;
    const mask = ol === 0 ? 0 : (0xffffffff << (32 - ol)) >>> 0;
    return (ia & mask) >>> 0 === oa;
  }
  if (typeof inner === "string" && typeof outer === "string") {
    const [ih, il] = inner.split("/");
    const [oh, ol] = outer.split("/");
    const ilen = Number(il);
    const olen = Number(ol);
    if (ilen < olen) return false;
    const ib = Buffer.from(ih!, "hex");
    const ob = Buffer.from(oh!, "hex");
    for (let bit = 0; bit < olen; bit++) {
      const byte = bit >> 3;
      const m = 0x80 >> (bit & 7);
      if ((ib[byte]! & m) !== (ob[byte]! & m)) return false;
    }
    return true;
  }
  return false;
}
