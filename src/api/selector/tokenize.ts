/**
 * Tokenizer for Calico's label-selector language, with the exact lexical rules of
 * libcalico-go/lib/selector/tokenizer/tokenizer.go: only space and tab are whitespace; labels are runs of
 * [A-Za-z0-9_./-] up to 512 characters; strings are '...' or "..." with no escapes; `has(`, `all(` and
 * `global(` are recognised only without a space before the parenthesis; after a label only an operator may
 * follow (`==`, `!=`, `in`, `not in`, `contains`, `starts with`, `ends with`). Every token carries the
 * offset where it starts so that errors can point at the character. Pure; the grammar is in parse.ts.
 */
import { SelectorSyntaxError } from "./errors.js";

export type TokenKind =
  | "label"
  | "string"
  | "{"
  | "}"
  | ","
  | "=="
  | "!="
  | "in"
  | "!"
  | "not in"
  | "contains"
  | "starts with"
  | "ends with"
  | "all"
  | "has"
  | "("
  | ")"
  | "&&"
  | "||"
  | "global"
  | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** Label name, string literal contents or the label inside `has(...)`; "" otherwise. */
  readonly value: string;
  /** 0-based offset of the token's first character in the selector. */
  readonly pos: number;
}

export const MAX_LABEL_LENGTH = 512;

export function isLabelChar(c: string): boolean {
  return (
    (c >= "a" && c <= "z") ||
    (c >= "A" && c <= "Z") ||
    (c >= "0" && c <= "9") ||
    c === "_" ||
    c === "." ||
    c === "/" ||
    c === "-"
  );
}

/** True when `s` is a label name the tokenizer accepts whole (Calico's `tokenizer.ValidLabel`). */
export function isValidSelectorLabel(s: string): boolean {
  if (s.length === 0 || s.length > MAX_LABEL_LENGTH) return false;
  for (const c of s) if (!isLabelChar(c)) return false;
  return true;
}

const isSpace = (c: string | undefined) => c === " " || c === "\t";

export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const skipSpace = () => {
    while (isSpace(input[i])) i++;
  };
  const fail = (detail: string, at: number): never => {
    throw new SelectorSyntaxError(detail, input, at);
  };
  // Reads a label at `i`; Calico's cutIdentifier (non-empty, at most 512 characters).
  const label = (): string => {
    const start = i;
    while (i < input.length && isLabelChar(input[i]!)) i++;
    if (i === start) fail("expected a label name", start);
    if (i - start > MAX_LABEL_LENGTH) fail(`label longer than ${MAX_LABEL_LENGTH} characters`, start);
    return input.slice(start, i);
  };
  // A keyword must end at a word boundary: end of input or a non-label character.
  const keyword = (word: string): boolean => {
    if (!input.startsWith(word, i)) return false;
    const after = input[i + word.length];
    if (after !== undefined && isLabelChar(after)) return false;
    i += word.length;
    return true;
  };
  // "starts with", "ends with", "not in": whitespace between the words is optional, as in Calico.
  const twoWords = (a: string, b: string): boolean => {
    if (!input.startsWith(a, i)) return false;
    let j = i + a.length;
    while (isSpace(input[j])) j++;
    if (!input.startsWith(b, j)) return false;
    const after = input[j + b.length];
    if (after !== undefined && isLabelChar(after)) return false;
    i = j + b.length;
    return true;
  };
  const push = (kind: TokenKind, pos: number, value = "") => tokens.push({ kind, value, pos });

  for (;;) {
    skipSpace();
    const start = i;
    const c = input[i];
    if (c === undefined) {
      push("eof", start);
      return tokens;
    }
    const last = tokens.at(-1)?.kind;
    switch (c) {
      case "(":
      case ")":
      case "{":
      case "}":
      case ",":
        push(c, start);
        i++;
        continue;
      case '"':
      case "'": {
        const end = input.indexOf(c, i + 1);
        if (end < 0) fail("unterminated string", start);
        push("string", start, input.slice(i + 1, end));
        i = end + 1;
        continue;
      }
      case "=":
        if (input[i + 1] !== "=") fail('expected "=="', start);
        push("==", start);
        i += 2;
        continue;
      case "!":
        if (input[i + 1] === "=") {
          push("!=", start);
          i += 2;
        } else {
          push("!", start);
          i++;
        }
        continue;
      case "&":
        if (input[i + 1] !== "&") fail('expected "&&"', start);
        push("&&", start);
        i += 2;
        continue;
      case "|":
        if (input[i + 1] !== "|") fail('expected "||"', start);
        push("||", start);
        i += 2;
        continue;
    }
    if (last === "label") {
      if (keyword("contains")) push("contains", start);
      else if (twoWords("starts", "with")) push("starts with", start);
      else if (twoWords("ends", "with")) push("ends with", start);
      else if (twoWords("not", "in")) push("not in", start);
      else if (keyword("in")) push("in", start);
      else fail(`expected an operator after label ${JSON.stringify(tokens.at(-1)?.value)}`, start);
      continue;
    }
    if (input.startsWith("has(", i)) {
      i += 4;
      skipSpace();
      const name = label();
      skipSpace();
      if (input[i] !== ")") fail('expected ")" to close has(', i);
      i++;
      push("has", start, name);
      continue;
    }
    if (input.startsWith("all(", i) || input.startsWith("global(", i)) {
      const kind = input.startsWith("all(", i) ? "all" : "global";
      i += kind.length + 1;
      skipSpace();
      if (input[i] !== ")") fail(`expected ")" after ${kind}(`, i);
      i++;
      push(kind, start);
      continue;
    }
    push("label", start, label());
  }
}
