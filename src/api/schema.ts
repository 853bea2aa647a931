/**
 * One description per resource field, used three ways: to decode YAML/JSON strictly (unknown fields,
 * wrong types, enums, bounds, patterns refused by path, as calicoctl's UnmarshalStrict plus the CRD's
 * OpenAPI checks do), to apply CRD defaults, and to emit the CRD's structural schema (crd.ts). Field
 * presence follows Go's JSON tags: `omitempty` fields vanish when zero, pointer fields keep an explicit
 * zero, and non-omitempty fields are always printed. Semantic string formats (CIDR, selector, IP:port...)
 * are named here and checked by formats.ts. Pure. Cross-field rules live with each kind.
 */
import { parseAsNumber } from "./asn.js";
import { formatDuration, parseDuration } from "./duration.js";
import { type FormatName, formatChecks } from "./formats.js";
import type { FieldPath, Issues } from "./issues.js";

/** Go JSON presence: drop zero values (`omitempty`), keep what was set (pointer), or always print. */
export type Presence = "omitempty" | "optional" | "always";

interface Base {
  readonly description?: string;
  readonly presence?: Presence;
  /** The CRD says `nullable: true` (IPAMBlock allocations). */
  readonly nullable?: boolean;
  /** CEL rules emitted into the CRD as x-kubernetes-validations; tabby checks the same rules in code. */
  readonly cel?: readonly CelRule[];
  /** A default applied in code rather than by the CRD (clientv3's), for the reference docs. */
  readonly defaultDoc?: string;
}

export interface CelRule {
  readonly rule: string;
  readonly message: string;
  readonly reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired";
}

export interface StringSchema extends Base {
  readonly type: "string";
  readonly enum?: readonly string[];
  readonly maxLength?: number;
  /** RE2 pattern for the CRD, the JS equivalent for decoding, and the rule in words. */
  readonly pattern?: { readonly crd: string; readonly js: RegExp; readonly rule: string };
  /** OpenAPI `format` in the CRD (cidr, date-time). */
  readonly format?: string;
  /** tabby's semantic check (not emitted into the CRD). */
  readonly check?: FormatName;
  readonly default?: string;
}

export interface IntegerSchema extends Base {
  readonly type: "integer";
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: "int32" | "int64";
  readonly default?: number;
}

export interface BooleanSchema extends Base {
  readonly type: "boolean";
  readonly default?: boolean;
}

/** numorstring.ASNumber: integer or asdot string in, integer out; `integer/int32` in the CRD. */
export interface AsNumberSchema extends Base {
  readonly type: "asNumber";
}

/** metav1.Duration: Go duration text, normalised to Go's form; `string` in the CRD. */
export interface DurationSchema extends Base {
  readonly type: "duration";
}

export interface ArraySchema extends Base {
  readonly type: "array";
  readonly items: Schema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly listType?: "atomic" | "set" | "map";
  readonly listMapKeys?: readonly string[];
}

export interface ObjectSchema extends Base {
  readonly type: "object";
  readonly properties: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly mapType?: "atomic";
}

/** A string-keyed map (`additionalProperties` in the CRD). */
export interface MapSchema extends Base {
  readonly type: "map";
  readonly values: Schema;
}

export type Schema =
  | StringSchema
  | IntegerSchema
  | BooleanSchema
  | AsNumberSchema
  | DurationSchema
  | ArraySchema
  | ObjectSchema
  | MapSchema;

