/**
 * The PATCH bodies the API server accepts, applied to a JSON object: JSON merge patch (RFC 7386, what
 * kubectl sends for custom resources), JSON patch (RFC 6902) and strategic merge patch (what kubectl
 * sends for built-in kinds). The strategic merge here covers what tabby's kinds need: maps merge, `null`
 * deletes, `$patch: replace|delete` directives, `$deleteFromPrimitiveList/` and `$setElementOrder/`
 * keys, and lists of objects merged by their merge key (`name`, else `type`, `containerPort`, `ip`) as
 * apimachinery's strategicpatch does for Pod containers, conditions and addresses. It does not read
 * OpenAPI patch metadata, so lists it cannot key are replaced, as in a merge patch. Pure.
 */

import { cloneJson } from "../util/json-data.js";
import { ApiError, badRequest } from "./status.js";

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return cloneJson(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const MERGE_KEYS = ["name", "type", "containerPort", "ip"];

function mergeKeyOf(list: readonly Json[]): string | undefined {
  if (list.length === 0 || !list.every(isObject)) return undefined;
  return MERGE_KEYS.find((k) => list.every((e) => (e as JsonObject)[k] !== undefined));
}

function strategicList(target: Json, patch: readonly Json[]): Json[] {
  const base = Array.isArray(target) ? target : [];
  const key = mergeKeyOf(patch.filter((e) => !(isObject(e) && e.$patch === "replace")));
  if (key === undefined || !base.every(isObject)) {
    return patch.filter((e) => !(isObject(e) && e.$patch !== undefined)).map((e) => cloneJson(e));
  }
  if (patch.some((e) => isObject(e) && e.$patch === "replace")) {
    return patch.filter((e) => !(isObject(e) && e.$patch === "replace")).map((e) => cloneJson(e));
  }
  const out = base.map((e) => cloneJson(e)) as JsonObject[];
  for (const p of patch as JsonObject[]) {
    const i = out.findIndex((e) => e[key] === p[key]);
    if (p.$patch === "delete") {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMerge(out[i], p) as JsonObject;
    else out.push(strategicMerge({}, p) as JsonObject);
  }
  return out;
}

/** Strategic merge patch (see header for what is covered). */
export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return cloneJson(patch);
  if (patch.$patch === "replace") {
    const { $patch: _p, ...rest } = patch;
    return cloneJson(rest);
  }
  if (patch.$patch === "delete") return undefined;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const drop = new Set((Array.isArray(v) ? v : []).map((x) => JSON.stringify(x)));
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = strategicList(out[k], v);
    else {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  return out;
}

interface JsonPatchOp {
  readonly op: string;
  readonly path: string;
  readonly from?: string;
  readonly value?: Json;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw badRequest(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function parentOf(doc: Json, parts: readonly string[], path: string): { parent: Json; last: string } {
  let cur = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObject(cur) ? cur[p] : undefined;
    if (cur === undefined) throw badRequest(`JSON patch path ${path}: missing parent`);
  }
  return { parent: cur, last: parts.at(-1)! };
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const p of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObject(cur) ? cur[p] : undefined;
    if (cur === undefined) throw badRequest(`JSON patch path ${path} does not exist`);
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, last } = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length)) throw badRequest(`JSON patch path ${path} does not exist`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !(last in parent)) throw badRequest(`JSON patch path ${path} does not exist`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const parts = pointer(path);
  if (parts.length === 0) return cloneJson(value);
  const { parent, last } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const i = last === "-" ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length)) throw badRequest(`JSON patch path ${path}: index out of range`);
    if (replace) parent[i] = cloneJson(value);
    else parent.splice(i, 0, cloneJson(value));
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) throw badRequest(`JSON patch path ${path} does not exist`);
    parent[last] = cloneJson(value);
  } else throw badRequest(`JSON patch path ${path}: parent is not a container`);
  return doc;
}

/** RFC 6902; a failed `test` or a bad path refuses the whole patch. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("a JSON patch must be a list of operations");
  let doc = cloneJson(target);
  for (const raw of ops as JsonPatchOp[]) {
    switch (raw.op) {
      case "add":
        doc = addAt(doc, raw.path, raw.value, false);
        break;
      case "replace":
        doc = addAt(doc, raw.path, raw.value, true);
        break;
      case "remove":
        removeAt(doc, raw.path);
        break;
      case "move":
        doc = addAt(doc, raw.path, removeAt(doc, raw.from ?? ""), false);
        break;
      case "copy":
        doc = addAt(doc, raw.path, getAt(doc, raw.from ?? ""), false);
        break;
      case "test":
        if (JSON.stringify(getAt(doc, raw.path)) !== JSON.stringify(raw.value)) {
          throw new ApiError(422, "Invalid", `JSON patch test operation failed at ${raw.path}`);
        }
        break;
      default:
        throw badRequest(`unknown JSON patch op ${JSON.stringify(raw.op)}`);
    }
  }
  return doc;
}
