/**
 * The IPAM race (race.ts) on a real etcd, with the 16 allocators in 4 worker processes (one per node, 4
 * allocators each, every allocator with its own etcd client): everything contends through etcd
 * transactions only. (16 allocators in one process, each with its own client, pass too; they are left
 * out to keep the suite's time down: race-embedded.test.ts runs that shape.)
 */
import { beforeAll, it } from "vitest";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { Etcd } from "../harness/etcd.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { listAll } from "./race.js";
import { raceInProcesses } from "./race-processes.js";

describeWith(["etcd"], "ipam races on etcd", () => {
  const scope = suiteScope();
  let endpoint = "";

  beforeAll(async () => {
    endpoint = (await Etcd.start(scope)).endpoint;
  });

  it("16 allocators in 4 processes on 4 nodes take 10,000 addresses, none twice, and give all back", async () => {
    const ds = new EtcdDatastore({ endpoints: [endpoint] });
    scope.defer("close etcd client", () => ds.close());
    await raceInProcesses(scope, ds, listAll(ds), "etcdv3", endpoint);
  }, 900_000);
});
