/**
 * IP addresses and CIDRs as Calico's validators read them (Go's net.ParseIP / net.ParseCIDR via
 * libcalico-go/lib/net): IPv4 only in dotted-quad form without leading zeros, IPv6 with `::` and an
 * optional dotted IPv4 tail, no zones. Canonical text is Go's (RFC 5952: lower case, the longest run of
 * two or more zero groups shortened to `::`), which is how Calico normalises `IPPool.spec.cidr` before
 * storing it. Pure. Does not know about pools or blocks; validation rules live with each kind.
 */

export type IpFamily = 4 | 6;

export interface IpAddr {
  readonly family: IpFamily;
  /** The address as an unsigned integer of 32 or 128 bits. */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The address part as written (host bits possibly set). */
  readonly addr: bigint;
  readonly prefixLen: number;
}

export const bitsOf = (f: IpFamily): number => (f === 4 ? 32 : 128);

export function parseIp(text: string): IpAddr | undefined {
  if (text.includes(":")) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // Go refuses leading zeros since 1.17 (they used to mean octal to some parsers).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(Number.parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  // An embedded IPv4 tail is only allowed at the very end.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (length >= 2; the first wins a tie) becomes "::" (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** `a.b.c.d/n` or `v6/n`; undefined when it is not a CIDR (a bare address is not one). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (ip === undefined || !/^[0-9]{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > bitsOf(ip.family)) return undefined;
  return { family: ip.family, addr: ip.value, prefixLen };
}

/** Calico's ParseCIDROrIP: a bare address is the /32 or /128 containing only it. */
export function parseCidrOrIp(text: string): Cidr | undefined {
  if (text.includes("/")) return parseCidr(text);
  const ip = parseIp(text);
  return ip === undefined ? undefined : { family: ip.family, addr: ip.value, prefixLen: bitsOf(ip.family) };
}

function hostMask(c: { family: IpFamily; prefixLen: number }): bigint {
  return (1n << BigInt(bitsOf(c.family) - c.prefixLen)) - 1n;
}

/** The network address (host bits cleared). */
export function networkOf(c: Cidr): Cidr {
  return { ...c, addr: c.addr & ~hostMask(c) };
}

export function isMasked(c: Cidr): boolean {
  return (c.addr & hostMask(c)) === 0n;
}

/** Canonical text of the network, as Go's IPNet.String(). */
export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: networkOf(c).addr })}/${c.prefixLen}`;
}

export function cidrContainsIp(c: Cidr, ip: IpAddr): boolean {
  return c.family === ip.family && (ip.value & ~hostMask(c)) === networkOf(c).addr;
}

/** True when the two networks share at least one address (one contains the other). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLen <= b.prefixLen ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContainsIp(shorter, { family: longer.family, value: longer.addr });
}

export const IPV4_LINK_LOCAL = parseCidr("169.254.0.0/16")!;
export const IPV6_LINK_LOCAL = parseCidr("fe80::/10")!;
