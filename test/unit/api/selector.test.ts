import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateSelector, type Labels } from "../../../src/api/selector/evaluate.js";
import { parseSelector, type SelectorNode, usesGlobal } from "../../../src/api/selector/parse.js";
import { printSelector } from "../../../src/api/selector/print.js";
import { compileSelector, SelectorSyntaxError } from "../../../src/api/selector/selector.js";
import { isTabbyError } from "../../../src/util/errors.js";

const canon = (s: string) => printSelector(parseSelector(s));

describe("selector parser: the language of Calico's docs", () => {
  it.each([
    ["", "all()"],
    ["all()", "all()"],
    ["all( )", "all()"],
    ["global()", "global()"],
    ["has(rack)", "has(rack)"],
    ["has( rack )", "has(rack)"],
    ["!has(rack)", "!has(rack)"],
    ["!!has(rack)", "has(rack)"],
    ["!!!has(rack)", "!has(rack)"],
    ["rack == 'rack-1'", 'rack == "rack-1"'],
    ['rack=="rack-1"', 'rack == "rack-1"'],
    ["rack != 'a'", 'rack != "a"'],
    ["zone in { 'a', \"b\", 'a' }", 'zone in {"a", "b"}'],
    ["zone in {}", "zone in {}"],
    ["zone in {'b', 'a',}", 'zone in {"a", "b"}'],
    ["zone not in {'x'}", 'zone not in {"x"}'],
    ["zone notin {'x'}", 'zone not in {"x"}'],
    ["name contains 'web'", 'name contains "web"'],
    ["name starts with 'web'", 'name starts with "web"'],
    ["name startswith 'web'", 'name starts with "web"'],
    ["name ends with '-1'", 'name ends with "-1"'],
    ["a == 'x' && b == 'y'", '(a == "x" && b == "y")'],
    ["a == 'x' || b == 'y' && c == 'z'", '(a == "x" || (b == "y" && c == "z"))'],
    ["(a == 'x' || b == 'y') && c == 'z'", '((a == "x" || b == "y") && c == "z")'],
    ["!(a == 'x')", '!a == "x"'],
    ["quote == 'say \"hi\"'", "quote == 'say \"hi\"'"],
    ["kubernetes.io/hostname == 'node-1'", 'kubernetes.io/hostname == "node-1"'],
    ["route-reflector == 'true'", 'route-reflector == "true"'],
    ["has(all) && all == 'x'", '(has(all) && all == "x")'],
    ["\tcontains contains 'in'", 'contains contains "in"'],
  ])("%j prints as %j", (input, printed) => {
    expect(canon(input)).toBe(printed);
    // The printed form parses back to the same tree.
    expect(parseSelector(printed)).toEqual(parseSelector(input));
  });

  it("finds global() where IPPool selectors refuse it", () => {
    expect(usesGlobal(parseSelector("global()"))).toBe(true);
    expect(usesGlobal(parseSelector("a == 'b' || !global()"))).toBe(true);
    expect(usesGlobal(parseSelector("a == 'global()'"))).toBe(false);
  });
});

describe("selector parser: errors point at the character", () => {
  it.each([
    ["rack = 'a'", 6, 'expected "=="'],
    ["rack == 'a", 9, "unterminated string"],
    ["rack", 5, "expected an operator after label"],
    ["rack 'a'", 6, "expected an operator after label"],
    ["rack == a", 9, "expected a quoted string"],
    ["a == 'x' & b == 'y'", 10, 'expected "&&"'],
    ["a == 'x' | b == 'y'", 10, 'expected "||"'],
    ["(a == 'x'", 10, 'expected ")"'],
    ["a == 'x')", 9, 'unexpected ")"'],
    ["a in ('x')", 6, 'expected "{"'],
    ["a in {'x' 'y'}", 11, 'expected "}"'],
    ["has(a", 6, 'expected ")" to close has('],
    ["has()", 5, "expected a label name"],
    ["all(x)", 5, 'expected ")" after all('],
    ["a == 'x' &&", 12, "expected a label, has(), all()"],
    ["a == 'x' b == 'y'", 10, "unexpected label"],
    ["a\n== 'x'", 2, "expected an operator"],
    ["é == 'x'", 1, "expected a label name"],
    [`${"x".repeat(513)} == 'y'`, 1, "label longer than 512"],
  ])("%j fails at character %i: %s", (input, char, detail) => {
    let err: unknown;
    try {
      parseSelector(input);
    } catch (e) {
      err = e;
    }
    expect(isTabbyError(err, "SELECTOR_SYNTAX")).toBe(true);
    const e = err as SelectorSyntaxError;
    expect(e.offset + 1).toBe(char);
    expect(e.detail).toContain(detail);
    expect(e.rule).toMatch(new RegExp(`at character ${char}$`));
  });
});

