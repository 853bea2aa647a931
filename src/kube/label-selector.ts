/**
 * Kubernetes label selectors as the API server parses them from `?labelSelector=`
 * (k8s.io/apimachinery/pkg/labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * terms joined by commas, all of which must hold). Calico's richer selector language is the datastore
 * layer's business (src/api/selector); this is only what kubectl and client libraries send. Pure.
 */
import { badRequest } from "./status.js";

type Term =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: readonly string[] }
  | { readonly op: "exists" | "!exists"; readonly key: string };

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of s) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function parseTerm(t: string): Term {
  let m = /^([^\s=!()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
  if (m !== null) {
    const values = m[3]!
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    return { op: m[2] as "in" | "notin", key: m[1]!, values };
  }
  m = /^([^\s=!()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(t);
  if (m !== null) return { op: m[2] === "!=" ? "!=" : "=", key: m[1]!, value: m[3]! };
  m = /^!\s*([^\s=!()]+)$/.exec(t);
  if (m !== null) return { op: "!exists", key: m[1]! };
  m = /^([^\s=!()]+)$/.exec(t);
  if (m !== null) return { op: "exists", key: m[1]! };
  throw badRequest(`unable to parse requirement: ${JSON.stringify(t)}`);
}

export type LabelMatcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

export function compileLabelSelector(selector: string | null | undefined): LabelMatcher | undefined {
  if (selector === null || selector === undefined || selector.trim() === "") return undefined;
  const terms = splitTerms(selector).map(parseTerm);
  return (labels = {}) =>
    terms.every((t) => {
      const has = Object.hasOwn(labels, t.key);
      const v = labels[t.key];
      switch (t.op) {
        case "=":
          return has && v === t.value;
        case "!=":
          return !has || v !== t.value;
        case "in":
          return has && t.values.includes(v!);
        case "notin":
          return !has || !t.values.includes(v!);
        case "exists":
          return has;
        default: // "!exists"
          return !has;
      }
    });
}

/**
 * Field selectors over any dotted path of the object (`metadata.name`, `spec.nodeName`,
 * `status.phase`): `=`, `==`, `!=`, comma-joined. A missing field reads as "".
 */
export function compileFieldSelector(
  selector: string | null | undefined,
): ((obj: unknown) => boolean) | undefined {
  if (selector === null || selector === undefined || selector.trim() === "") return undefined;
  const terms = selector.split(",").map((t) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(t);
    if (m === null) throw badRequest(`invalid field selector: ${JSON.stringify(t)}`);
    return { path: m[1]!.split("."), eq: m[2] !== "!=", value: m[3]! };
  });
  return (obj) =>
    terms.every((t) => {
      let v: unknown = obj;
      for (const p of t.path)
        v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[p] : undefined;
      const s = v === undefined || v === null ? "" : String(v);
      return (s === t.value) === t.eq;
    });
}
