/**
 * IPAM benchmark (issue #9): address assignments per second with 1 and 16 concurrent allocators, on
 * etcd (tabby's etcdv3 backend) and on the embedded store, and in the same run the rate of the same
 * number of raw compare-and-swap transactions through the etcd3 client: each one a transaction "if the
 * key is still at the revision I last wrote, put the new value" on a key of its own per worker, with a
 * value the size of a half-full /26 block. That is the least any CAS allocator can do per address, so
 * the datastore's own limit. There are 16 nodes; 16 allocators serve one node each (a node's CNI
 * invocations are serialised by Calico's host-wide lock; here nodes run in parallel), 1 allocator serves
 * them in turn; every allocator has its own client and takes one address per request with a new handle
 * (as CNI ADD does), from a /16 pool of /26 blocks (claims included, no borrowing). A second 16-allocator
 * row puts the 16 allocators on 4 nodes, where they also fight over each node's block. Raw and tabby runs alternate for three rounds; each keeps its best.
 * Ends with `ratio: assign <n> allocators tabby/raw-cas = x.xx` (tabby's cost over raw CAS's).
 * Needs `etcd` on PATH. BENCH_IPAM_OPS sets the assignments per run (default 4000).
 */
import { execFileSync } from "node:child_process";
import { cpus, release } from "node:os";
import { Etcd3 } from "etcd3";
import { assignFromBlock, newBlock } from "../ipam/block.js";
import { parseCidr } from "../ipam/ip.js";
import { noReservations } from "../ipam/reservations.js";
import type { Resource } from "../src/api/meta.js";
import { EmbeddedDatastore } from "../src/datastore/embedded.js";
import { EtcdDatastore } from "../src/datastore/etcd/etcd-datastore.js";
import type { Datastore } from "../src/datastore/types.js";
import { openIpam } from "../src/ipam/open.js";
import { Etcd } from "../test/harness/etcd.js";
import { Scope } from "../test/harness/scope.js";

const OPS = Number(process.env.BENCH_IPAM_OPS ?? 4000);
const ROUNDS = 3;

/**
 * A half-full /26 block as JSON, each address with its own pod's attribute: what a tabby assignment
 * writes, on average, for the block (the handle it also writes is a few hundred bytes more).
 */
