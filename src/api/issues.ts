/**
 * Validation problems as data, and the error that carries them. Every rule reports the field path, the
 * value as written and the rule in words; a document's problems are collected (not stopped at the first)
 * so that the user fixes them in one round. Rendered one per line as
 * `<file>:<line>:<col>: <Kind>/<name>: <field>: <value>: <rule>`, the shape the issue asks for, with the
 * position added when the source is known. Code RESOURCE_INVALID.
 */
import { TabbyError } from "../util/errors.js";
import { type FieldPath, formatPath } from "../util/yaml-config.js";

export type { FieldPath } from "../util/yaml-config.js";

export interface FieldIssue {
  readonly path: FieldPath;
  readonly rule: string;
  /** The offending value; absent for "is required". */
  readonly value?: unknown;
}

/** A FieldIssue placed in its input: which document, which resource, which line. */
export interface LocatedIssue extends FieldIssue {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly kind?: string;
  readonly name?: string;
  /** 1-based index of the document in a multi-document file. */
  readonly document?: number;
}

/** Collects issues while a decoder or validator walks a resource. */
export class Issues {
  readonly list: FieldIssue[] = [];

  add(path: FieldPath, rule: string, value?: unknown): void {
    this.list.push(value === undefined ? { path, rule } : { path, rule, value });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

export function renderValue(v: unknown): string {
  if (typeof v === "string") {
    // A pasted blob (or a binary file read as text) must not be echoed whole.
    const s = JSON.stringify(v);
    return s.length > 80 ? `${JSON.stringify(v.slice(0, 60)).slice(0, -1)}..." (${v.length} characters)` : s;
  }
  if (typeof v === "bigint") return v.toString();
  try {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

export function renderIssue(i: LocatedIssue): string {
  const parts: string[] = [];
  if (i.file !== undefined) {
    let where = i.file;
    if (i.line !== undefined) where += `:${i.line}${i.column !== undefined ? `:${i.column}` : ""}`;
    parts.push(where);
  }
  if (i.kind !== undefined || i.name !== undefined) {
    parts.push(`${i.kind ?? "(unknown kind)"}/${i.name ?? "(no name)"}`);
  } else if (i.document !== undefined) {
    parts.push(`document ${i.document}`);
  }
  if (i.path.length > 0) parts.push(formatPath(i.path));
  else if (parts.length === 0) parts.push("(document)");
  if (i.value !== undefined) parts.push(renderValue(i.value));
  parts.push(i.rule);
  return parts.join(": ");
}

export class ResourceInvalidError extends TabbyError {
  override readonly name = "ResourceInvalidError";

  constructor(readonly issues: readonly LocatedIssue[]) {
    super("RESOURCE_INVALID", issues.map(renderIssue).join("\n"));
  }
}
