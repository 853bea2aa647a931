/**
 * IP addresses, CIDRs and MAC addresses as felix handles them: parsed to bytes for netlink, formatted
 * canonically (dotted quad; RFC 5952 for IPv6; lowercase colon MACs) so that keys built from the kernel's
 * bytes and keys built from the cluster's strings compare equal. Pure.
 */
import { DataplaneError } from "./errors.js";

export type Family = 4 | 6;

export interface Cidr {
  readonly family: Family;
  /** Network address bytes, host bits cleared. */
  readonly addr: Uint8Array;
  readonly prefixLen: number;
}

export function ipFamily(ip: string): Family {
  return ip.includes(":") ? 6 : 4;
}

function bad(what: string, value: string): DataplaneError {
  return new DataplaneError("FELIX_BAD_INPUT", `not a valid ${what}: ${JSON.stringify(value)}`, {
    cidr: value,
  });
}

export function parseIp(ip: string): Uint8Array {
  return ip.includes(":") ? parseIp6(ip) : parseIp4(ip);
}

function parseIp4(ip: string): Uint8Array {
  // Hand-rolled: this runs once per route on 100k-route batches.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46; // a virtual trailing "."
    if (c === 46) {
      if (digits === 0 || part > 3) throw bad("IPv4 address", ip);
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) throw bad("IPv4 address", ip);
    } else {
      throw bad("IPv4 address", ip);
    }
  }
  if (part !== 4) throw bad("IPv4 address", ip);
  return out;
}

function parseIp6(ip: string): Uint8Array {
  let s = ip;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIp4(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) throw bad("IPv6 address", ip);
  const head = halves[0] === "" ? [] : halves[0]!.split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1]!.split(":")) : [];
  const groups = halves.length === 2 ? head.length + tail.length : head.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) throw bad("IPv6 address", ip);
  const put = (g: string, i: number): void => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad("IPv6 address", ip);
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  };
  for (const [i, g] of head.entries()) put(g, i);
  for (const [i, g] of tail.entries()) put(g, 8 - tail.length + i);
  return out;
}

export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new Error(`address of ${b.length} bytes`);
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  // RFC 5952 4.2: compress the longest run (first if tied) of two or more zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 3) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Parses `10.65.0.0/26` (or a bare address, as a host prefix) and clears host bits. */
export function parseCidr(cidr: string): Cidr {
  const slash = cidr.indexOf("/");
  const addr = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const max = addr.length * 8;
  const lenText = slash < 0 ? String(max) : cidr.slice(slash + 1);
  const n = Number(lenText);
  if (!isDecimal(lenText) || n > max) throw bad("CIDR", cidr);
  const prefixLen = n;
  return { family: addr.length === 4 ? 4 : 6, addr: maskInPlace(addr, prefixLen), prefixLen };
}

function maskInPlace(out: Uint8Array, prefixLen: number): Uint8Array {
  for (let i = prefixLen >> 3; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i] = out[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function maskBytes(addr: Uint8Array, prefixLen: number): Uint8Array {
  return maskInPlace(new Uint8Array(addr), prefixLen);
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.addr)}/${c.prefixLen}`;
}

/** `10.65.0.7/26` -> `10.65.0.0/26`; bare addresses become host prefixes. */
export function canonicalCidr(cidr: string): string {
  return formatCidr(parseCidr(cidr));
}

export function canonicalIp(ip: string): string {
  return formatIp(parseIp(ip));
}

/** True when `ip` (an address) lies inside `cidr`. */
export function cidrContainsIp(cidr: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== cidr.addr.length) return false;
  const masked = maskBytes(ip, cidr.prefixLen);
  for (let i = 0; i < masked.length; i++) if (masked[i] !== cidr.addr[i]) return false;
  return true;
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefixLen >= outer.prefixLen && cidrContainsIp(outer, inner.addr);
}

export function parseMac(mac: string): Uint8Array {
  const parts = mac.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw bad("MAC address", mac);
  return new Uint8Array(parts.map((p) => Number.parseInt(p, 16)));
}

export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}
