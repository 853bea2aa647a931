/**
 * Reads the resources of a `-f` file: multi-document YAML (`---`), JSON, a `<Kind>List` or a top-level
 * list, as calicoctl's resourcemgr accepts them. Every document is decoded and checked, and every
 * problem is placed at its file, line and column, so that one run reports all of them. Pure over the
 * text; reading the file is the caller's job.
 */
import { isMap, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
import type { FieldPath, LocatedIssue } from "../../api/issues.js";
import type { KindDef } from "../../api/kind.js";
import type { Resource } from "../../api/meta.js";
import { decodeResource, expandDocument } from "../../api/resource.js";
import { yamlSyntaxRule } from "../../util/yaml-config.js";

export interface LoadedResource {
  readonly resource: Resource;
  readonly def: KindDef;
  readonly file: string;
  /** Where the resource starts. */
  readonly line?: number;
  readonly column?: number;
  /** 1-based document number in the file. */
  readonly document: number;
  /** Line and column of a field of this resource (`["spec", "cidr"]`). */
  locate(path: FieldPath): { line?: number; column?: number };
}

export interface LoadResult {
  readonly resources: LoadedResource[];
  readonly issues: LocatedIssue[];
  /** Resources found, valid or not. */
  readonly count: number;
}

/** Where a text read from a file shows it is not text at all: a NUL, or bytes that are not UTF-8. */
function binaryAt(text: string): { byte: number; nul: boolean } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c === 0xfffd) return { byte: Buffer.byteLength(text.slice(0, i), "utf8"), nul: c === 0 };
  }
  return undefined;
}

export function loadDocuments(text: string, file: string): LoadResult {
  const binary = binaryAt(text);
  if (binary !== undefined) {
    const issue: LocatedIssue = {
      file,
      path: [],
      rule: `not YAML or JSON: the file holds binary data (byte ${binary.byte} is ${binary.nul ? "a NUL" : "not UTF-8"})`,
    };
    return { resources: [], issues: [issue], count: 1 };
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const resources: LoadedResource[] = [];
  const issues: LocatedIssue[] = [];
  let count = 0;
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, d) => {
    const document = d + 1;
    const err = doc.errors[0];
    if (err !== undefined) {
      const pos = lineCounter.linePos(err.pos[0]);
      issues.push({
        file,
        line: pos.line,
        column: pos.col,
        document,
        path: [],
        rule: yamlSyntaxRule(err, text),
      });
      count++;
      return;
    }
    if (doc.contents === null) return; // an empty document (a trailing "---")
    const raw: unknown = doc.toJS({ maxAliasCount: 100 });
    if (raw === null || raw === undefined) return;
    for (const item of expandDocument(raw)) {
      count++;
      const at = (path: FieldPath) => locate(doc.contents, [...item.path, ...path], lineCounter);
      const result = decodeResource(item.raw);
      if (result.ok) {
        const pos = at([]);
        resources.push({ resource: result.resource, def: result.def, file, document, ...pos, locate: at });
        continue;
      }
      for (const i of result.issues) {
        issues.push({
          ...i,
          file,
          document,
          ...(result.kind !== undefined ? { kind: result.kind } : {}),
          ...(result.name !== undefined ? { name: result.name } : {}),
          ...at(i.path),
        });
      }
    }
  });
  return { resources, issues, count };
}

/** Line and column of the deepest node on `path` that exists (a missing field points at its parent). */
export function locate(root: unknown, path: FieldPath, lc: LineCounter): { line?: number; column?: number } {
  let node = root as Node | null | undefined;
  let best = node;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (pair === undefined) break;
      node = (pair.value ?? pair.key) as Node | null;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key] as Node | undefined;
    } else break;
    if (node == null) break;
    best = node;
  }
  const start = best?.range?.[0];
  if (start === undefined) return {};
  const pos = lc.linePos(start);
  return { line: pos.line, column: pos.col };
}
