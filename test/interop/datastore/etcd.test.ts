/**
 * The etcdv3 backend against a real etcd: the shared contract suite, Calico's key layout, and a watch
 * that stays open while etcd is killed and started again (no event lost or duplicated).
 */
import { expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import { EtcdDatastore } from "../../../src/datastore/etcd/etcd-datastore.js";
import type { WatchEvent } from "../../../src/datastore/types.js";
import { Etcd } from "../../harness/etcd.js";
import { describeWith } from "../../harness/requirements.js";
import { suiteScope, testScope } from "../../harness/scope.js";
import { datastoreContract, pool } from "../../unit/datastore/contract.js";
import { RestartableEtcd } from "./restartable-etcd.js";

describeWith(["etcd"], "etcdv3 backend on a real etcd", () => {
  const scope = suiteScope();
  let etcd: Etcd | undefined;
  const endpoint = async () => {
    etcd ??= await Etcd.start(scope);
    return etcd.endpoint;
  };
  const open = async () => {
    const ds = new EtcdDatastore({ endpoints: [await endpoint()] });
    await ds.client.delete().prefix("/calico/").exec();
    return ds;
  };
  datastoreContract("etcdv3", open, {
    compact: (ds, revision) => (ds as EtcdDatastore).compact(revision),
  });

  it("stores resources as JSON under Calico's etcd keys, resourceVersion being the mod revision", async () => {
    const ds = await open();
    const a = await ds.create(pool("a", "10.0.0.0/16"));
    const raw = await etcd!.get("/calico/resources/v3/projectcalico.org/ippools/a");
    const json = JSON.parse(raw!) as Resource;
    expect(json.kind).toBe("IPPool");
    expect(json.metadata.resourceVersion).toBeUndefined();
    expect(json.metadata.uid).toBe(a.metadata.uid);
    const rev = await etcd!.put("/calico/resources/v3/projectcalico.org/ippools/a", raw!);
    expect((await ds.get({ kind: "IPPool", name: "a" })).metadata.resourceVersion).toBe(String(rev));
    await ds.close();
  });

  it("lists more than 4 MB and several pages of one kind as one snapshot", async () => {
    const ds = await open();
    const big = "x".repeat(4096);
    const names = Array.from({ length: 1200 }, (_, i) => `big-${String(i).padStart(4, "0")}`);
    for (let i = 0; i < names.length; i += 100) {
      await ds.batch(
        names.slice(i, i + 100).map((name, j) => {
          const p = pool(name, `10.${(i + j) >> 8}.${(i + j) & 255}.0/24`);
          return {
            op: "create" as const,
            resource: { ...p, metadata: { ...p.metadata, annotations: { big } } },
          };
        }),
      );
    }
    // Writes racing the list must not leak in: everything listed is at or before the list's revision.
    const listing = ds.list("IPPool");
    const late = ds.create(pool("late", "10.200.0.0/24"));
    const [res, lateOne] = await Promise.all([listing, late]);
    const listed = res.items.map((r) => r.metadata.name);
    expect(listed.filter((n) => n.startsWith("big-"))).toEqual(names);
    const rev = BigInt(res.revision);
    for (const r of res.items) expect(BigInt(r.metadata.resourceVersion!) <= rev).toBe(true);
    expect(listed.includes("late")).toBe(BigInt(lateOne.metadata.resourceVersion!) <= rev);
    await ds.close();
  }, 60_000);
});

describeWith(["etcd"], "etcdv3 watch across an etcd restart", () => {
  it("resumes after etcd is killed and restarted, with no event lost or duplicated", async () => {
    const scope = testScope();
    const etcd = await RestartableEtcd.start(scope);
    const writer = new EtcdDatastore({ endpoints: [etcd.endpoint] });
    const watcher = new EtcdDatastore({ endpoints: [etcd.endpoint] });
    scope.defer("close clients", async () => {
      await writer.close();
      await watcher.close();
    });
    const first = await writer.create(pool("p0", "10.0.0.0/24"));
    const w = watcher.watch({ kind: "IPPool", fromRevision: first.metadata.resourceVersion! });
    const got: WatchEvent[] = [];
    const pump = (async () => {
      for await (const e of w) got.push(e);
    })();
    const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i + 1}`);
    for (const name of names(5)) await writer.create(pool(name, `10.${name.slice(1)}.0.0/24`));
    await etcd.kill();
    await etcd.restart();
    for (const name of names(10).slice(5)) {
      // The writer's own connection comes back too; retry through the restart.
      for (;;) {
        try {
          await writer.create(pool(name, `10.${name.slice(1)}.0.0/24`));
          break;
        } catch (e) {
          if ((e as { code?: string }).code === "DATASTORE_ALREADY_EXISTS") break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const deadline = Date.now() + 20_000;
    while (got.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    w.close();
    await pump;
    expect(got.map((e) => `${e.type} ${e.resource.metadata.name}`)).toEqual(
      names(10).map((n) => `added ${n}`),
    );
  }, 60_000);
});
