/**
 * The embedded store's file: one JSON snapshot, replaced atomically on every commit (write a temporary
 * file, fsync it, rename it over the old one, fsync the directory), so a crash or kill -9 leaves either
 * the old snapshot or the new one, never a torn file. A lock file holding the owner's pid keeps two
 * processes from writing the same store; a lock left by a dead process is taken over. The datastore
 * issue adds a write-ahead log; until then each commit rewrites the snapshot, which is fine for the
 * hundreds of objects a cluster's configuration holds.
 */
import { constants } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Resource } from "../api/meta.js";
import type { StoreState } from "./embedded-state.js";
import { DatastoreError } from "./errors.js";

export const SNAPSHOT_FILE = "datastore.json";
export const LOCK_FILE = "datastore.lock";
const FORMAT = "tabby-embedded-datastore/1";

interface SnapshotJson {
  format: string;
  revision: number;
  resources: Record<string, Resource>;
}

const ioError = (what: string, e: unknown) =>
  new DatastoreError("DATASTORE_IO", `${what}: ${(e as Error).message}`, undefined, { cause: e });

export async function readSnapshot(dir: string): Promise<StoreState | undefined> {
  const file = join(dir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw ioError(`cannot read ${file}`, e);
  }
  let json: SnapshotJson;
  try {
    json = JSON.parse(text) as SnapshotJson;
  } catch (e) {
    throw ioError(`${file} is not a tabby datastore snapshot`, e);
  }
  if (json.format !== FORMAT || typeof json.revision !== "number" || typeof json.resources !== "object") {
    throw new DatastoreError(
      "DATASTORE_IO",
      `${file}: unknown snapshot format ${JSON.stringify(json.format)}`,
    );
  }
  return { revision: json.revision, objects: new Map(Object.entries(json.resources)) };
}

export async function writeSnapshot(dir: string, state: StoreState): Promise<void> {
  const file = join(dir, SNAPSHOT_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  const json: SnapshotJson = {
    format: FORMAT,
    revision: state.revision,
    resources: Object.fromEntries(state.objects),
  };
  try {
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(json, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const dh = await open(dir, constants.O_RDONLY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw ioError(`cannot write ${file}`, e);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the store's lock for this process; returns the function that releases it. */
export async function lockStore(dir: string): Promise<() => Promise<void>> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw ioError(`cannot create ${dir}`, e);
  }
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return async () => {
        await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw ioError(`cannot create ${file}`, e);
    }
    const owner = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    if (Number.isInteger(owner) && alive(owner)) {
      throw new DatastoreError(
        "DATASTORE_LOCKED",
        `the embedded datastore in ${dir} is in use by process ${owner}; stop it or point TABBY_DATA_DIR elsewhere`,
      );
    }
    // Left behind by a process that is gone: take it over.
    await rm(file, { force: true });
  }
  throw new DatastoreError("DATASTORE_LOCKED", `cannot take the lock ${file}`);
}
