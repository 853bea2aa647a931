/**
 * IPv4/IPv6 address text <-> bytes, without allocation-heavy helpers, for NLRI and next hops.
 * IPv6 text follows RFC 5952 (lowercase, longest zero run compressed, IPv4-mapped shown as ::ffff:a.b.c.d).
 * Parsing is strict: a malformed address is a caller error (thrown `Error`), never guessed.
 */

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function formatIpv6(b: Uint8Array, off = 0): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  // IPv4-mapped (::ffff:a.b.c.d), as RFC 5952 §5 recommends.
  if (
    words[0] === 0 &&
    words[1] === 0 &&
    words[2] === 0 &&
    words[3] === 0 &&
    words[4] === 0 &&
    words[5] === 0xffff
  ) {
    return `::ffff:${formatIpv4(b, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero word is not compressed
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    words
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(":");
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export function formatIp(b: Uint8Array, off: number, len: 4 | 16): string {
  return len === 4 ? formatIpv4(b, off) : formatIpv6(b, off);
}

/** Writes a dotted-quad into `out` at `off`. Throws on malformed text. */
export function parseIpv4Into(text: string, out: Uint8Array, off = 0): void {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255)
      throw new Error(`not an IPv4 address: ${JSON.stringify(text)}`);
    out[off + i] = Number(p);
  }
}

export function parseIpv6Into(text: string, out: Uint8Array, off = 0): void {
  const bad = () => new Error(`not an IPv6 address: ${JSON.stringify(text)}`);
  let s = text;
  const words: number[] = [];
  // Trailing embedded IPv4 (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  let v4: Uint8Array | undefined;
  if (tail.includes(".")) {
    v4 = new Uint8Array(4);
    parseIpv4Into(tail, v4);
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) throw bad();
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) throw bad();
  for (const w of [...head, ...new Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad();
    words.push(Number.parseInt(w, 16));
  }
  for (let i = 0; i < 8; i++) {
    out[off + 2 * i] = words[i]! >> 8;
    out[off + 2 * i + 1] = words[i]! & 0xff;
  }
  if (v4) out.set(v4, off + 12);
}

export function parseIp(text: string): Uint8Array {
  if (text.includes(":")) {
    const out = new Uint8Array(16);
    parseIpv6Into(text, out);
    return out;
  }
  const out = new Uint8Array(4);
  parseIpv4Into(text, out);
  return out;
}
