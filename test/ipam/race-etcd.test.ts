/**
 * The IPAM race (race.ts) on a real etcd, with the 16 allocators in 4 worker processes (one per node, 4
 * allocators each, every allocator with its own etcd client): everything contends through etcd
 * transactions only. (16 allocators in one process, each with its own client, pass too; they are left
 * out to keep the suite's time down: race-embedded.test.ts runs that shape.)
 */
import { Range } from "etcd3";
import { beforeAll, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { decodeValue, EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { kindPrefix } from "../../src/datastore/keys.js";
import { Etcd } from "../harness/etcd.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import type { Lister } from "./race.js";
import { raceInProcesses } from "./race-processes.js";

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

describeWith(["etcd"], "ipam races on etcd", () => {
  const scope = suiteScope();
  let endpoint = "";

  beforeAll(async () => {
    endpoint = (await Etcd.start(scope)).endpoint;
  });

  it("16 allocators in 4 processes on 4 nodes take 10,000 addresses, none twice, and give all back", async () => {
    const ds = new EtcdDatastore({ endpoints: [endpoint] });
    scope.defer("close etcd client", () => ds.close());
    await raceInProcesses(scope, ds, paged(ds), "etcdv3", endpoint);
  }, 900_000);
});
