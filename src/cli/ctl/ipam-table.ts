/**
 * The output primitives `calicoctl ipam` prints with, reproduced so that tabbyctl's tables read the same:
 * olekukonko/tablewriter v0.0.5 as calicoctl v3.30 used it (borders `+---+`, headers centred with the
 * extra space on the right, cells that look like decimal numbers right-aligned and all others left, one
 * space of padding), and Go's `%.5g` and `%.f` for the counts and percentages (round half to even, as
 * strconv does). Pure.
 */

/** tablewriter's test for "a number", which it right-aligns (`1.6777e+07` is not one). */
const DECIMAL = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;
const PERCENT = /^-?\d+\.?\d*%$/;

function centre(s: string, width: number): string {
  const gap = width - s.length;
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return " ".repeat(left) + s + " ".repeat(gap - left);
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+\n`;
  const row = (cells: readonly string[], heading: boolean) =>
    `|${cells
      .map((c, i) => {
        const w = widths[i]!;
        if (heading) return ` ${centre(c, w)} `;
        const t = c.trim();
        return ` ${DECIMAL.test(t) || PERCENT.test(t) ? c.padStart(w) : c.padEnd(w)} `;
      })
      .join("|")}|\n`;
  return line + row(header, true) + line + rows.map((r) => row(r, false)).join("") + line;
}

/** Rounds half to even, as Go's strconv does for exact ties. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Go's `%.f`. */
export function formatFixed0(x: number): string {
  return String(roundHalfEven(x));
}

/** Go's `%.5g` for a non-negative integer count: 65536, 1.6777e+07, 1e+06. */
export function formatG5(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new Error(`formatG5 wants a count, got ${n}`);
  const digits = String(n);
  if (digits.length <= 5) return digits;
  // Round to 5 significant digits, half to even on the exact decimal digits.
  let head = BigInt(digits.slice(0, 5));
  const rest = digits.slice(5);
  const half = `5${"0".repeat(rest.length - 1)}`;
  if (rest > half || (rest === half && head % 2n === 1n)) head += 1n;
  let exp = digits.length - 1;
  let mant = head.toString();
  if (mant.length > 5) {
    mant = mant.slice(0, 5);
    exp += 1;
  }
  const frac = mant.slice(1).replace(/0+$/, "");
  return `${mant[0]}${frac ? `.${frac}` : ""}e+${String(exp).padStart(2, "0")}`;
}