describe("selector evaluation (Calico semantics)", () => {
  const node = { "kubernetes.io/hostname": "node-1", rack: "r1", role: "worker-big" };
  it.each([
    ["all()", true],
    ["global()", true],
    ["has(rack)", true],
    ["has(zone)", false],
    ["rack == 'r1'", true],
    ["zone == 'r1'", false],
    ["rack != 'r2'", true],
    ["zone != 'r2'", true], // a missing label is "not equal"
    ["rack in {'r1', 'r2'}", true],
    ["zone in {'r1'}", false],
    ["rack not in {'r1'}", false],
    ["zone not in {'r1'}", true], // a missing label is "not in"
    ["role contains 'big'", true],
    ["zone contains ''", false],
    ["role starts with 'worker'", true],
    ["role ends with 'big'", true],
    ["rack == 'r1' && !has(zone)", true],
    ["rack == 'r2' || role == 'worker-big'", true],
  ])("%j on a worker node is %s", (sel, want) => {
    expect(compileSelector(sel).matches(node)).toBe(want);
  });
});

// ---- property tests ----------------------------------------------------------------------------

const labelArb = fc.constantFrom("a", "b", "rack", "kubernetes.io/hostname", "x_y-z.w", "in", "all", "has");
const valueArb = fc.oneof(
  fc.constantFrom("", "r1", "r2", "big", "worker-big", "in", "a b", 'q"uote', "it's"),
  fc.stringMatching(/^[a-z0-9 ._-]{0,6}$/),
);
const nodeArb: fc.Arbitrary<SelectorNode> = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant<SelectorNode>({ op: "all" }),
    labelArb.map((label): SelectorNode => ({ op: "has", label })),
    fc
      .record({
        op: fc.constantFrom("eq", "ne", "contains", "startsWith", "endsWith") as fc.Arbitrary<
          "eq" | "ne" | "contains" | "startsWith" | "endsWith"
        >,
        label: labelArb,
        value: valueArb,
      })
      .map((n): SelectorNode => n),
    fc
      .record({
        op: fc.constantFrom("in", "notIn") as fc.Arbitrary<"in" | "notIn">,
        label: labelArb,
        values: fc.uniqueArray(valueArb, { maxLength: 3 }).map((v) => [...v].sort()),
      })
      .map((n): SelectorNode => n),
    tie("node")
      .filter((n) => n.op !== "not")
      .map((operand): SelectorNode => ({ op: "not", operand })),
    fc
      .record({
        op: fc.constantFrom("and", "or") as fc.Arbitrary<"and" | "or">,
        operands: fc.array(tie("node"), { minLength: 2, maxLength: 3 }),
      })
      .map((n): SelectorNode => n),
  ),
})).node;

/** Independent reading of the semantics, written from the docs rather than from evaluate.ts. */
function reference(n: SelectorNode, labels: Map<string, string>): boolean {
  switch (n.op) {
    case "all":
    case "global":
      return true;
    case "not":
      return !reference(n.operand, labels);
    case "and":
      return n.operands.map((o) => reference(o, labels)).reduce((x, y) => x && y, true);
    case "or":
      return n.operands.map((o) => reference(o, labels)).reduce((x, y) => x || y, false);
    case "has":
      return labels.has(n.label);
  }
  const has = labels.has(n.label);
  const v = labels.get(n.label) ?? "";
  switch (n.op) {
    case "eq":
      return has && v === n.value;
    case "ne":
      return !has || v !== n.value;
    case "contains":
      return has && v.indexOf(n.value) >= 0;
    case "startsWith":
      return has && v.slice(0, n.value.length) === n.value;
    case "endsWith":
      return has && v.length >= n.value.length && v.slice(v.length - n.value.length) === n.value;
    case "in":
      return has && n.values.some((x) => x === v);
    case "notIn":
      return !has || n.values.every((x) => x !== v);
  }
}

const labelsArb = fc.dictionary(labelArb, valueArb, { maxKeys: 5 });

describe("selector properties", () => {
  it("print ∘ parse is the identity on printed selectors, and parse ∘ print on trees", () => {
    fc.assert(
      fc.property(nodeArb, (tree) => {
        const text = printSelector(tree);
        const reparsed = parseSelector(text);
        expect(reparsed).toEqual(tree);
        expect(printSelector(reparsed)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it("evaluation of the parsed text agrees with the reference reading of the tree", () => {
    fc.assert(
      fc.property(nodeArb, labelsArb, (tree, labels) => {
        const parsed = parseSelector(printSelector(tree));
        expect(evaluateSelector(parsed, labels as Labels)).toBe(
          reference(tree, new Map(Object.entries(labels))),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("arbitrary text either parses or fails with SELECTOR_SYNTAX inside the input", () => {
    const alphabet = fc.constantFrom(
      ..."ab =!&|()'\"{},in notcsw".split(""),
      "has(",
      "all()",
      " in ",
      " && ",
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 20 }), (parts) => {
        const text = parts.join("");
        try {
          const tree = parseSelector(text);
          expect(parseSelector(printSelector(tree))).toEqual(tree);
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorSyntaxError);
          const err = e as SelectorSyntaxError;
          expect(err.offset).toBeGreaterThanOrEqual(0);
          expect(err.offset).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
