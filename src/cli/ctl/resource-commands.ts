/**
 * `tabbyctl apply|create|replace|delete|get`: calicoctl's resource commands over tabby's datastore.
 * Writes are all-or-nothing: every document of every file is decoded, checked and planned first; if
 * anything is refused, every problem is printed (`file:line:col: Kind/name: field: value: rule`) and
 * nothing is written; otherwise the writes go to the datastore as one batch where it has batches.
 * Success and failure lines are calicoctl's (`Successfully applied 2 'IPPool' resource(s)`). The thin
 * shell around documents.ts (parsing), plan.ts (checking) and output.ts (printing).
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { BGP_DEFAULTS } from "../../api/bgpconfig.js";
import { type LocatedIssue, renderIssue } from "../../api/issues.js";
import type { KindDef } from "../../api/kind.js";
import type { Resource } from "../../api/meta.js";
import { findKindByAlias, KINDS } from "../../api/registry.js";
import { chooseDatastore, type DatastoreChoice } from "../../datastore/choose.js";
import { type OpenOptions, openDatastore } from "../../datastore/open.js";
import { type Datastore, keyOf, type ResourceKey } from "../../datastore/types.js";
import { isTabbyError } from "../../util/errors.js";
import type { CliIo } from "../io.js";
import { applyInOrder, keyText, WritesFailed } from "./apply-in-order.js";
import type { CtlArgs } from "./args.js";
import { loadDocuments } from "./documents.js";
import { type OutputFormat, renderGet } from "./output.js";
import { type PlannedResource, planWrites, type WriteAction } from "./plan.js";

/** The outside world, injectable for tests. */
export interface CtlDeps {
  readFile(path: string): Promise<string>;
  /** The files of a directory, or undefined when `path` is not one. */
  listDir(path: string): Promise<string[] | undefined>;
  readStdin(): Promise<string>;
  openDatastore(choice: DatastoreChoice, options: OpenOptions): Promise<Datastore>;
}

