import { mkdtempSync, rmSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { crdFor } from "../src/api/crd.js";
import type { Resource } from "../src/api/meta.js";
import { KINDS } from "../src/api/registry.js";
import { EmbeddedDatastore } from "../src/datastore/embedded.js";
import { EtcdDatastore } from "../src/datastore/etcd/etcd-datastore.js";
import { KubernetesDatastore } from "../src/datastore/kubernetes/kubernetes-datastore.js";
import type { Datastore } from "../src/datastore/types.js";
import { renderKubeconfig } from "../src/kube/kubeconfig.js";
import { ObjectStore } from "../src/kube/object-store.js";
import { CRDS } from "../src/kube/resource-types.js";
import { ApiServer } from "../src/kube/server.js";
import { Etcd } from "../test/harness/etcd.js";
import { Scope } from "../test/harness/scope.js";

const CAS_OPS = Number(process.env.BENCH_CAS_OPS ?? 1000);
const WATCH_OPS = Number(process.env.BENCH_WATCH_OPS ?? 300);
const KEY = "/calico/resources/v3/projectcalico.org/ippools/bench";

const counter = (n: number): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "IPPool",
  metadata: { name: "bench", annotations: { n: String(n) } },
  spec: { cidr: "10.0.0.0/16", ipipMode: "Never", vxlanMode: "Never", blockSize: 26, nodeSelector: "all()" },
});

interface Result {
  readonly name: string;
  readonly casPerSec: number;
  readonly watchP50Ms: number;
  readonly watchP99Ms: number;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Sequential get-modify-update (the CAS loop IPAM and the agents run), then watch latency. */
async function benchDatastore(name: string, ds: Datastore): Promise<Result> {
  await ds.create(counter(0));
  for (let i = 0; i < 50; i++) await casOnce(ds); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < CAS_OPS; i++) await casOnce(ds);
  const casPerSec = CAS_OPS / ((performance.now() - t0) / 1000);
  const start = await ds.get({ kind: "IPPool", name: "bench" });
  const w = ds.watch({ kind: "IPPool", fromRevision: start.metadata.resourceVersion! });
  const it = w[Symbol.asyncIterator]();
  const lat: number[] = [];
  for (let i = 0; i < WATCH_OPS; i++) {
    const t = performance.now();
    await casOnce(ds);
    await it.next();
    lat.push(performance.now() - t);
  }
  w.close();
  await ds.close();
  return { name, casPerSec, watchP50Ms: pct(lat, 0.5), watchP99Ms: pct(lat, 0.99) };
}

function bump(r: Resource): Resource {
  return {
    ...r,
    metadata: { ...r.metadata, annotations: { n: String(Number(r.metadata.annotations?.n) + 1) } },
  };
}

async function casOnce(ds: Datastore): Promise<void> {
  for (;;) {
    const cur = await ds.get({ kind: "IPPool", name: "bench" });
    try {
      await ds.update(bump(cur));
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== "DATASTORE_CONFLICT") throw e;
    }
  }
}

/** The same loop as raw etcd: range, modify the JSON, transaction comparing the mod revision. */
async function benchRawEtcd(endpoint: string): Promise<Result> {
  const client = new Etcd3({ hosts: [endpoint] });
  await client.put(KEY).value(JSON.stringify(counter(0)));
  const once = async () => {
    for (;;) {
      const r = await client.get(KEY).exec();
      const kv = r.kvs[0]!;
      const v = JSON.parse(kv.value.toString()) as Resource;
      v.metadata.annotations = { n: String(Number(v.metadata.annotations?.n) + 1) };
      const t = await client
        .if(KEY, "Mod", "==", kv.mod_revision)
        .then(client.put(KEY).value(JSON.stringify(v)))
        .commit();
      if (t.succeeded) return;
    }
  };
  for (let i = 0; i < 50; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < CAS_OPS; i++) await once();
  const casPerSec = CAS_OPS / ((performance.now() - t0) / 1000);
  const watcher = await client.watch().key(KEY).create();
  let wake: (() => void) | undefined;
  watcher.on("put", () => wake?.());
  const lat: number[] = [];
  for (let i = 0; i < WATCH_OPS; i++) {
    const seen = new Promise<void>((r) => {
      wake = r;
    });
    const t = performance.now();
    const r = await client.get(KEY).exec();
    const kv = r.kvs[0]!;
    const v = JSON.parse(kv.value.toString()) as Resource;
    v.metadata.annotations = { n: String(Number(v.metadata.annotations?.n) + 1) };
    await client
      .if(KEY, "Mod", "==", kv.mod_revision)
      .then(client.put(KEY).value(JSON.stringify(v)))
      .commit();
    await seen;
    lat.push(performance.now() - t);
  }
  await watcher.cancel();
  client.close();
  return { name: "raw etcd (etcd3 txn)", casPerSec, watchP50Ms: pct(lat, 0.5), watchP99Ms: pct(lat, 0.99) };
}

