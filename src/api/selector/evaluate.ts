/**
 * Evaluates a parsed selector against a label map, with Calico's semantics (parser/ast.go `Evaluate`):
 * a missing label makes `==`, `in`, `contains`, `starts with`, `ends with` false and makes `!=` and
 * `not in` true; `all()` and `global()` match everything. Pure.
 */
import type { SelectorNode } from "./parse.js";

export type Labels = Readonly<Record<string, string>>;

export function evaluateSelector(node: SelectorNode, labels: Labels): boolean {
  switch (node.op) {
    case "all":
    case "global":
      return true;
    case "has":
      return Object.hasOwn(labels, node.label);
    case "not":
      return !evaluateSelector(node.operand, labels);
    case "and":
      return node.operands.every((o) => evaluateSelector(o, labels));
    case "or":
      return node.operands.some((o) => evaluateSelector(o, labels));
  }
  const value = Object.hasOwn(labels, node.label) ? labels[node.label] : undefined;
  switch (node.op) {
    case "eq":
      return value === node.value;
    case "ne":
      return value !== node.value;
    case "contains":
      return value?.includes(node.value) === true;
    case "startsWith":
      return value?.startsWith(node.value) === true;
    case "endsWith":
      return value?.endsWith(node.value) === true;
    case "in":
      return value !== undefined && node.values.includes(value);
    case "notIn":
      return value === undefined || !node.values.includes(value);
  }
}