export const processDeps: CtlDeps = {
  readFile: (p) => readFile(p, "utf8"),
  async listDir(p) {
    if (!(await stat(p)).isDirectory()) return undefined;
    return (await readdir(p)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  },
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  openDatastore,
};

const PAST: Record<WriteAction, string> = {
  apply: "applied",
  create: "created",
  replace: "replaced",
  delete: "deleted",
};

export async function withDatastore<T>(
  io: CliIo,
  deps: CtlDeps,
  options: OpenOptions,
  use: (ds: Datastore) => Promise<T>,
): Promise<T | number> {
  const choice = chooseDatastore(io.env);
  if ("error" in choice) {
    io.stderr(`tabbyctl: ${choice.error}\n`);
    return 1;
  }
  let ds: Datastore;
  try {
    ds = await deps.openDatastore(choice, options);
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabbyctl: ${e.message}\n`);
    return 1;
  }
  try {
    return await use(ds);
  } finally {
    await ds.close();
  }
}

interface Sources {
  readonly texts: { file: string; text: string }[];
}

async function readSources(filename: string, deps: CtlDeps): Promise<Sources> {
  if (filename === "-") return { texts: [{ file: "(stdin)", text: await deps.readStdin() }] };
  const files = await deps.listDir(filename).catch(() => undefined);
  if (files === undefined) return { texts: [{ file: filename, text: await deps.readFile(filename) }] };
  const texts = [];
  for (const f of files)
    texts.push({ file: join(filename, f), text: await deps.readFile(join(filename, f)) });
  return { texts };
}

function kindSummary(items: readonly { resource: Resource }[]): string {
  const kinds = new Set(items.map((i) => i.resource.kind));
  return kinds.size === 1 ? ` '${[...kinds][0]}'` : "";
}

/** apply/create/replace/delete with `-f`, and delete KIND NAME... */
export async function runWrite(
  action: WriteAction,
  args: CtlArgs,
  io: CliIo,
  deps: CtlDeps,
): Promise<number> {
  const items: PlannedResource[] = [];
  const issues: LocatedIssue[] = [];
  let count = 0;
  if (args.filename !== undefined) {
    if (args.words.length > 1) {
      io.stderr(`tabbyctl ${action}: give either -f FILE or KIND NAME, not both\n`);
      return 2;
    }
    let sources: Sources;
    try {
      sources = await readSources(args.filename, deps);
    } catch (e) {
      io.stderr(`tabbyctl ${action}: cannot read ${args.filename}: ${(e as Error).message}\n`);
      return 1;
    }
    for (const { file, text } of sources.texts) {
      const loaded = loadDocuments(text, file);
      count += loaded.count;
      issues.push(...loaded.issues);
      if (loaded.count === 0) {
        io.stderr(`tabbyctl ${action}: no resources specified in file ${file}\n`);
        return 1;
      }
      for (const r of loaded.resources) {
        items.push({
          resource: r.resource,
          def: r.def,
          file,
          document: r.document,
          at: (path) => (path.length === 0 ? { line: r.line, column: r.column } : r.locate(path)),
        });
      }
    }
  } else if (action === "delete" && args.words.length >= 3) {
    const def = findKindByAlias(args.words[1]!);
    if (def === undefined) {
      io.stderr(`tabbyctl delete: resource type '${args.words[1]}' is not supported\n`);
      return 1;
    }
    for (const name of args.words.slice(2)) {
      count++;
      items.push({
        resource: {
          apiVersion: "projectcalico.org/v3",
          kind: def.kind,
          metadata: { name, ...(def.namespaced ? { namespace: args.namespace ?? "default" } : {}) },
          spec: {},
        },
        def,
      });
    }
  } else {
    io.stderr(
      `tabbyctl ${action}: ${action === "delete" ? "give -f FILE (or - for stdin) or KIND NAME..." : "give -f FILE (or - for stdin)"}\n`,
    );
    return 2;
  }

  const refuse = (list: readonly LocatedIssue[]) => {
    for (const i of sortIssues(list)) io.stderr(`${renderIssue(i)}\n`);
    const bad = new Set(list.map((i) => `${i.file}#${i.document}#${i.kind}/${i.name}`)).size;
    io.stderr(
      `tabbyctl ${action}: refused ${bad} of ${count} resource${count === 1 ? "" : "s"}; nothing was written\n`,
    );
    return 1;
  };

  return withDatastore(io, deps, {}, async (ds) => {
    const kinds = new Set<string>(items.map((i) => i.resource.kind));
    // The kinds write-time rules look at (pool overlap, existing blocks, filter references).
    for (const k of ["IPPool", "IPAMBlock", "BGPFilter"]) kinds.add(k);
    const stored = new Map<string, Resource[]>();
    for (const k of kinds) stored.set(k, [...(await ds.list(k)).items]);
    // Planned even when some documents are invalid, so that one run reports every problem.
    const plan = planWrites(action, items, stored, {
      skipExists: args.skipExists,
      skipNotExists: args.skipNotExists,
    });
    if (issues.length > 0 || plan.issues.length > 0) return refuse([...issues, ...plan.issues]);
    const failed = (why: string) => {
      io.stderr(`tabbyctl ${action}: failed to ${action}${kindSummary(items)} resources: ${why}\n`);
      return 1;
    };
    try {
      if (ds.batch !== undefined) await ds.batch(plan.ops);
      else {
        const byKey = new Map<string, Resource>();
        for (const list of stored.values()) for (const r of list) byKey.set(keyText(keyOf(r)), r);
        await applyInOrder(ds, plan.ops, (k) => byKey.get(keyText(k)));
      }
    } catch (e) {
      if (e instanceof WritesFailed) {
        const back =
          e.rolledBack > 0 ? `; rolled back the ${e.rolledBack} resource(s) this command had written` : "";
        const left = e.left.length > 0 ? `; rolling back failed for ${e.left.join(", ")}` : "";
        return failed(`${e.message}${back}${left}`);
      }
      if (!isTabbyError(e)) throw e;
      return failed(e.message);
    }
    const handled = plan.ops.length + plan.skipped;
    io.stdout(`Successfully ${PAST[action]} ${handled}${kindSummary(items)} resource(s)\n`);
    return 0;
  });
}

/** In file order: by file as given, document, line, column. */
function sortIssues(list: readonly LocatedIssue[]): LocatedIssue[] {
  const fileOrder = [...new Set(list.map((i) => i.file ?? ""))];
  return list
    .map((issue, n) => ({ issue, n }))
    .sort(
      (a, b) =>
        fileOrder.indexOf(a.issue.file ?? "") - fileOrder.indexOf(b.issue.file ?? "") ||
        (a.issue.document ?? 0) - (b.issue.document ?? 0) ||
        (a.issue.line ?? 0) - (b.issue.line ?? 0) ||
        (a.issue.column ?? 0) - (b.issue.column ?? 0) ||
        a.n - b.n,
    )
    .map((x) => x.issue);
}

const FORMATS: Record<string, OutputFormat> = {
  ps: "ps",
  wide: "wide",
  yaml: "yaml",
  yml: "yaml",
  json: "json",
};

/** get KIND [NAME...] */
export async function runGet(args: CtlArgs, io: CliIo, deps: CtlDeps): Promise<number> {
  const kindWord = args.words[1];
  if (kindWord === undefined) {
    io.stderr(`tabbyctl get: give a resource type: ${KINDS.map((k) => k.singular).join(", ")}\n`);
    return 2;
  }
  const def: KindDef | undefined = findKindByAlias(kindWord);
  if (def === undefined) {
    io.stderr(`tabbyctl get: resource type '${kindWord}' is not supported\n`);
    return 1;
  }
  const format = FORMATS[args.output ?? "ps"];
  if (format === undefined) {
    io.stderr(`tabbyctl get: unrecognized output format '${args.output}' (use ps, wide, yaml or json)\n`);
    return 2;
  }
  if (!def.namespaced && (args.namespace !== undefined || args.allNamespaces)) {
    io.stderr(`tabbyctl get: ${def.kind} is not namespaced\n`);
    return 1;
  }
  const names = args.words.slice(2);
  const namespace = def.namespaced && !args.allNamespaces ? (args.namespace ?? "default") : undefined;
  return withDatastore(io, deps, { readOnly: true }, async (ds) => {
    let items: Resource[];
    let revision: string;
    try {
      if (names.length === 0) {
        const listed = await ds.list(def.kind, namespace !== undefined ? { namespace } : {});
        items = [...listed.items];
        revision = listed.revision;
      } else {
        items = [];
        for (const name of names) {
          const key: ResourceKey = {
            kind: def.kind,
            name,
            ...(namespace !== undefined ? { namespace } : {}),
          };
          items.push(await ds.get(key));
        }
        revision = "";
      }
    } catch (e) {
      if (!isTabbyError(e)) throw e;
      io.stderr(`tabbyctl get: ${e.message}\n`);
      return 1;
    }
    let defaultAsNumber: number = BGP_DEFAULTS.asNumber;
    if (format === "wide" && def.kind === "Node") {
      const cfg = await ds.get({ kind: "BGPConfiguration", name: "default" }).catch(() => undefined);
      const asn = (cfg?.spec as { asNumber?: number } | undefined)?.asNumber;
      if (asn !== undefined) defaultAsNumber = asn;
    }
    io.stdout(
      renderGet(
        format,
        def,
        { items, revision, list: names.length === 0 },
        { defaultAsNumber },
        args.allNamespaces,
      ),
    );
    return 0;
  });
}