function blockSizedValue(n: number): string {
  let b = newBlock(parseCidr("10.0.0.0/26")!, { affinity: "host:bench", sequenceNumber: 1795000000000000 });
  for (let i = 0; i < 32; i++) {
    b = assignFromBlock(
      b,
      1,
      `k8s-pod-network.${n}-${i}`,
      { node: "bench", namespace: "default", pod: `p-${n}-${i}`, timestamp: "2026-01-01 00:00:00 +0000 UTC" },
      noReservations,
    ).block;
  }
  return JSON.stringify({
    apiVersion: "projectcalico.org/v3",
    kind: "IPAMBlock",
    metadata: {
      name: "10-0-0-0-26",
      uid: "6f1c2d3e-0000-4000-8000-000000000000",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: b,
  });
}

/** `ops` raw CAS transactions split over `workers` clients, each on its own key. Returns ops/s. */
async function rawCas(endpoint: string, workers: number, ops: number): Promise<number> {
  const clients = Array.from({ length: workers }, () => new Etcd3({ hosts: endpoint }));
  const per = Math.ceil(ops / workers);
  // Two values per worker, alternated, built before the clock starts: the baseline measures etcd and
  // its client, not how fast a value is made.
  const values = clients.map((_, w) => [blockSizedValue(2 * w), blockSizedValue(2 * w + 1)] as const);
  // Create the keys first (untimed), remembering each one's mod revision.
  const revs = await Promise.all(
    clients.map(async (c, w) => {
      const r = await c.put(`/bench/raw/${w}`).value(values[w]![0]).exec();
      return r.header.revision;
    }),
  );
  const started = performance.now();
  await Promise.all(
    clients.map(async (c, w) => {
      const key = `/bench/raw/${w}`;
      let rev = revs[w]!;
      for (let i = 1; i <= per; i++) {
        const res = await c
          .if(key, "Mod", "==", rev)
          .then(c.put(key).value(blockSizedValue(i)))
          .commit();
        if (!res.succeeded) throw new Error("raw CAS lost: keys are not shared, this cannot happen");
        rev = res.header.revision;
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const c of clients) c.close();
  return (per * workers) / (elapsed / 1000);
}

const pool: Resource = {
  apiVersion: "projectcalico.org/v3",
  kind: "IPPool",
  metadata: { name: "bench" },
  spec: {
    cidr: "10.128.0.0/16",
    blockSize: 26,
    nodeSelector: "all()",
    ipipMode: "Never",
    vxlanMode: "Never",
  },
};

async function seed(ds: Datastore, nodes: number): Promise<void> {
  await ds.create(structuredClone(pool));
  for (let n = 0; n < nodes; n++) {
    await ds.create({
      apiVersion: "projectcalico.org/v3",
      kind: "Node",
      metadata: { name: `node-${n}` },
      spec: {},
    });
  }
}

/** `ops` assignments by `allocators` allocators spread over `nodes` nodes. Returns assignments/s. */
async function assignRate(
  clients: readonly Datastore[],
  nodes: number,
  ops: number,
): Promise<{ perSec: number; unique: number }> {
  const per = Math.ceil(ops / clients.length);
  const ipams = clients.map((ds) => openIpam(ds, { inputsMaxAgeMs: 1000 }));
  const addresses: string[] = [];
  const started = performance.now();
  await Promise.all(
    ipams.map(async (ipam, a) => {
      for (let i = 0; i < per; i++) {
        const node = `node-${(a + i * clients.length) % nodes}`;
        const r = await ipam.autoAssign({
          handleId: `k8s-pod-network.${a}-${i}`,
          node,
          num4: 1,
          attrs: {
            node,
            namespace: "default",
            pod: `p-${a}-${i}`,
            timestamp: "2026-01-01 00:00:00 +0000 UTC",
          },
        });
        addresses.push(r.ipv4[0]!.address);
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { perSec: (per * clients.length) / (elapsed / 1000), unique: new Set(addresses).size };
}

async function etcdTabby(endpoint: string, allocators: number, nodes: number): Promise<number> {
  const admin = new Etcd3({ hosts: endpoint });
  await admin.delete().prefix("/calico/").exec();
  admin.close();
  const seedDs = new EtcdDatastore({ endpoints: [endpoint] });
  await seed(seedDs, nodes);
  await seedDs.close();
  const clients = Array.from({ length: allocators }, () => new EtcdDatastore({ endpoints: [endpoint] }));
  const r = await assignRate(clients, nodes, OPS);
  await Promise.all(clients.map((c) => c.close()));
  if (r.unique !== Math.ceil(OPS / allocators) * allocators)
    throw new Error("an address was handed out twice");
  return r.perSec;
}

async function embeddedTabby(allocators: number, nodes: number): Promise<number> {
  const ds = await EmbeddedDatastore.open({ historyLimit: 100 });
  await seed(ds, nodes);
  const r = await assignRate(
    Array.from({ length: allocators }, () => ds),
    nodes,
    OPS,
  );
  await ds.close();
  return r.perSec;
}

function etcdVersion(): string {
  try {
    return execFileSync("etcd", ["--version"], { encoding: "utf8" }).split("\n")[0]!.trim();
  } catch {
    return "etcd ?";
  }
}

async function main(): Promise<void> {
  const scope = new Scope();
  const etcd = await Etcd.start(scope);
  try {
    const best = new Map<string, number>();
    const keep = (k: string, v: number) => best.set(k, Math.max(best.get(k) ?? 0, v));
    for (let round = 0; round < ROUNDS; round++) {
      keep("raw 1", await rawCas(etcd.endpoint, 1, OPS));
      keep("etcd 1 on 16 nodes", await etcdTabby(etcd.endpoint, 1, 16));
      keep("raw 16", await rawCas(etcd.endpoint, 16, OPS));
      keep("etcd 16 on 16 nodes", await etcdTabby(etcd.endpoint, 16, 16));
      keep("etcd 16 on 4 nodes", await etcdTabby(etcd.endpoint, 16, 4));
      keep("embedded 1 on 16 nodes", await embeddedTabby(1, 16));
      keep("embedded 16 on 16 nodes", await embeddedTabby(16, 16));
    }
    const f = (k: string) => Math.round(best.get(k)!).toLocaleString("en");
    console.log(`IPAM assignments, ${OPS.toLocaleString("en")} per run, best of ${ROUNDS} rounds`);
    console.log(
      `node ${process.version}, kernel ${release()}, ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), ${etcdVersion()}`,
    );
    console.log("");
    console.log("| what | allocators | nodes | per second |");
    console.log("|---|---|---|---|");
    console.log(`| raw etcd3 CAS transactions | 1 | - | ${f("raw 1")} |`);
    console.log(`| tabby assign on etcd | 1 | 16 | ${f("etcd 1 on 16 nodes")} |`);
    console.log(`| raw etcd3 CAS transactions | 16 | - | ${f("raw 16")} |`);
    console.log(`| tabby assign on etcd | 16 | 16 | ${f("etcd 16 on 16 nodes")} |`);
    console.log(`| tabby assign on etcd | 16 | 4 | ${f("etcd 16 on 4 nodes")} |`);
    console.log(`| tabby assign on the embedded store | 1 | 16 | ${f("embedded 1 on 16 nodes")} |`);
    console.log(`| tabby assign on the embedded store | 16 | 16 | ${f("embedded 16 on 16 nodes")} |`);
    console.log("");
    const ratio = (raw: string, tabby: string) => (best.get(raw)! / best.get(tabby)!).toFixed(2);
    console.log(`ratio: assign 1 allocators tabby/raw-cas = ${ratio("raw 1", "etcd 1 on 16 nodes")}`);
    console.log(`ratio: assign 16 allocators tabby/raw-cas = ${ratio("raw 16", "etcd 16 on 16 nodes")}`);
    console.log(
      `ratio: assign 16-on-4-nodes allocators tabby/raw-cas = ${ratio("raw 16", "etcd 16 on 4 nodes")}`,
    );
  } finally {
    await scope.close();
  }
}

await main();
