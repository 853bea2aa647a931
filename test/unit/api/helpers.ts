/** Shared helpers for resource tests: decode YAML text the way tabbyctl does, and assert on issues. */
import { expect } from "vitest";
import { parse } from "yaml";
import type { FieldIssue } from "../../../src/api/issues.js";
import type { Resource } from "../../../src/api/meta.js";
import { type DecodeResult, decodeResource } from "../../../src/api/resource.js";
import { formatPath } from "../../../src/util/yaml-config.js";

export function decodeYaml(text: string): DecodeResult {
  return decodeResource(parse(text));
}

/** Decodes and expects success; returns the stored form. */
export function accept(text: string): Resource {
  const r = decodeYaml(text);
  if (!r.ok) throw new Error(`expected valid, got:\n${r.issues.map(show).join("\n")}`);
  return r.resource;
}

export function show(i: FieldIssue): string {
  return `${formatPath(i.path)}: ${i.value === undefined ? "" : `${JSON.stringify(i.value)}: `}${i.rule}`;
}

/** Decodes and expects an issue at `path` whose rule contains `rule`. */
export function refuse(text: string, path: string, rule: string): FieldIssue[] {
  const r = decodeYaml(text);
  expect(r.ok, `expected ${path} to be refused`).toBe(false);
  const issues = r.ok ? [] : [...r.issues];
  const hit = issues.find((i) => formatPath(i.path) === path && i.rule.includes(rule));
  expect(
    hit,
    `no issue at ${path} containing ${JSON.stringify(rule)}; got:\n${issues.map(show).join("\n")}`,
  ).toBeDefined();
  return issues;
}

/** A resource document from a kind and a spec written as YAML lines. */
export function doc(kind: string, name: string, specYaml: string, extraMeta = ""): string {
  const spec = specYaml
    .trim()
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
  return `apiVersion: projectcalico.org/v3\nkind: ${kind}\nmetadata:\n  name: ${name}\n${extraMeta}spec:\n${spec}\n`;
}
