import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloneJson, jsonEqual } from "../../../src/util/json-data.js";

/** JSON with keys sorted at every level: equal strings mean equal data up to key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

const json = fc.jsonValue();

describe("cloneJson", () => {
  it("copies deeply: changing the copy leaves the original alone", () => {
    const original = { spec: { cidr: "10.0.0.0/16", list: [{ a: 1 }] }, metadata: { labels: { x: "y" } } };
    const copy = cloneJson(original);
    copy.spec.list[0]!.a = 2;
    copy.metadata.labels.x = "z";
    expect(original).toEqual({
      spec: { cidr: "10.0.0.0/16", list: [{ a: 1 }] },
      metadata: { labels: { x: "y" } },
    });
  });

  it("keeps a __proto__ key as data, as JSON.parse does", () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const copy = cloneJson(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":true}}');
    expect(jsonEqual(copy, parsed)).toBe(true);
  });

  it("drops properties holding undefined, as JSON does", () => {
    expect(Object.keys(cloneJson({ a: 1, b: undefined }))).toEqual(["a"]);
  });

  it("round-trips any JSON value to the same JSON", () => {
    fc.assert(fc.property(json, (v) => JSON.stringify(cloneJson(v)) === JSON.stringify(v)));
  });
});

describe("jsonEqual", () => {
  it("ignores key order and undefined properties but not values, nesting or array order", () => {
    expect(jsonEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: "1" }, { a: 1 })).toBe(false);
    expect(jsonEqual({ a: [] }, { a: {} })).toBe(false);
    expect(jsonEqual({ a: { b: 1 } }, { a: { b: 1, c: 2 } })).toBe(false);
  });

  it("agrees with comparing key-sorted JSON for any two values", () => {
    fc.assert(
      fc.property(json, json, (a, b) => jsonEqual(a, b) === (canonical(a) === canonical(b))),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(json, (a) => jsonEqual(a, JSON.parse(JSON.stringify(a)))));
  });
});
