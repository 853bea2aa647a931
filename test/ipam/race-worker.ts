/**
 * A worker process of the IPAM race tests (race-etcd.test.ts, race-kubernetes.test.ts): `ALLOCATORS`
 * allocators for one node, each with its own datastore client, take `COUNT` addresses each; the report
 * goes to stdout as one JSON line; on a `release` line on stdin every allocator releases what it took,
 * and `released` is printed. Arguments: <etcdv3|kubernetes> <etcd endpoint | kubeconfig file> <node>
 * <allocators> <count> <name>.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { KubernetesDatastore } from "../../src/datastore/kubernetes/kubernetes-datastore.js";
import type { Datastore } from "../../src/datastore/types.js";
import { openIpam } from "../../src/ipam/open.js";
import { type AllocatorReport, releaseAll, runAllocator } from "./race.js";

const [backend, target, node, allocators, count, name] = process.argv.slice(2);
if (name === undefined) {
  throw new Error(
    "usage: race-worker <etcdv3|kubernetes> <endpoint|kubeconfig> <node> <allocators> <count> <name>",
  );
}

const kubeconfig = backend === "kubernetes" ? readFileSync(target!, "utf8") : "";
const client = (): Datastore =>
  backend === "kubernetes"
    ? new KubernetesDatastore({ kubeconfigText: kubeconfig })
    : new EtcdDatastore({ endpoints: [target!] });
const clients = Array.from({ length: Number(allocators) }, client);
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