/** An object schema that names every property of `T`, no more and no fewer (checked by `satisfies`). */
export type ObjectSchemaOf<T> = Omit<ObjectSchema, "properties"> & {
  readonly properties: { readonly [K in keyof Required<T>]: Schema };
};

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const INT64 = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v}`;
}

function isZero(v: unknown): boolean {
  if (v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

function zeroOf(s: Schema): unknown {
  switch (s.type) {
    case "string":
    case "duration":
      return "";
    case "integer":
    case "asNumber":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "map":
      return {};
    case "object":
      return {};
  }
}

/**
 * Decodes `raw` against `schema`, recording problems in `issues`. Returns the clean value (defaults
 * applied, zero `omitempty` fields removed), or undefined when the field is absent or unusable.
 */
export function decodeValue(raw: unknown, schema: Schema, path: FieldPath, issues: Issues): unknown {
  if (raw === undefined || raw === null) {
    if ("default" in schema && schema.default !== undefined) return schema.default;
    if (schema.presence === "always") {
      return schema.type === "object" ? decodeValue({}, schema, path, issues) : zeroOf(schema);
    }
    return undefined;
  }
  const out = decodePresent(raw, schema, path, issues);
  if (out === undefined) return undefined;
  const presence = schema.presence ?? "omitempty";
  if (presence === "omitempty" && schema.type !== "object" && isZero(out)) {
    return "default" in schema && schema.default !== undefined ? schema.default : undefined;
  }
  return out;
}

function decodePresent(raw: unknown, schema: Schema, path: FieldPath, issues: Issues): unknown {
  switch (schema.type) {
    case "string": {
      if (typeof raw !== "string") {
        issues.add(path, `must be a string, not ${typeName(raw)}`, raw);
        return undefined;
      }
      if (raw === "") return raw;
      if (schema.maxLength !== undefined && raw.length > schema.maxLength) {
        issues.add(path, `must be at most ${schema.maxLength} characters`, raw);
        return undefined;
      }
      if (schema.enum !== undefined && !schema.enum.includes(raw)) {
        issues.add(path, `must be one of ${schema.enum.join(", ")}`, raw);
        return undefined;
      }
      if (schema.pattern !== undefined && !schema.pattern.js.test(raw)) {
        issues.add(path, schema.pattern.rule, raw);
        return undefined;
      }
      if (schema.check !== undefined) {
        const res = formatChecks[schema.check](raw);
        if (typeof res === "object") {
          issues.add(path, res.rule, raw);
          return undefined;
        }
        return res;
      }
      return raw;
    }
    case "integer": {
      const range = schema.format === "int64" ? INT64 : INT32;
      const min = schema.minimum ?? range.min;
      const max = schema.maximum ?? range.max;
      if (typeof raw !== "number" || !Number.isInteger(raw)) {
        issues.add(path, `must be an integer, not ${typeName(raw)}`, raw);
        return undefined;
      }
      if (raw < min || raw > max) {
        issues.add(path, `must be ${min}..${max}`, raw);
        return undefined;
      }
      return raw;
    }
    case "boolean":
      if (typeof raw !== "boolean") {
        issues.add(path, `must be true or false, not ${typeName(raw)}`, raw);
        return undefined;
      }
      return raw;
    case "asNumber": {
      const r = parseAsNumber(raw);
      if ("rule" in r) {
        issues.add(path, r.rule, raw);
        return undefined;
      }
      return r.asn;
    }
    case "duration": {
      if (typeof raw !== "string") {
        issues.add(path, `must be a duration string such as "120s" or "2m", not ${typeName(raw)}`, raw);
        return undefined;
      }
      const ns = parseDuration(raw);
      if (ns === undefined) {
        issues.add(path, 'must be a duration such as "120s", "2m" or "1h30m" (a number with a unit)', raw);
        return undefined;
      }
      if (ns < 0n) {
        issues.add(path, "must not be negative", raw);
        return undefined;
      }
      return formatDuration(ns);
    }
    case "array":
      return decodeArray(raw, schema, path, issues);
    case "map": {
      if (typeof raw !== "object" || Array.isArray(raw)) {
        issues.add(path, `must be a mapping, not ${typeName(raw)}`, raw);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        const d = decodeValue(v, { ...schema.values, presence: "always" }, [...path, k], issues);
        if (d !== undefined) out[k] = d;
      }
      return out;
    }
    case "object":
      return decodeObject(raw, schema, path, issues);
  }
}

function decodeArray(
  raw: unknown,
  schema: ArraySchema,
  path: FieldPath,
  issues: Issues,
): unknown[] | undefined {
  if (!Array.isArray(raw)) {
    issues.add(path, `must be a list, not ${typeName(raw)}`, raw);
    return undefined;
  }
  if (schema.maxItems !== undefined && raw.length > schema.maxItems) {
    issues.add(path, `must have at most ${schema.maxItems} items (has ${raw.length})`);
    return undefined;
  }
  if (schema.minItems !== undefined && raw.length < schema.minItems) {
    issues.add(path, `must have at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}`);
    return undefined;
  }
  const out: unknown[] = [];
  raw.forEach((item, i) => {
    if (item === null && schema.items.nullable) {
      out.push(null);
      return;
    }
    if (item === null || item === undefined) {
      issues.add([...path, i], "must not be null");
      return;
    }
    const d = decodeValue(item, { ...schema.items, presence: "always" }, [...path, i], issues);
    out.push(d);
  });
  if (schema.listType === "set") {
    const seen = new Set<string>();
    out.forEach((v, i) => {
      const key = JSON.stringify(v);
      if (seen.has(key)) issues.add([...path, i], "duplicate entry in a set", v);
      seen.add(key);
    });
  }
  return out;
}

export function decodeObject(
  raw: unknown,
  schema: ObjectSchema,
  path: FieldPath,
  issues: Issues,
): Record<string, unknown> | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issues.add(path, `must be a mapping, not ${typeName(raw)}`, raw);
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(schema.properties, key)) issues.add([...path, key], "unknown field");
  }
  // Output keeps the schema's order: Go's struct order, which is how calicoctl prints JSON.
  for (const [key, fieldSchema] of Object.entries(schema.properties)) {
    const v = decodeValue(obj[key], fieldSchema, [...path, key], issues);
    if (v !== undefined) out[key] = v;
  }
  for (const key of schema.required ?? []) {
    if (out[key] === undefined || out[key] === "") issues.add([...path, key], "is required");
  }
  const n = Object.keys(out).length;
  if (schema.minProperties !== undefined && n < schema.minProperties) {
    issues.add(
      path,
      `must set at least ${schema.minProperties} of ${Object.keys(schema.properties).join(", ")}`,
    );
  }
  if (schema.maxProperties !== undefined && n > schema.maxProperties) {
    issues.add(
      path,
      `must set at most ${schema.maxProperties} of ${Object.keys(schema.properties).join(", ")} (has ${Object.keys(out).join(", ")})`,
    );
  }
  return out;
}
