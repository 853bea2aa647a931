/**
 * IPAM through a real datastore outage (restart-race.ts): etcd killed with SIGKILL and restarted on its
 * data in the middle of 16 allocators' run, and `tabby datastore serve` (the embedded API server the
 * kubernetes backend talks to) killed and restarted the same way.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, expect, it } from "vitest";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { KubernetesDatastore } from "../../src/datastore/kubernetes/kubernetes-datastore.js";
import { Etcd } from "../harness/etcd.js";
import { makeTempDir } from "../harness/naming.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope, testScope } from "../harness/scope.js";
import { ServeProcess } from "../interop/datastore/serve-process.js";
import { type RestartOutcome, raceThroughRestart } from "./restart-race.js";

const outcomes: string[] = [];
const summary = (what: string, o: RestartOutcome) =>
  `${what}: ${o.attempted} assignments, ${o.succeeded} succeeded, ${o.failures.length} failed (${[
    ...new Set(o.failures.map((f) => f.code)),
  ].join(", ")}), datastore down ${Math.round(o.downMs)} ms`;

afterAll(() => {
  for (const line of outcomes) console.info(line);
});

describeWith(["etcd"], "ipam through an etcd restart", () => {
  const scope = suiteScope();
  it("16 allocators in 4 processes, etcd killed and restarted mid-run: no duplicate, no leak, no hang", async () => {
    const etcd = await Etcd.start(scope);
    const ds = new EtcdDatastore({ endpoints: [etcd.endpoint] });
    scope.defer("close etcd client", () => ds.close());
    const o = await raceThroughRestart(
      scope,
      {
        backend: "etcdv3",
        target: etcd.endpoint,
        ds,
        kill: () => etcd.kill9(),
        restart: () => etcd.restart(),
      },
      1500,
    );
    outcomes.push(summary("etcd restart", o));
    expect(o.attempted).toBe(960);
  }, 300_000);
});

it("ipam through an embedded API server restart: 16 allocators in 4 processes, `tabby datastore serve` killed and restarted mid-run: no duplicate, no leak, no hang", async () => {
  const scope = testScope();
  const dir = await makeTempDir(scope);
  const token = randomBytes(16).toString("hex");
  let serve = await ServeProcess.start(scope, dir, "127.0.0.1:0", token);
  const listen = new URL(serve.url).host;
  const kubeconfig = serve.kubeconfig;
  const ds = new KubernetesDatastore({ kubeconfigText: await readFile(kubeconfig, "utf8") });
  scope.defer("close kubernetes client", () => ds.close());
  const o = await raceThroughRestart(
    scope,
    {
      backend: "kubernetes",
      target: kubeconfig,
      ds,
      kill: () => serve.kill9(),
      restart: async () => {
        serve = await ServeProcess.start(scope, dir, listen, token);
      },
    },
    1500,
  );
  outcomes.push(summary("API server restart", o));
  expect(o.attempted).toBe(960);
}, 300_000);
