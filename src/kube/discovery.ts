/**
 * The documents clients read before they touch a resource: /version, the legacy discovery lists (/api,
 * /apis, /api/v1, /apis/<group>/<version>) in the shapes client-go's discovery client decodes
 * (APIVersions, APIGroupList, APIGroup, APIResourceList), and OpenAPI. kubectl 1.27+ first asks for
 * aggregated discovery (apidiscovery.k8s.io/v2) and falls back to these when the answer is plain
 * application/json, which is what this server gives. OpenAPI v3 is served as an index with one
 * document per group version, each declaring the `fieldValidation` query parameter on PATCH: that is
 * how kubectl decides the server validates fields itself (its QueryParamVerifierV3) instead of
 * downloading schemas. No schemas are published. Pure.
 */
import type { ResourceType, TypeRegistry } from "./resource-types.js";
import { groupVersion } from "./resource-types.js";

type Json = Record<string, unknown>;

export const SERVER_VERSION = { major: "1", minor: "32", gitVersion: "v1.32.0+tabby" };

export function versionInfo(): Json {
  return {
    ...SERVER_VERSION,
    gitCommit: "tabby",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "none (tabby embedded API server)",
    compiler: "tabby",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

export function apiVersions(serverAddress: string): Json {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(name: string, versions: readonly string[]): Json {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: TypeRegistry): Json {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...registry.groups()].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroupDoc(registry: TypeRegistry, group: string): Json | undefined {
  const versions = registry.groups().get(group);
  return versions === undefined
    ? undefined
    : { kind: "APIGroup", apiVersion: "v1", ...apiGroup(group, versions) };
}

const VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"];

export function apiResourceList(registry: TypeRegistry, group: string, version: string): Json | undefined {
  const types = registry.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Json[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: [...t.shortNames] } : {}),
      ...(t.categories.length > 0 ? { categories: [...t.categories] } : {}),
    });
    if (t.statusSubresource) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: "",
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ["get", "patch", "update"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources,
  };
}

/** The OpenAPI v3 index: one entry per group version ("api/v1", "apis/<group>/<version>"). */
export function openApiV3Index(registry: TypeRegistry): Json {
  const paths: Json = {};
  const gvs = new Set(registry.all().map((t) => groupVersion(t)));
  for (const gv of gvs) {
    const path = gv.includes("/") ? `apis/${gv}` : `api/${gv}`;
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(gv, registry)}` };
  }
  return { paths };
}

function hashOf(gv: string, registry: TypeRegistry): string {
  let h = 0;
  for (const t of registry.all()) {
    if (groupVersion(t) !== gv) continue;
    for (const c of `${t.plural}:${t.kind}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  }
  return h.toString(16).padStart(8, "0").toUpperCase();
}

const FIELD_VALIDATION = {
  name: "fieldValidation",
  in: "query",
  description: "Ignore, Warn or Strict: what to do with unknown or duplicate fields.",
  schema: { type: "string", uniqueItems: true },
};

/** One group version's OpenAPI v3 document: paths and operations, no schemas. */
export function openApiV3Doc(registry: TypeRegistry, gv: string): Json | undefined {
  const types = registry.all().filter((t) => groupVersion(t) === gv);
  if (types.length === 0) return undefined;
  const paths: Json = {};
  for (const t of types) paths[itemPath(t)] = operations(t);
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}

function itemPath(t: ResourceType): string {
  const base = t.group === "" ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  return `${base}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}/{name}`;
}

function operations(t: ResourceType): Json {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const op = (action: string, params: Json[] = []) => ({
    operationId: `${action}${t.kind}`,
    parameters: params,
    responses: { "200": { description: "OK" } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
  });
  return {
    get: op("get"),
    put: op("put", [FIELD_VALIDATION]),
    patch: op("patch", [FIELD_VALIDATION]),
    delete: op("delete"),
  };
}
