/**
 * Calico's selector grammar (libcalico-go/lib/selector/parser/parser.go) as a recursive-descent parser:
 * `or := and ("||" and)*`, `and := op ("&&" op)*`, `op := "!"* (all() | global() | has(l) | "(" or ")" |
 * l ==|!=|contains|starts with|ends with 'v' | l in|not in {'v', ...})`. Empty means all(); leading "!"s
 * collapse as in Calico; sets are sorted and de-duplicated; fields that forbid global() use `usesGlobal`.
 * Pure; printing is in print.ts and evaluation in evaluate.ts.
 */
import { SelectorSyntaxError } from "./errors.js";
import { type Token, type TokenKind, tokenize } from "./tokenize.js";

export type SelectorNode =
  | { readonly op: "all" }
  | { readonly op: "global" }
  | { readonly op: "has"; readonly label: string }
  | {
      readonly op: "eq" | "ne" | "contains" | "startsWith" | "endsWith";
      readonly label: string;
      readonly value: string;
    }
  | { readonly op: "in" | "notIn"; readonly label: string; readonly values: readonly string[] }
  | { readonly op: "not"; readonly operand: SelectorNode }
  | { readonly op: "and" | "or"; readonly operands: readonly SelectorNode[] };

const VALUE_OPS: Partial<Record<TokenKind, "eq" | "ne" | "contains" | "startsWith" | "endsWith">> = {
  "==": "eq",
  "!=": "ne",
  contains: "contains",
  "starts with": "startsWith",
  "ends with": "endsWith",
};

export function parseSelector(selector: string): SelectorNode {
  const tokens = tokenize(selector);
  let i = 0;
  const peek = (): Token => tokens[i]!;
  const fail = (detail: string, at: Token): never => {
    throw new SelectorSyntaxError(detail, selector, at.pos);
  };
  const describe = (t: Token) =>
    t.kind === "eof"
      ? "end of selector"
      : t.kind === "label"
        ? `label ${JSON.stringify(t.value)}`
        : t.kind === "string"
          ? `string ${JSON.stringify(t.value)}`
          : JSON.stringify(t.kind);

  const parseOr = (): SelectorNode => {
    const operands = [parseAnd()];
    while (peek().kind === "||") {
      i++;
      operands.push(parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { op: "or", operands };
  };
  const parseAnd = (): SelectorNode => {
    const operands = [parseOperation()];
    while (peek().kind === "&&") {
      i++;
      operands.push(parseOperation());
    }
    return operands.length === 1 ? operands[0]! : { op: "and", operands };
  };
  const parseOperation = (): SelectorNode => {
    let negated = false;
    while (peek().kind === "!") {
      negated = !negated;
      i++;
    }
    const node = parseTerm();
    return negated ? { op: "not", operand: node } : node;
  };
  const parseTerm = (): SelectorNode => {
    const t = peek();
    switch (t.kind) {
      case "all":
        i++;
        return { op: "all" };
      case "global":
        i++;
        return { op: "global" };
      case "has":
        i++;
        return { op: "has", label: t.value };
      case "(": {
        i++;
        const inner = parseOr();
        if (peek().kind !== ")") fail(`expected ")" but found ${describe(peek())}`, peek());
        i++;
        return inner;
      }
      case "label":
        return parseComparison(t);
      default:
        return fail(`expected a label, has(), all() or "(" but found ${describe(t)}`, t);
    }
  };
  const parseComparison = (labelTok: Token): SelectorNode => {
    i++;
    const opTok = peek();
    const label = labelTok.value;
    const valueOp = VALUE_OPS[opTok.kind];
    if (valueOp !== undefined) {
      i++;
      const v = peek();
      if (v.kind !== "string")
        fail(`expected a quoted string after ${opTok.kind} but found ${describe(v)}`, v);
      i++;
      return { op: valueOp, label, value: v.value };
    }
    if (opTok.kind === "in" || opTok.kind === "not in") {
      i++;
      const open = peek();
      if (open.kind !== "{") fail(`expected "{" after ${opTok.kind} but found ${describe(open)}`, open);
      i++;
      const values: string[] = [];
      while (peek().kind === "string") {
        values.push(peek().value);
        i++;
        if (peek().kind !== ",") break;
        i++;
      }
      if (peek().kind !== "}") fail(`expected "}" or a quoted string but found ${describe(peek())}`, peek());
      i++;
      return { op: opTok.kind === "in" ? "in" : "notIn", label, values: toSet(values) };
    }
    return fail(`expected an operator after label ${JSON.stringify(label)}`, opTok);
  };

  if (peek().kind === "eof") return { op: "all" };
  const root = parseOr();
  if (peek().kind !== "eof") fail(`unexpected ${describe(peek())}`, peek());
  return root;
}

/** Sorted, without duplicates: the set literal's meaning, and Calico's canonical print order. */
function toSet(values: readonly string[]): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** True when the selector uses `global()` anywhere (refused in IPPool selectors). */
export function usesGlobal(node: SelectorNode): boolean {
  switch (node.op) {
    case "global":
      return true;
    case "not":
      return usesGlobal(node.operand);
    case "and":
    case "or":
      return node.operands.some(usesGlobal);
    default:
      return false;
  }
}
