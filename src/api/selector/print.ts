/**
 * Canonical text of a parsed selector, as Calico's `Selector.String()` prints it (parser/ast.go
 * collectFragments): `&&`/`||` groups always in parentheses, values in double quotes unless they contain
 * one (then single quotes), set members sorted. parse(print(x)) gives x back, so the printed form is what
 * tabby stores and compares. Pure.
 */
import type { SelectorNode } from "./parse.js";

const VALUE_OP_TEXT = {
  eq: " == ",
  ne: " != ",
  contains: " contains ",
  startsWith: " starts with ",
  endsWith: " ends with ",
} as const;

export function printSelector(node: SelectorNode): string {
  switch (node.op) {
    case "all":
      return "all()";
    case "global":
      return "global()";
    case "has":
      return `has(${node.label})`;
    case "eq":
    case "ne":
    case "contains":
    case "startsWith":
    case "endsWith":
      return `${node.label}${VALUE_OP_TEXT[node.op]}${quote(node.value)}`;
    case "in":
    case "notIn":
      return `${node.label} ${node.op === "in" ? "in" : "not in"} {${node.values.map(quote).join(", ")}}`;
    case "not":
      return `!${printSelector(node.operand)}`;
    case "and":
    case "or":
      return `(${node.operands.map(printSelector).join(node.op === "and" ? " && " : " || ")})`;
  }
}

function quote(s: string): string {
  return s.includes('"') ? `'${s}'` : `"${s}"`;
}
