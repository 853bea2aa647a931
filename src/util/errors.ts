/**
 * The one error shape for failures a user can act on: a stable `code` string plus the context that
 * names what was wrong (field path, offending value, byte offset, file and line). Checked with
 * `isTabbyError(e, code)`, never by matching message text (undici's `errors.js` shows the pattern).
 *
 * The brand is a `Symbol.for` key, so bgp/, felix/ and ipam/ (which must not import src/) can define
 * their own error classes that `isTabbyError` still recognises: declare
 * `const brand: unique symbol = Symbol.for("tabby.error") as never`, set `readonly [brand] = true` and a `code`. Bugs are not typed: they throw plain `Error` and should crash loudly.
 */

export const TABBY_ERROR_BRAND: unique symbol = Symbol.for("tabby.error") as never;

/** Where in the input the problem is. Every field is optional; set the ones you know. */
export interface ErrorContext {
  /** Dotted path of the offending field, e.g. `spec.blockSize` or `peers[2].holdTimeSec`. */
  readonly field?: string;
  /** The offending value as the user wrote it. */
  readonly value?: unknown;
  /** Byte offset into a message or stream. */
  readonly offset?: number;
  /** File the input came from. */
  readonly file?: string;
  /** 1-based line and column in `file`. */
  readonly line?: number;
  readonly column?: number;
}

export class TabbyError extends Error {
  readonly [TABBY_ERROR_BRAND] = true;
  override readonly name: string = "TabbyError";
  readonly context: ErrorContext;

  constructor(
    readonly code: string,
    detail: string,
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(formatMessage(detail, context), options);
    this.context = context;
  }
}

/** True when `e` is any tabby error (from any layer), optionally with the given code. */
export function isTabbyError(
  e: unknown,
  code?: string,
): e is Error & { code: string; context?: ErrorContext } {
  if (typeof e !== "object" || e === null) return false;
  const branded = (e as Record<symbol, unknown>)[TABBY_ERROR_BRAND] === true;
  if (!branded) return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}

/**
 * `file:line:col: field: detail (value "x")` — the order a user scans in: where, what, why, which value.
 */
function formatMessage(detail: string, c: ErrorContext): string {
  const where: string[] = [];
  if (c.file !== undefined) {
    let loc = c.file;
    if (c.line !== undefined) loc += `:${c.line}`;
    if (c.line !== undefined && c.column !== undefined) loc += `:${c.column}`;
    where.push(loc);
  }
  if (c.field !== undefined) where.push(c.field);
  let msg = where.length > 0 ? `${where.join(": ")}: ${detail}` : detail;
  if (c.value !== undefined) msg += ` (value ${renderValue(c.value)})`;
  if (c.offset !== undefined) msg += ` (at byte ${c.offset})`;
  return msg;
}

function renderValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}