async function kubeBackend(dir?: string): Promise<{ ds: Datastore; stop: () => Promise<void> }> {
  const store = await ObjectStore.open(dir !== undefined ? { dir } : {});
  const server = new ApiServer({ store, token: "bench" });
  const url = await server.listen(0);
  for (const def of KINDS) {
    const crd = crdFor(def);
    if (crd !== undefined) await server.createObject(CRDS, undefined, crd);
  }
  const ds = new KubernetesDatastore({ kubeconfigText: renderKubeconfig(url, "bench") });
  return {
    ds,
    stop: async () => {
      await server.close();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tabby-bench-datastore-"));
  const scope = new Scope();
  const etcd = await Etcd.start(scope);
  const results: Result[] = [];
  try {
    // Raw and tabby alternate for three rounds (the first runs on a cold etcd); each keeps its best.
    const best = (a: Result | undefined, b: Result) =>
      a === undefined
        ? b
        : {
            ...b,
            casPerSec: Math.max(a.casPerSec, b.casPerSec),
            watchP50Ms: Math.min(a.watchP50Ms, b.watchP50Ms),
            watchP99Ms: Math.min(a.watchP99Ms, b.watchP99Ms),
          };
    let raw: Result | undefined;
    let tabby: Result | undefined;
    for (let round = 0; round < 3; round++) {
      raw = best(raw, await benchRawEtcd(etcd.endpoint));
      const tabbyEtcd = new EtcdDatastore({ endpoints: [etcd.endpoint] });
      await tabbyEtcd.client.delete().prefix("/calico/").exec();
      tabby = best(tabby, await benchDatastore("tabby etcdv3", tabbyEtcd));
    }
    results.push(raw!, tabby!);
    for (const [name, sub] of [
      ["tabby kubernetes → embedded API server (memory)", undefined],
      ["tabby kubernetes → embedded API server (file)", join(dir, "kube")],
    ] as const) {
      const k = await kubeBackend(sub);
      results.push(await benchDatastore(name, k.ds));
      await k.stop();
    }
    results.push(await benchDatastore("tabby embedded (memory)", await EmbeddedDatastore.open()));
    results.push(
      await benchDatastore(
        "tabby embedded (file)",
        await EmbeddedDatastore.open({ dir: join(dir, "embedded") }),
      ),
    );
  } finally {
    await scope.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `datastore benchmark: ${CAS_OPS} sequential CAS increments, ${WATCH_OPS} write→event round trips`,
  );
  console.log(
    `node ${process.version}, kernel ${release()}, ${cpus().length} CPU (${cpus()[0]?.model ?? "?"})`,
  );
  console.log("");
  console.log(`| backend | CAS updates/s | watch latency p50 | p99 |`);
  console.log(`|---|---|---|---|`);
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.casPerSec.toFixed(0)} | ${r.watchP50Ms.toFixed(2)} ms | ${r.watchP99Ms.toFixed(2)} ms |`,
    );
  }
  const raw = results[0]!;
  const tabby = results[1]!;
  console.log("");
  console.log(`ratio: cas etcd tabby/raw = ${(raw.casPerSec / tabby.casPerSec).toFixed(2)}`);
  console.log(`ratio: watch-latency etcd tabby/raw = ${(tabby.watchP50Ms / raw.watchP50Ms).toFixed(2)}`);
}

await main();
