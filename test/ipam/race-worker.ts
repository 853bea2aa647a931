/**
 * A worker process of the IPAM race test (race-etcd.test.ts): `ALLOCATORS` allocators for one node, each
 * with its own etcd client, take `COUNT` addresses each; the report goes to stdout as one JSON line; on a
 * `release` line on stdin every allocator releases what it took, and `released` is printed. Arguments:
 * <etcd endpoint> <node> <allocators> <count> <name>.
 */
import { createInterface } from "node:readline";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { openIpam } from "../../src/ipam/open.js";
import { type AllocatorReport, releaseAll, runAllocator } from "./race.js";

const [endpoint, node, allocators, count, name] = process.argv.slice(2);
if (name === undefined) throw new Error("usage: race-worker <endpoint> <node> <allocators> <count> <name>");

const clients = Array.from(
  { length: Number(allocators) },
  () => new EtcdDatastore({ endpoints: [endpoint!] }),
);
const ipams = clients.map((ds) => openIpam(ds, { inputsMaxAgeMs: 1000 }));
const reports: AllocatorReport[] = await Promise.all(
  ipams.map((ipam, i) => runAllocator(ipam, node!, `${name}-${node}-${i}`, Number(count))),
);
process.stdout.write(`${JSON.stringify(reports)}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "release") continue;
  await Promise.all(ipams.map((ipam, i) => releaseAll(ipam, reports[i]!.taken)));
  process.stdout.write("released\n");
  break;
}
lines.close();
await Promise.all(clients.map((c) => c.close()));
