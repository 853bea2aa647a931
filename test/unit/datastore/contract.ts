/**
 * The behaviour every datastore backend must have, as one suite: the embedded store runs it now, and the
 * Kubernetes and etcd backends of the datastore issue run the same file against their backends.
 */
import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import type { Datastore, WatchEvent } from "../../../src/datastore/types.js";
import { isTabbyError } from "../../../src/util/errors.js";

export function pool(name: string, cidr: string, labels?: Record<string, string>): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { cidr, ipipMode: "Never", vxlanMode: "Never", blockSize: 26, nodeSelector: "all()" },
  };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isTabbyError(e)) return e.code;
    throw e;
  }
  return "no error";
}

async function take(it: AsyncIterator<WatchEvent>, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

export function datastoreContract(name: string, open: () => Promise<Datastore>): void {
  describe(`datastore contract: ${name}`, () => {
    it("creates with server metadata, gets, lists in name order", async () => {
      const ds = await open();
      const created = await ds.create(pool("b", "10.1.0.0/16"));
      expect(created.metadata.uid).toMatch(/.+/);
      expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      await ds.create(pool("a", "10.0.0.0/16"));
      expect(await ds.get({ kind: "IPPool", name: "b" })).toEqual(created);
      const list = await ds.list("IPPool");
      expect(list.items.map((r) => r.metadata.name)).toEqual(["a", "b"]);
      expect(Number(list.revision)).toBeGreaterThanOrEqual(Number(created.metadata.resourceVersion));
      expect((await ds.list("BGPPeer")).items).toEqual([]);
      await ds.close();
    });

    it("refuses a second create, and gets and deletes of what is not there", async () => {
      const ds = await open();
      await ds.create(pool("a", "10.0.0.0/16"));
      expect(await code(ds.create(pool("a", "10.9.0.0/16")))).toBe("DATASTORE_ALREADY_EXISTS");
      expect(await code(ds.get({ kind: "IPPool", name: "zz" }))).toBe("DATASTORE_NOT_FOUND");
      expect(await code(ds.delete({ kind: "IPPool", name: "zz" }))).toBe("DATASTORE_NOT_FOUND");
      expect(await code(ds.update(pool("zz", "10.0.0.0/16")))).toBe("DATASTORE_NOT_FOUND");
      await ds.close();
    });

    it("updates with compare-and-swap on resourceVersion and keeps uid and creationTimestamp", async () => {
      const ds = await open();
      const v1 = await ds.create(pool("a", "10.0.0.0/16"));
      const change = { ...v1, spec: { ...(v1.spec as object), natOutgoing: true } };
      const v2 = await ds.update(change);
      expect(Number(v2.metadata.resourceVersion)).toBeGreaterThan(Number(v1.metadata.resourceVersion));
      expect(v2.metadata.uid).toBe(v1.metadata.uid);
      expect(v2.metadata.creationTimestamp).toBe(v1.metadata.creationTimestamp);
      // Writing again with the now stale version is a conflict.
      const stale = { ...change, spec: { ...(change.spec as object), disabled: true } };
      expect(await code(ds.update(stale))).toBe("DATASTORE_CONFLICT");
      // Without a resourceVersion the update is unconditional, as in Kubernetes.
      const { resourceVersion: _rv, ...meta } = stale.metadata;
      const v3 = await ds.update({ ...stale, metadata: meta });
      expect((v3.spec as { disabled?: boolean }).disabled).toBe(true);
      await ds.close();
    });

    it("treats an update that changes nothing as a no-op", async () => {
      const ds = await open();
      const v1 = await ds.create(pool("a", "10.0.0.0/16", { tier: "gold" }));
      const again = await ds.update(structuredClone(v1));
      expect(again).toEqual(v1);
      expect((await ds.list("IPPool")).revision).toBe(v1.metadata.resourceVersion);
      await ds.close();
    });

    it("deletes, with an optional resourceVersion precondition", async () => {
      const ds = await open();
      const v1 = await ds.create(pool("a", "10.0.0.0/16"));
      await ds.update({ ...v1, metadata: { ...v1.metadata, labels: { x: "y" } } });
      expect(
        await code(
          ds.delete({ kind: "IPPool", name: "a" }, { resourceVersion: v1.metadata.resourceVersion! }),
        ),
      ).toBe("DATASTORE_CONFLICT");
      const gone = await ds.delete({ kind: "IPPool", name: "a" });
      expect(gone.metadata.labels).toEqual({ x: "y" });
      expect(await code(ds.get({ kind: "IPPool", name: "a" }))).toBe("DATASTORE_NOT_FOUND");
      await ds.close();
    });

    it("lists by label selector and by namespace", async () => {
      const ds = await open();
      await ds.create(pool("a", "10.0.0.0/16", { zone: "east" }));
      await ds.create(pool("b", "10.1.0.0/16", { zone: "west" }));
      await ds.create(pool("c", "10.2.0.0/16"));
      const east = await ds.list("IPPool", { labelSelector: "zone == 'east'" });
      expect(east.items.map((r) => r.metadata.name)).toEqual(["a"]);
      const notEast = await ds.list("IPPool", { labelSelector: "zone != 'east'" });
      expect(notEast.items.map((r) => r.metadata.name)).toEqual(["b", "c"]);
      const wep = (ns: string, name: string): Resource => ({
        apiVersion: "projectcalico.org/v3",
        kind: "WorkloadEndpoint",
        metadata: { name, namespace: ns },
        spec: { interfaceName: "cali0" },
      });
      await ds.create(wep("ns1", "n1-k8s-a-eth0"));
      await ds.create(wep("ns2", "n1-k8s-a-eth0"));
      expect((await ds.list("WorkloadEndpoint", { namespace: "ns1" })).items).toHaveLength(1);
      expect((await ds.list("WorkloadEndpoint")).items).toHaveLength(2);
      await ds.close();
    });

    it("watches from a revision: replays what came after it, then follows", async () => {
      const ds = await open();
      const a = await ds.create(pool("a", "10.0.0.0/16"));
      await ds.create(pool("b", "10.1.0.0/16"));
      const w = ds.watch({ kind: "IPPool", fromRevision: a.metadata.resourceVersion! });
      const it = w[Symbol.asyncIterator]();
      const replay = await take(it, 1);
      expect(replay.map((e) => [e.type, e.resource.metadata.name])).toEqual([["added", "b"]]);
      await ds.delete({ kind: "IPPool", name: "a" });
      await ds.create({ ...pool("p", "10.5.0.0/16"), kind: "BGPPeer", spec: {} });
      await ds.create(pool("c", "10.2.0.0/16"));
      const live = await take(it, 2);
      expect(live.map((e) => [e.type, e.resource.metadata.name])).toEqual([
        ["deleted", "a"],
        ["added", "c"],
      ]);
      w.close();
      expect((await it.next()).done).toBe(true);
      await ds.close();
    });

    it("refuses to watch from a revision it no longer has", async () => {
      const ds = await open();
      const w = ds.watch({ kind: "IPPool", fromRevision: "-5" });
      await expect(w[Symbol.asyncIterator]().next()).rejects.toSatisfy((e: unknown) =>
        isTabbyError(e, "DATASTORE_GONE"),
      );
      await ds.close();
    });

    it("applies a batch whole or not at all", async () => {
      const ds = await open();
      if (ds.batch === undefined) return;
      await ds.create(pool("a", "10.0.0.0/16"));
      const before = await ds.list("IPPool");
      const failed = ds.batch([
        { op: "create", resource: pool("b", "10.1.0.0/16") },
        { op: "create", resource: pool("a", "10.2.0.0/16") },
      ]);
      expect(await code(failed)).toBe("DATASTORE_ALREADY_EXISTS");
      expect(await ds.list("IPPool")).toEqual(before);
      const done = await ds.batch([
        { op: "create", resource: pool("b", "10.1.0.0/16") },
        { op: "delete", key: { kind: "IPPool", name: "a" } },
      ]);
      expect(done.map((r) => r.metadata.name)).toEqual(["b", "a"]);
      expect((await ds.list("IPPool")).items.map((r) => r.metadata.name)).toEqual(["b"]);
      await ds.close();
    });
  });
}
