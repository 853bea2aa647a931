/**
 * Keeps three things in step: the TypeScript types (each schema is declared `satisfies ObjectSchemaOf<T>`,
 * so a field added to a type and not to its schema, or the reverse, does not compile; the @ts-expect-error
 * lines below prove the check bites), the schemas tabby decodes with, and the CRD files in crds/.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseSettings } from "../../../src/agent/settings.js";
import { renderCrdFiles } from "../../../src/api/crd-files.js";
import { Issues } from "../../../src/api/issues.js";
import { updateReferenceDoc } from "../../../src/api/reference-tables.js";
import { KINDS } from "../../../src/api/registry.js";
import { decodeValue, type ObjectSchemaOf, type Schema } from "../../../src/api/schema.js";
import { NODE_RUN_ENV } from "../../../src/cli/node-run.js";
import { chooseDatastore } from "../../../src/datastore/choose.js";

const CRD_DIR = join(import.meta.dirname, "../../../crds");

const _missing: ObjectSchemaOf<{ a?: string; b?: number }> = {
  type: "object",
  // @ts-expect-error: a schema that forgets a field of its type does not compile.
  properties: { a: { type: "string" } },
};
const _extra = {
  type: "object",
  // @ts-expect-error: a schema with a field its type does not have does not compile.
  properties: { a: { type: "string" }, c: { type: "string" } },
} satisfies ObjectSchemaOf<{ a?: string }>;

describe("CRDs in crds/ are generated from the schemas", () => {
  it("every CRD file is exactly what crds/generate.ts writes (run `npx tsx crds/generate.ts`)", () => {
    const want = renderCrdFiles();
    const have = readdirSync(CRD_DIR).filter((f) => f.startsWith("crd.projectcalico.org_"));
    expect(have.sort()).toEqual(want.map((w) => w.file).sort());
    for (const { file, text } of want) expect(readFileSync(join(CRD_DIR, file), "utf8"), file).toBe(text);
  });

  it("each CRD's fields are the schema's fields, level by level", () => {
    const compare = (crd: Record<string, unknown>, schema: Schema, path: string) => {
      if (schema.type === "object") {
        const props = crd.properties as Record<string, Record<string, unknown>>;
        expect(Object.keys(props).sort(), path).toEqual(Object.keys(schema.properties).sort());
        for (const [k, v] of Object.entries(schema.properties)) compare(props[k]!, v, `${path}.${k}`);
      } else if (schema.type === "array") {
        expect(crd.type, path).toBe("array");
        compare(crd.items as Record<string, unknown>, schema.items, `${path}[]`);
      } else if (schema.type === "map") {
        compare(crd.additionalProperties as Record<string, unknown>, schema.values, `${path}{}`);
      } else {
        const want = {
          string: "string",
          duration: "string",
          integer: "integer",
          asNumber: "integer",
          boolean: "boolean",
        };
        expect(crd.type, path).toBe(want[schema.type]);
      }
    };
    for (const def of KINDS.filter((k) => !k.noCrd)) {
      const file = `crd.projectcalico.org_${def.crd?.plural ?? def.plural}.yaml`;
      const crd = parse(readFileSync(join(CRD_DIR, file), "utf8"));
      const root = crd.spec.versions[0].schema.openAPIV3Schema.properties;
      compare(root.spec, def.crdSpec ?? def.spec, `${def.kind}.spec`);
      if (def.status) compare(root.status, def.status, `${def.kind}.status`);
      expect(crd.spec.names.kind).toBe(def.crd?.kind ?? def.kind);
      expect(crd.spec.scope).toBe("Cluster");
    }
  });

  it("a value with every field of a schema decodes to itself (nothing in the schema is unreachable)", () => {
    const sample = (s: Schema): unknown => {
      switch (s.type) {
        case "string":
          return s.enum?.find((e) => e !== "") ?? "x";
        case "integer":
          return s.minimum !== undefined && s.minimum > 1 ? s.minimum : 1;
        case "boolean":
          return true;
        case "asNumber":
          return 64512;
        case "duration":
          return "2m0s";
        case "array":
          return [sample(s.items)];
        case "map":
          return { k: sample(s.values) };
        case "object":
          return Object.fromEntries(
            Object.entries(s.properties)
              .slice(0, s.maxProperties ?? undefined)
              .map(([k, v]) => [k, sample(v)]),
          );
      }
    };
    const strip = (s: Schema): Schema =>
      s.type === "string"
        ? { type: "string", ...(s.enum ? { enum: s.enum } : {}) }
        : s.type === "array"
          ? { ...s, items: strip(s.items) }
          : s.type === "map"
            ? { ...s, values: strip(s.values) }
            : s.type === "object"
              ? {
                  ...s,
                  properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strip(v)])),
                }
              : s;
    for (const def of KINDS) {
      // Format checks are exercised by the rule tests; here only the shape matters.
      const schema = strip(def.spec);
      const value = sample(schema);
      const issues = new Issues();
      expect(decodeValue(value, schema, ["spec"], issues), def.kind).toEqual(value);
      expect(issues.list, def.kind).toEqual([]);
    }
  });
});

describe("docs/resources.md", () => {
  it("has the current field table of every kind (run `npx tsx crds/generate.ts`)", () => {
    const doc = readFileSync(join(import.meta.dirname, "../../../docs/resources.md"), "utf8");
    expect(doc).toBe(updateReferenceDoc(doc));
    for (const def of KINDS) expect(doc, def.kind).toContain(`<!-- fields:${def.kind} -->`);
  });
});

describe("the cluster manifest", () => {
  const docs = parseAllDocuments(readFileSync(join(CRD_DIR, "tabby-node.yaml"), "utf8"))
    .map((d) => d.toJS())
    .filter((d) => d !== null);
  const byKind = (kind: string) => docs.filter((d) => d.kind === kind);

  it("grants the agent read access to every CRD and write access only where it writes", () => {
    const [role] = byKind("ClusterRole");
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const calico = rules.filter((r) => r.apiGroups.includes("crd.projectcalico.org"));
    const can = (resource: string, verb: string) =>
      calico.some((r) => r.resources.includes(resource) && r.verbs.includes(verb));
    for (const { file } of renderCrdFiles()) {
      const plural = file.replace("crd.projectcalico.org_", "").replace(".yaml", "");
      for (const verb of ["get", "list", "watch"]) expect(can(plural, verb), `${verb} ${plural}`).toBe(true);
    }
    for (const plural of ["ipamblocks", "blockaffinities", "ipamhandles"]) {
      for (const verb of ["create", "update", "delete"])
        expect(can(plural, verb), `${verb} ${plural}`).toBe(true);
    }
    expect(can("bgppeers", "update")).toBe(false);
    expect(can("bgpconfigurations", "create")).toBe(false);
    expect(rules.some((r) => r.verbs.includes("*") || r.resources.includes("*"))).toBe(false);
    expect(rules.some((r) => r.resources.includes("secrets"))).toBe(false);
  });

  it("binds the roles to the DaemonSet's service account and wires the ConfigMap", () => {
    const [sa] = byKind("ServiceAccount");
    const [ds] = byKind("DaemonSet");
    const pod = ds.spec.template.spec;
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(pod.hostNetwork).toBe(true);
    for (const b of [...byKind("ClusterRoleBinding"), ...byKind("RoleBinding")]) {
      expect(b.subjects).toEqual([
        { kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace },
      ]);
    }
    const [cm] = byKind("ConfigMap");
    const refs = JSON.stringify(ds).match(/"configMapKeyRef":\{"name":"[^"]+","key":"[^"]+"\}/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const { name, key } = JSON.parse(ref.slice('"configMapKeyRef":'.length));
      expect(name).toBe(cm.metadata.name);
      expect(Object.keys(cm.data)).toContain(key);
    }
    const env = Object.fromEntries(
      pod.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]),
    );
    expect(env.DATASTORE_TYPE).toBe("kubernetes");
  });

  it("sets only environment variables the agent reads", () => {
    const [ds] = byKind("DaemonSet");
    const set = (ds.spec.template.spec.containers[0].env as { name: string }[]).map((e) => e.name);
    // Record every variable the agent's settings, datastore choice and startup look at.
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, k) => {
        if (typeof k === "string") read.add(k);
        return undefined;
      },
    });
    parseSettings(env, "host");
    chooseDatastore(env);
    for (const name of NODE_RUN_ENV) read.add(name);
    expect(set.filter((n) => !read.has(n))).toEqual([]);
    expect(set).toEqual(expect.arrayContaining(["DATASTORE_TYPE", "NODENAME", "IP", "POD_NAMESPACE"]));
  });
});
