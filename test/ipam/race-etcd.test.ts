/**
 * The IPAM race (race.ts) on a real etcd, with the 16 allocators in 4 worker processes (one per node, 4
 * allocators each, every allocator with its own etcd client): everything contends through etcd
 * transactions only. (16 allocators in one process, each with its own client, pass too; they are left
 * out to keep the suite's time down: race-embedded.test.ts runs that shape.)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Range } from "etcd3";
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { decodeValue, EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { kindPrefix } from "../../src/datastore/keys.js";
import { Etcd } from "../harness/etcd.js";
import { isAlive, killAndWait } from "../harness/exec.js";
import { uniqueName } from "../harness/naming.js";
import { describeWith } from "../harness/requirements.js";
import { type Scope, suiteScope } from "../harness/scope.js";
import {
  ALLOCATORS_PER_NODE,
  type AllocatorReport,
  type Lister,
  NODES,
  PER_ALLOCATOR,
  releaseSeed,
  seedRace,
  verifyAssigned,
  verifyEmpty,
} from "./race.js";

const WORKER = fileURLToPath(new URL("./race-worker.ts", import.meta.url));

/** Pages through a kind 1,000 keys at a time (one reply is capped at 4 MB by the etcd3 client). */
function paged(ds: EtcdDatastore): Lister {
  return async (kind) => {
    const prefix = kindPrefix(kind);
    const end = Range.prefix(prefix).end;
    const out: Resource[] = [];
    let start: Buffer = Buffer.from(prefix);
    for (;;) {
      const res = await ds.client.getAll().inRange(new Range(start, end)).limit(1000).exec();
      for (const kv of res.kvs) out.push(decodeValue(kv.key.toString(), kv.value, kv.mod_revision));
      if (!res.more || res.kvs.length === 0) return out;
      start = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
  };
}

interface Worker {
  readonly child: ChildProcess;
  next(): Promise<string>;
}

function startWorker(scope: Scope, endpoint: string, node: string): Worker {
  // The harness name in the command line lets the sweeper find the worker if this run dies.
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      WORKER,
      endpoint,
      node,
      String(ALLOCATORS_PER_NODE),
      String(PER_ALLOCATOR),
      uniqueName(),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const pid = child.pid!;
  scope.defer(
    `stop race worker ${pid}`,
    () => killAndWait(pid, child),
    () => {
      if (isAlive(pid)) process.kill(pid, "SIGKILL");
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`race worker for ${node} exited ${code}`))),
  );
  exited.catch(() => undefined);
  return {
    child,
    next: async () => {
      const r = await Promise.race([lines.next(), exited]);
      if (r.done) throw new Error(`race worker for ${node} closed its output`);
      return r.value;
    },
  };
}

describeWith(["etcd"], "ipam races on etcd", () => {
  const scope = suiteScope();
  let endpoint = "";

  beforeAll(async () => {
    endpoint = (await Etcd.start(scope)).endpoint;
  });

  async function fresh(prefix: string): Promise<EtcdDatastore> {
    // Each run gets an empty etcd: the previous one must have left nothing, so clear only to be safe.
    const ds = new EtcdDatastore({ endpoints: [endpoint] });
    scope.defer(`close etcd client ${prefix}`, () => ds.close());
    await ds.client.delete().prefix("/calico/").exec();
    await seedRace(ds);
    return ds;
  }

  it("16 allocators in 4 processes on 4 nodes take 10,000 addresses, none twice, and give all back", async () => {
    const ds = await fresh("processes");
    const workers = NODES.map((node) => startWorker(scope, endpoint, node));
    const reports = (await Promise.all(workers.map((w) => w.next()))).flatMap(
      (line) => JSON.parse(line) as AllocatorReport[],
    );
    await verifyAssigned(paged(ds), reports);
    for (const w of workers) w.child.stdin!.write("release\n");
    expect(await Promise.all(workers.map((w) => w.next()))).toEqual(NODES.map(() => "released"));
    await releaseSeed(ds);
    await verifyEmpty(paged(ds));
  }, 900_000);
});
