/**
 * The IPAM race (race.ts) on the embedded Kubernetes API server (src/kube) through the kubernetes backend:
 * 16 allocators in 4 worker processes, each allocator with its own client. Kubernetes has no
 * transactions, so handles and blocks are written in Calico's order, each with its own CAS
 * (resourceVersion preconditions, 409 Conflict).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { it } from "vitest";
import { KubernetesDatastore } from "../../src/datastore/kubernetes/kubernetes-datastore.js";
import { makeTempDir } from "../harness/naming.js";
import { testScope } from "../harness/scope.js";
import { startKube } from "../unit/datastore/kube-fixture.js";
import { listAll } from "./race.js";
import { raceInProcesses } from "./race-processes.js";

it("ipam race on the embedded Kubernetes API server: 16 allocators in 4 processes, 10,000 addresses, none twice, all given back", async () => {
  const scope = testScope();
  const kube = await startKube();
  scope.defer("stop the embedded API server", () => kube.close());
  const file = join(await makeTempDir(scope), "kubeconfig");
  await writeFile(file, kube.kubeconfig);
  const ds = new KubernetesDatastore({ kubeconfigText: kube.kubeconfig });
  scope.defer("close kubernetes client", () => ds.close());
  await raceInProcesses(scope, ds, listAll(ds), "kubernetes", file);
}, 1_200_000);
