/**
 * Address and CIDR arithmetic for IPv4 and IPv6 on bigints: parse, format (Go's net.IP.String forms, so
 * addresses print as calicoctl prints them: RFC 5952 for IPv6), containment, overlap, the n-th address of
 * a CIDR and an address's ordinal in it. ipam/ keeps its own copy because it never imports src/
 * (design.md). Pure. Does not know about pools or blocks (block.ts, pools.ts).
 */

export type Family = 4 | 6;

export interface Addr {
  readonly family: Family;
  readonly value: bigint;
}

/** A network: `base` is masked (host bits zero). */
export interface Cidr {
  readonly family: Family;
  readonly base: bigint;
  readonly prefixLen: number;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith("0"))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined; // zones are not addresses of a pool
  let groups: number[] = [];
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parseHalf = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(Number.parseInt(p, 16));
    }
    return out;
  };
  const head = parseHalf(halves[0]!);
  if (head === undefined) return undefined;
  if (halves.length === 2) {
    const tail = parseHalf(halves[1]!);
    if (tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseAddr(s: string): Addr | undefined {
  const t = s.trim();
  if (t.includes(":")) {
    const v = parseV6(t);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseV4(t);
  return v === undefined ? undefined : { family: 4, value: v };
}

function formatV4(v: bigint): string {
  const n = Number(v);
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups (first on a tie) as `::`. */
function formatV6(v: bigint): string {
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function formatAddr(a: Addr): string {
  return a.family === 4 ? formatV4(a.value) : formatV6(a.value);
}

function maskOf(family: Family, prefixLen: number): bigint {
  const bits = BigInt(bitsOf(family));
  const host = bits - BigInt(prefixLen);
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n);
}

/**
 * `10.0.0.0/24` or `fd00::/120`; with `bareAddress`, also `10.0.0.7` (a /32 or /128, as IPReservation
 * allows). Host bits are masked off; `exact` says whether there were none (pools and blocks must be exact).
 */
export function parseCidr(
  s: string,
  options: { bareAddress?: boolean } = {},
): (Cidr & { readonly exact: boolean }) | undefined {
  const t = s.trim();
  const slash = t.indexOf("/");
  if (slash < 0) {
    if (!options.bareAddress) return undefined;
    const a = parseAddr(t);
    return a === undefined
      ? undefined
      : { family: a.family, base: a.value, prefixLen: bitsOf(a.family), exact: true };
  }
  const a = parseAddr(t.slice(0, slash));
  const lenText = t.slice(slash + 1);
  if (a === undefined || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  if (prefixLen > bitsOf(a.family)) return undefined;
  const base = a.value & maskOf(a.family, prefixLen);
  return { family: a.family, base, prefixLen, exact: base === a.value };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddr({ family: c.family, value: c.base })}/${c.prefixLen}`;
}

/** Canonical text of a CIDR string (masked, RFC 5952), or undefined when it is not one. */
export function normalizeCidr(s: string): string | undefined {
  const c = parseCidr(s);
  return c === undefined ? undefined : formatCidr(c);
}

/** Canonical text of an address string, or undefined when it is not one. */
export function normalizeAddr(s: string): string | undefined {
  const a = parseAddr(s);
  return a === undefined ? undefined : formatAddr(a);
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefixLen);
}

export function cidrContains(c: Cidr, a: Addr): boolean {
  return c.family === a.family && (a.value & maskOf(c.family, c.prefixLen)) === c.base;
}

/** True when `inner` lies wholly inside `outer`. */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefixLen <= inner.prefixLen &&
    (inner.base & maskOf(outer.family, outer.prefixLen)) === outer.base
  );
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrCovers(a, b) || cidrCovers(b, a);
}

/** The `n`-th address of `c` (0 is the network address itself). */
export function nthAddr(c: Cidr, n: number | bigint): Addr {
  return { family: c.family, value: c.base + BigInt(n) };
}

/** The ordinal of `a` in `c`, or undefined when `a` is outside it. */
export function ordinalOf(c: Cidr, a: Addr): number | undefined {
  if (!cidrContains(c, a)) return undefined;
  return Number(a.value - c.base);
}

/** The network of `a` with `prefixLen` bits (the block an address falls in). */
export function enclosingCidr(a: Addr, prefixLen: number): Cidr {
  return { family: a.family, base: a.value & maskOf(a.family, prefixLen), prefixLen };
}
