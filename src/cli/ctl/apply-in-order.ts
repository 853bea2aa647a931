/**
 * The writes of one tabbyctl command on a datastore without transactions (Kubernetes): applied one at a
 * time, and when one fails, those before it are undone in reverse order, so that a refused or failed
 * command leaves the datastore as it found it, as a batch would. A write that fails without saying
 * whether it landed (DATASTORE_IO: the connection dropped) is read back first: if it landed, it is undone
 * too. An undo is itself a compare-and-swap on what this command wrote, so a resource someone else
 * changed in the meantime is left alone and named.
 */
import type { Resource } from "../../api/meta.js";
import { describeKey } from "../../datastore/errors.js";
import type { Datastore, ResourceKey, WriteOp } from "../../datastore/types.js";
import { keyOf } from "../../datastore/types.js";
import { isTabbyError } from "../../util/errors.js";

/** What the writes of a failed command left: rolled back, or not, and why. */
export class WritesFailed extends Error {
  constructor(
    readonly failure: Error,
    readonly rolledBack: number,
    /** Resources still stored as this command wrote them (the undo failed). */
    readonly left: readonly string[],
  ) {
    super(failure.message, { cause: failure });
  }
}

/** One string per resource key, for maps. */
export const keyText = (k: ResourceKey) => `${k.kind}/${k.namespace ?? ""}/${k.name}`;
const opKey = (op: WriteOp): ResourceKey => (op.op === "delete" ? op.key : keyOf(op.resource));

/** What a resource looks like when created again: without the server's metadata. */
function asNew(r: Resource): Resource {
  const { resourceVersion: _v, uid: _u, creationTimestamp: _c, ...metadata } = r.metadata;
  return { ...r, metadata };
}

const sameContent = (a: Resource, b: Resource) =>
  JSON.stringify([a.spec ?? null, a.metadata.labels ?? {}, a.metadata.annotations ?? {}]) ===
  JSON.stringify([b.spec ?? null, b.metadata.labels ?? {}, b.metadata.annotations ?? {}]);

async function readOrUndefined(ds: Datastore, key: ResourceKey): Promise<Resource | undefined> {
  try {
    return await ds.get(key);
  } catch (e) {
    if (isTabbyError(e, "DATASTORE_NOT_FOUND")) return undefined;
    throw e;
  }
}

/**
 * Whether a write whose reply was lost is stored: read back and compared with what it wrote. Undefined
 * when even the read fails.
 */
async function landed(
  ds: Datastore,
  op: WriteOp,
  before: Resource | undefined,
): Promise<Resource | null | undefined> {
  let now: Resource | undefined;
  try {
    now = await readOrUndefined(ds, opKey(op));
  } catch {
    return undefined;
  }
  if (op.op === "delete") return now === undefined ? null : undefined;
  if (now === undefined) return undefined;
  if (op.op === "update" && now.metadata.resourceVersion === before?.metadata.resourceVersion)
    return undefined;
  return sameContent(now, op.resource) ? now : undefined;
}

interface Done {
  readonly key: ResourceKey;
  /** The object before this command (undefined for a create). */
  readonly before: Resource | undefined;
  /** What the write left (null for a delete). */
  readonly after: Resource | null;
}

async function undo(ds: Datastore, d: Done): Promise<void> {
  if (d.after === null) {
    await ds.create(asNew(d.before!));
  } else if (d.before === undefined) {
    await ds.delete(d.key, { resourceVersion: d.after.metadata.resourceVersion! });
  } else {
    await ds.update({
      ...d.before,
      metadata: { ...d.before.metadata, resourceVersion: d.after.metadata.resourceVersion! },
    });
  }
}

/**
 * Applies `ops` in order. `current` gives the stored object of a key before this command (what the plan
 * read). Throws WritesFailed when one fails, after rolling back.
 */
export async function applyInOrder(
  ds: Datastore,
  ops: readonly WriteOp[],
  current: (key: ResourceKey) => Resource | undefined,
): Promise<void> {
  const done: Done[] = [];
  const latest = new Map<string, Resource | undefined>();
  const before = (k: ResourceKey) => (latest.has(keyText(k)) ? latest.get(keyText(k)) : current(k));
  for (const op of ops) {
    const key = opKey(op);
    const was = before(key);
    try {
      let r: Resource | null;
      if (op.op === "create") r = await ds.create(op.resource);
      else if (op.op === "update") r = await ds.update(op.resource);
      else {
        await ds.delete(key, op.resourceVersion !== undefined ? { resourceVersion: op.resourceVersion } : {});
        r = null;
      }
      done.push({ key, before: was, after: r });
      latest.set(keyText(key), r ?? undefined);
    } catch (e) {
      if (isTabbyError(e, "DATASTORE_IO")) {
        const after = await landed(ds, op, was);
        if (after !== undefined) done.push({ key, before: was, after });
      }
      throw await rollBack(ds, done, e as Error);
    }
  }
}

async function rollBack(ds: Datastore, done: readonly Done[], cause: Error): Promise<WritesFailed> {
  const left: string[] = [];
  let rolledBack = 0;
  for (const d of [...done].reverse()) {
    try {
      await undo(ds, d);
      rolledBack++;
    } catch (e) {
      left.push(`${describeKey(d.key)} (${(e as Error).message})`);
    }
  }
  return new WritesFailed(cause, rolledBack, left);
}
