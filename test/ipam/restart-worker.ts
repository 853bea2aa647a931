/**
 * A worker process of the datastore-restart race (restart.test.ts): `ALLOCATORS` allocators for one node,
 * each with its own datastore client, try `COUNT` assignments each and carry on past failures, noting
 * each one (code and message). Allocator 0 prints `halfway` when it is half done, so the test can kill
 * the datastore in the middle of the run. The reports go to stdout as one JSON line; on a `release` line
 * every allocator releases what it took and what its failed calls might have left (by handle, as a
 * runtime's DEL after a failed ADD does), and `released` is printed. Arguments:
 * <etcdv3|kubernetes> <etcd endpoint | kubeconfig file> <node> <allocators> <count> <name>.
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { KubernetesDatastore } from "../../src/datastore/kubernetes/kubernetes-datastore.js";
import type { Datastore } from "../../src/datastore/types.js";
import { openIpam } from "../../src/ipam/open.js";
import type { Failure, RestartReport } from "./restart-race.js";

const [backend, target, node, allocators, count, name] = process.argv.slice(2);
if (name === undefined) {
  throw new Error(
    "usage: restart-worker <etcdv3|kubernetes> <endpoint|kubeconfig> <node> <allocators> <count> <name>",
  );
}

const client = (): Datastore =>
  backend === "kubernetes"
    ? new KubernetesDatastore({ kubeconfigText: readFileSync(target!, "utf8") })
    : new EtcdDatastore({ endpoints: [target!] });
const clients = Array.from({ length: Number(allocators) }, client);
const ipams = clients.map((ds) => openIpam(ds, { inputsMaxAgeMs: 1000 }));
const n = Number(count);

const reports: RestartReport[] = await Promise.all(
  ipams.map(async (ipam, a) => {
    const report: RestartReport = { node: node!, taken: [], failures: [] };
    for (let i = 0; i < n; i++) {
      if (a === 0 && i === Math.floor(n / 2)) process.stdout.write("halfway\n");
      const handle = `k8s-pod-network.${name}-${node}-${a}-${i}`;
      const started = performance.now();
      try {
        const r = await ipam.autoAssign({ handleId: handle, node: node!, num4: 1 });
        report.taken.push({ handle, address: r.ipv4[0]!.address });
      } catch (e) {
        const failure: Failure = {
          handle,
          code: (e as { code?: string }).code ?? "(none)",
          message: (e as Error).message,
          ms: Math.round(performance.now() - started),
        };
        report.failures.push(failure);
      }
    }
    return report;
  }),
);
process.stdout.write(`${JSON.stringify(reports)}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== "release") continue;
  await Promise.all(
    ipams.map(async (ipam, a) => {
      const r = reports[a]!;
      for (const t of r.taken) {
        const gone = await ipam.releaseByHandle(t.handle);
        if (gone.length !== 1 || gone[0] !== t.address)
          throw new Error(`release of ${t.handle} gave back ${JSON.stringify(gone)}, expected ${t.address}`);
      }
      for (const f of r.failures) {
        await ipam.releaseByHandle(f.handle).catch((e: { code?: string }) => {
          if (e.code !== "IPAM_HANDLE_NOT_FOUND") throw e;
        });
      }
    }),
  );
  process.stdout.write("released\n");
  break;
}
lines.close();
await Promise.all(clients.map((c) => c.close()));
