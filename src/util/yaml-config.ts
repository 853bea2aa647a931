/**
 * YAML configuration files (`tabby bgp run --config`, the lab topology, ...) with errors that point at
 * the spot: `speaker.yaml:12:7: peers[1].holdTimeSec: must be 0 or 3..65535 (value 2)`.
 * Syntax errors come from the `yaml` package with its line/column; semantic errors are thrown by the
 * caller's decoder as `ConfigFieldError` with a field path, which this module maps back to the line of
 * that node. `FieldReader` is a small helper for such decoders; unknown keys are refused by name,
 * because a misspelt option silently ignored is the worst kind of config bug.
 */
import { readFile } from "node:fs/promises";
import { isMap, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { TabbyError } from "./errors.js";

export type FieldPath = readonly (string | number)[];

/** Thrown by decoders: what is wrong with the value at `path`. */
export class ConfigFieldError extends Error {
  override readonly name = "ConfigFieldError";
  constructor(
    readonly path: FieldPath,
    readonly detail: string,
    readonly value?: unknown,
  ) {
    super(`${formatPath(path)}: ${detail}`);
  }
}

export function formatPath(path: FieldPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out === "" ? "(document)" : out;
}

/** The mapping key written at `offset` (plain or quoted), for naming a duplicate. */
function keyAt(text: string, offset: number): string {
  const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^:,}\]\n]+)/.exec(text.slice(offset));
  const key = (m?.[1] ?? "").trim();
  return /^["']/.test(key) ? key.slice(1, -1) : key;
}

/** A YAML parse error in one line; a duplicate key is named (the library only says keys must be unique). */
export function yamlSyntaxRule(
  err: { code: string; message: string; pos: [number, number] },
  text: string,
): string {
  return err.code === "DUPLICATE_KEY"
    ? `YAML syntax: duplicate key ${JSON.stringify(keyAt(text, err.pos[0]))} in one mapping`
    : `YAML syntax: ${firstLine(err.message)}`;
}

/** Parses and decodes YAML text; `file` is only used in messages. Throws `TabbyError` code CONFIG_INVALID. */
export function parseYamlConfig<T>(text: string, file: string, decode: (raw: unknown) => T): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0]);
    throw new TabbyError("CONFIG_INVALID", yamlSyntaxRule(first, text), {
      file,
      line: pos.line,
      column: pos.col,
    });
  }
  try {
    return decode(doc.toJS({ maxAliasCount: 100 }));
  } catch (e) {
    if (!(e instanceof ConfigFieldError)) throw e;
    const pos = locate(doc.contents, e.path, lineCounter);
    throw new TabbyError(
      "CONFIG_INVALID",
      e.detail,
      {
        file,
        field: formatPath(e.path),
        ...(e.value !== undefined ? { value: e.value } : {}),
        ...(pos ?? {}),
      },
      { cause: e },
    );
  }
}

export async function loadYamlConfig<T>(file: string, decode: (raw: unknown) => T): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new TabbyError("CONFIG_UNREADABLE", `cannot read config: ${(e as Error).message}`, { file });
  }
  return parseYamlConfig(text, file, decode);
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0] ?? s;
}

/** Line/column of the deepest node on `path` that exists (a missing field points at its parent). */
function locate(
  root: unknown,
  path: FieldPath,
  lc: LineCounter,
): { line: number; column: number } | undefined {
  let node = root as Node | null | undefined;
  let best = node;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (pair === undefined) break;
      // Point at the key when the value is a scalar on the same line; at the value for nested nodes.
      node = (pair.value ?? pair.key) as Node | null;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key] as Node | undefined;
    } else break;
    if (node == null) break;
    best = node;
  }
  const start = best?.range?.[0];
  if (start === undefined) return undefined;
  const pos = lc.linePos(start);
  return { line: pos.line, column: pos.col };
}

/**
 * Reads one YAML mapping field by field. Each getter records the key as seen; `done()` refuses the
 * keys nobody asked for.
 */
export class FieldReader {
  private readonly seen = new Set<string>();
  private readonly obj: Record<string, unknown>;

  constructor(
    raw: unknown,
    readonly path: FieldPath = [],
  ) {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new ConfigFieldError(path, "must be a mapping", raw);
    }
    this.obj = raw as Record<string, unknown>;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.obj[key];
  }

  /** `read()` when the key is present, else undefined; either way the key counts as known. */
  optional<T>(key: string, read: () => T): T | undefined {
    this.seen.add(key);
    return this.has(key) ? read() : undefined;
  }

  string(key: string): string;
  string(key: string, fallback: string): string;
  string(key: string, fallback?: string): string {
    const v = this.take(key, fallback);
    if (typeof v !== "string" || v === "") throw this.fail(key, "must be a non-empty string", v);
    return v;
  }

  optionalString(key: string): string | undefined {
    this.seen.add(key);
    return this.has(key) ? this.string(key) : undefined;
  }

  int(key: string, range: { min: number; max: number }, fallback?: number): number {
    const v = this.take(key, fallback);
    if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > range.max) {
      throw this.fail(key, `must be an integer in ${range.min}..${range.max}`, v);
    }
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.take(key, fallback);
    if (typeof v !== "boolean") throw this.fail(key, "must be true or false", v);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.take(key, fallback);
    if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
      throw this.fail(key, `must be one of ${allowed.join(", ")}`, v);
    }
    return v as T;
  }

  object<T>(key: string, decode: (r: FieldReader) => T): T {
    const r = new FieldReader(this.take(key, undefined), [...this.path, key]);
    const out = decode(r);
    r.done();
    return out;
  }

  list<T>(
    key: string,
    decodeItem: (item: unknown, path: FieldPath) => T,
    fallback?: readonly unknown[],
  ): T[] {
    const v = this.take(key, fallback);
    if (!Array.isArray(v)) throw this.fail(key, "must be a list", v);
    return v.map((item, i) => decodeItem(item, [...this.path, key, i]));
  }

  /** Refuses keys that no getter asked for. */
  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) throw new ConfigFieldError([...this.path, k], "unknown field");
    }
  }

  fail(key: string, detail: string, value?: unknown): ConfigFieldError {
    return new ConfigFieldError([...this.path, key], detail, value);
  }

  private take(key: string, fallback: unknown): unknown {
    this.seen.add(key);
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw this.fail(key, "is required");
      return fallback;
    }
    return v;
  }
}
