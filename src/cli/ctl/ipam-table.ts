/**
 * The output primitives calicoctl prints with (`ipam show`, `node status`), reproduced so that
 * tabbyctl's tables read the same: olekukonko/tablewriter v0.0.5 as calicoctl v3.30 used it (borders
 * `+---+`, headers centred with the extra space on the right, cells that look like decimal numbers
 * right-aligned and all others left, one space of padding, and any cell over 30 characters wrapped at
 * spaces with minimal raggedness, its column then exactly 30 wide), and Go's `%.5g` and `%.f` for the
 * counts and percentages (round half to even, as strconv does). Pure.
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

/** tablewriter's MaxColWidth: longer cells are wrapped. */
const MAX_CELL = 30;
/** What tablewriter adds to the cost of a line longer than the limit (a word that cannot be split). */
const OVERLONG_PENALTY = 1e5;

/**
 * Splits words into lines of at most `limit` characters with the least raggedness (the sum over all
 * lines but the last of the squared room left), as tablewriter's WrapWords does; a word longer than the
 * limit gets a line of its own. Pure.
 */
export function wrapWords(words: readonly string[], limit: number): string[][] {
  const n = words.length;
  const len = (i: number, j: number) => words.slice(i, j + 1).reduce((a, w) => a + w.length, 0) + (j - i);
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const next = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= limit) {
      cost[i] = 0;
      next[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const l = len(i, j - 1);
      const c = (limit - l) ** 2 + cost[j]! + (l > limit ? OVERLONG_PENALTY : 0);
      if (c < cost[i]!) {
        cost[i] = c;
        next[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = next[i]!) lines.push(words.slice(i, next[i]));
  return lines;
}

/** A cell as tablewriter lays it out: its lines, and the width it asks of its column. */
function layout(cell: string): { lines: string[]; width: number } {
  const raw = cell.split("\n");
  let width = Math.min(MAX_CELL, Math.max(...raw.map((l) => l.length)));
  const lines: string[] = [];
  raw.forEach((para, i) => {
    const words = para.split(" ");
    const limit = Math.max(width, ...words.map((w) => w.length));
    const wrapped = wrapWords(words, limit).map((ws) => ws.join(" "));
    for (const l of wrapped) width = Math.max(width, l.length);
    if (i > 0) lines.push(" ");
    lines.push(...wrapped);
  });
  return { lines, width };
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = header.map(layout);
  const body = rows.map((r) => header.map((_, i) => layout(r[i] ?? "")));
  const widths = header.map((_, i) => Math.max(head[i]!.width, ...body.map((r) => r[i]!.width)));
  const line = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+\n`;
  const print = (cells: readonly { lines: string[] }[], heading: boolean) => {
    const height = Math.max(...cells.map((c) => c.lines.length));
    let out = "";
    for (let k = 0; k < height; k++) {
      out += `|${cells
        .map((c, i) => {
          const w = widths[i]!;
          const text = c.lines[k] ?? "";
          if (heading) return ` ${centre(text.toUpperCase(), w)} `;
          const t = text.trim();
          return ` ${DECIMAL.test(t) || PERCENT.test(t) ? text.padStart(w) : text.padEnd(w)} `;
        })
        .join("|")}|\n`;
    }
    return out;
  };
  return line + print(head, true) + line + body.map((r) => print(r, false)).join("") + line;
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
