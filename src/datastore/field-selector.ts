/**
 * Kubernetes field selectors (k8s.io/apimachinery/pkg/fields: `key=value`, `key==value`, `key!=value`
 * terms joined by commas, with `\` escaping `,`, `=` and `!`), limited to the fields every backend can
 * select on: `metadata.name` and `metadata.namespace`, which is also all an API server offers for custom
 * resources. A selector on another field is refused with DATASTORE_UNSUPPORTED, as the API server
 * refuses it with 400 BadRequest. Pure.
 */
import type { Resource } from "../api/meta.js";
import { DatastoreError } from "./errors.js";

export interface FieldTerm {
  readonly field: "metadata.name" | "metadata.namespace";
  readonly op: "=" | "!=";
  readonly value: string;
}

const FIELDS = new Set(["metadata.name", "metadata.namespace"]);

/** Splits on unescaped `sep`, keeping escapes in place for the next step. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescapeTerm(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/** Parses a selector; the empty string selects everything. */
export function parseFieldSelector(selector: string): FieldTerm[] {
  if (selector.trim() === "") return [];
  return splitUnescaped(selector, ",").map((term) => {
    const m = /^((?:[^=!\\]|\\.)*)(==|=|!=)(.*)$/.exec(term.trim());
    if (m === null) {
      throw new DatastoreError(
        "DATASTORE_UNSUPPORTED",
        `invalid field selector term ${JSON.stringify(term)}: expected key=value, key==value or key!=value`,
      );
    }
    const field = unescapeTerm(m[1]!.trim());
    if (!FIELDS.has(field)) {
      throw new DatastoreError(
        "DATASTORE_UNSUPPORTED",
        `field selector ${JSON.stringify(field)} is not supported; select on metadata.name or metadata.namespace`,
      );
    }
    return {
      field: field as FieldTerm["field"],
      op: m[2] === "!=" ? "!=" : "=",
      value: unescapeTerm(m[3]!.trim()),
    };
  });
}

/** The metadata fields a selector reads, from any object with Kubernetes metadata. */
export function fieldValue(obj: Pick<Resource, "metadata">, field: FieldTerm["field"]): string {
  return (field === "metadata.name" ? obj.metadata.name : obj.metadata.namespace) ?? "";
}

export function compileFieldSelector(
  selector: string | undefined,
): ((obj: Pick<Resource, "metadata">) => boolean) | undefined {
  if (selector === undefined || selector.trim() === "") return undefined;
  const terms = parseFieldSelector(selector);
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) === (t.op === "="));
}
