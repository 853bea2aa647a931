/**
 * The selector as the rest of tabby uses it: parse once, keep the canonical text, match label maps.
 * `compileSelector("rack == 'a'")` throws SelectorSyntaxError (code SELECTOR_SYNTAX) on bad input.
 */
import { evaluateSelector, type Labels } from "./evaluate.js";
import { parseSelector, type SelectorNode } from "./parse.js";
import { printSelector } from "./print.js";

export { SelectorSyntaxError } from "./errors.js";
export type { Labels } from "./evaluate.js";
export type { SelectorNode } from "./parse.js";

export interface Selector {
  readonly root: SelectorNode;
  /** Calico's canonical text (`(a == "b" && has(c))`). */
  readonly text: string;
  matches(labels: Labels): boolean;
}

export function compileSelector(source: string): Selector {
  const root = parseSelector(source);
  return {
    root,
    text: printSelector(root),
    matches: (labels) => evaluateSelector(root, labels),
  };
}
