/**
 * The behaviour every datastore backend must have, as one suite run against each: the embedded store
 * (in memory and on disk), etcd v3 (a real etcd) and Kubernetes (the kubernetes backend against the
 * embedded API server). Backends differ only through `ContractHooks`: how to compact history, and what
 * must exist before a WorkloadEndpoint can (in Kubernetes it is a Pod).
 */
import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import { reflect } from "../../../src/datastore/reflector.js";
import type { Datastore, WatchEvent } from "../../../src/datastore/types.js";
import type { Clock } from "../../../src/util/clock.js";
import { isTabbyError } from "../../../src/util/errors.js";
import { type Fault, FaultyDatastore } from "../../harness/faulty-datastore.js";

export interface ContractHooks {
  /** Drops the backend's history up to `revision`, so that watches from before it are gone. */
  compact(ds: Datastore, revision: string): Promise<void>;
  /** Whatever a WorkloadEndpoint needs first (a Pod on `node` in Kubernetes); nothing elsewhere. */
  prepareWorkload?(namespace: string, pod: string, node: string): Promise<void>;
}

/** A WorkloadEndpoint as the CNI plugin writes it, named as Calico names it (calico.md §1.11). */
export function workloadEndpoint(namespace: string, pod: string, node = "n1"): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "WorkloadEndpoint",
    metadata: { name: `${node}-k8s-${pod.replaceAll("-", "--")}-eth0`, namespace },
    spec: {
      orchestrator: "k8s",
      node,
      pod,
      endpoint: "eth0",
      containerID: "0123456789ab",
      ipNetworks: ["10.65.0.7/32"],
      interfaceName: "cali0123456789a",
    },
  };
}

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

const label = (e: WatchEvent) => `${e.type} ${e.resource.metadata.name} ${JSON.stringify(e.resource.spec)}`;

/**
 * The contract for one backend: as is; again with every call delayed by a random number of event-loop
 * turns (concurrent calls reach the backend in another order than they were made); and the fault cases
 * (lost replies, failed calls, dropped watches) through test/harness/faulty-datastore.ts.
 */
export function datastoreContract(name: string, open: () => Promise<Datastore>, hooks: ContractHooks): void {
  contractSuite(name, open, hooks);
  const inner = (ds: Datastore) => (ds instanceof FaultyDatastore ? ds.inner : ds);
  let seed = 0;
  contractSuite(
    `${name}, calls delayed and reordered by injected faults`,
    async () => new FaultyDatastore(await open(), { seed: ++seed, delay: 0.5 }),
    {
      compact: (ds, revision) => hooks.compact(inner(ds), revision),
      ...(hooks.prepareWorkload !== undefined ? { prepareWorkload: hooks.prepareWorkload } : {}),
    },
  );
  faultSuite(name, open);
}

function contractSuite(name: string, open: () => Promise<Datastore>, hooks: ContractHooks): void {
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
      const byName = await ds.list("IPPool", { fieldSelector: "metadata.name=b" });
      expect(byName.items.map((r) => r.metadata.name)).toEqual(["b"]);
      const notB = await ds.list("IPPool", { fieldSelector: "metadata.name!=b" });
      expect(notB.items.map((r) => r.metadata.name)).toEqual(["a", "c"]);
      for (const ns of ["ns1", "ns2"]) {
        await hooks.prepareWorkload?.(ns, "a", "n1");
        await ds.create(workloadEndpoint(ns, "a"));
      }
      const ns1 = await ds.list("WorkloadEndpoint", { namespace: "ns1" });
      expect(ns1.items.map((r) => [r.metadata.namespace, r.metadata.name])).toEqual([
        ["ns1", "n1-k8s-a-eth0"],
      ]);
      expect((ns1.items[0]!.spec as { ipNetworks: string[] }).ipNetworks).toEqual(["10.65.0.7/32"]);
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

    it("a watch with a label selector sees an object whose labels stop matching as deleted, and one that starts matching as added", async () => {
      const ds = await open();
      const start = await ds.list("IPPool");
      const w = ds.watch({ kind: "IPPool", labelSelector: "rack == 'a'", fromRevision: start.revision });
      const it = w[Symbol.asyncIterator]();
      const a = await ds.create(pool("p", "10.0.0.0/16", { rack: "a" }));
      await ds.create(pool("q", "10.1.0.0/16", { rack: "b" }));
      const moved = await ds.update({ ...a, metadata: { ...a.metadata, labels: { rack: "b" } } });
      const q = await ds.get({ kind: "IPPool", name: "q" });
      await ds.update({ ...q, metadata: { ...q.metadata, labels: { rack: "a" } } });
      const events = await take(it, 3);
      expect(events.map((e) => `${e.type} ${e.resource.metadata.name}`)).toEqual([
        "added p",
        "deleted p",
        "added q",
      ]);
      expect(events[1]!.revision).toBe(moved.metadata.resourceVersion);
      w.close();
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

    it("watches from a revision and sees every change in order, exactly once", async () => {
      const ds = await open();
      const start = await ds.list("IPPool");
      const w = ds.watch({ kind: "IPPool", fromRevision: start.revision });
      const it = w[Symbol.asyncIterator]();
      const expected: string[] = [];
      const record = (type: WatchEvent["type"], r: Resource) =>
        expected.push(`${type} ${r.metadata.name} ${JSON.stringify(r.spec)}`);
      for (let i = 0; i < 8; i++) record("added", await ds.create(pool(`p${i}`, `10.${i}.0.0/16`)));
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 8; i += 2) {
          const cur = await ds.get({ kind: "IPPool", name: `p${i}` });
          const next = { ...cur, spec: { ...(cur.spec as object), blockSize: 26 + round + 1 } };
          record("modified", await ds.update(next));
        }
      }
      for (let i = 1; i < 8; i += 2) {
        const gone = await ds.delete({ kind: "IPPool", name: `p${i}` });
        record("deleted", gone);
      }
      const events = await take(it, expected.length);
      expect(events.map(label)).toEqual(expected);
      const revisions = events.map((e) => Number(e.revision));
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
      expect(new Set(revisions).size).toBe(revisions.length);
      expect(w.revision).toBe(events.at(-1)!.revision);
      // A second watch from the middle replays exactly the tail.
      const mid = events[9]!.revision;
      const w2 = ds.watch({ kind: "IPPool", fromRevision: mid });
      const tail = await take(w2[Symbol.asyncIterator](), expected.length - 10);
      expect(tail.map(label)).toEqual(expected.slice(10));
      w.close();
      w2.close();
      await ds.close();
    });

    it("reports a compacted revision as gone, and a reflector relists and converges", async () => {
      const ds = await open();
      const a = await ds.create(pool("a", "10.0.0.0/16"));
      await ds.create(pool("b", "10.1.0.0/16"));
      const seen = new Map<string, Resource>();
      const r = reflect(ds, { kind: "IPPool" });
      const rit = r[Symbol.asyncIterator]();
      for (const e of await take(rit, 2)) seen.set(e.resource.metadata.name, e.resource);
      expect([...seen.keys()].sort()).toEqual(["a", "b"]);
      // Changes the reflector will only learn about through a relist once history is gone.
      const b2 = await ds.update({
        ...(await ds.get({ kind: "IPPool", name: "b" })),
        metadata: { ...(await ds.get({ kind: "IPPool", name: "b" })).metadata, labels: { v: "2" } },
      });
      await ds.delete({ kind: "IPPool", name: "a" });
      const c = await ds.create(pool("c", "10.2.0.0/16"));
      await hooks.compact(ds, c.metadata.resourceVersion!);
      const w = ds.watch({ kind: "IPPool", fromRevision: a.metadata.resourceVersion! });
      await expect(w[Symbol.asyncIterator]().next()).rejects.toSatisfy((e: unknown) =>
        isTabbyError(e, "DATASTORE_GONE"),
      );
      // Whether the reflector saw the changes live or through a relist, it converges on the truth.
      const after = await ds.create(pool("d", "10.3.0.0/16"));
      for (;;) {
        const [e] = await take(rit, 1);
        if (e === undefined) throw new Error("reflector ended");
        if (e.type === "deleted") seen.delete(e.resource.metadata.name);
        else seen.set(e.resource.metadata.name, e.resource);
        if (e.resource.metadata.name === "d") break;
      }
      expect([...seen.keys()].sort()).toEqual(["b", "c", "d"]);
      expect(seen.get("b")!.metadata.resourceVersion).toBe(b2.metadata.resourceVersion);
      expect(Number(r.revision)).toBeGreaterThanOrEqual(Number(after.metadata.resourceVersion));
      r.close();
      await ds.close();
    });

    it("loses no increment when 16 writers race through compare-and-swap retries", async () => {
      const ds = await open();
      await ds.create({
        ...pool("counter", "10.0.0.0/16"),
        metadata: { name: "counter", annotations: { n: "0" } },
      });
      const writers = 16;
      const perWriter = 5;
      let conflicts = 0;
      const writer = async () => {
        for (let i = 0; i < perWriter; i++) {
          for (;;) {
            const cur = await ds.get({ kind: "IPPool", name: "counter" });
            const n = Number(cur.metadata.annotations?.n);
            try {
              await ds.update({ ...cur, metadata: { ...cur.metadata, annotations: { n: String(n + 1) } } });
              break;
            } catch (e) {
              if (!isTabbyError(e, "DATASTORE_CONFLICT")) throw e;
              conflicts++;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, writer));
      const final = await ds.get({ kind: "IPPool", name: "counter" });
      expect(final.metadata.annotations?.n).toBe(String(writers * perWriter));
      expect(conflicts).toBeGreaterThanOrEqual(0);
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

/** Timers that fire on the next event-loop turn: a reflector's retry pause without waiting real time. */
const nextTurn: Clock = {
  now: () => performance.now(),
  wallTime: () => Date.now(),
  setTimer(_ms, fire) {
    const t = setImmediate(fire);
    return { cancel: () => clearImmediate(t) };
  },
};

/** What a client must do after a write whose reply was lost: read until the datastore answers. */
async function readThrough<T>(read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (e) {
      if (!isTabbyError(e, "DATASTORE_IO")) throw e;
    }
  }
}

function faultSuite(name: string, open: () => Promise<Datastore>): void {
  describe(`datastore contract under injected faults: ${name}`, () => {
    it("a write that fails before it is applied leaves nothing; one whose reply is lost is stored, and its old revision then conflicts", async () => {
      const inner = await open();
      let next: Fault | undefined;
      const ds = new FaultyDatastore(inner, { schedule: () => next });
      const once = (f: Fault) => {
        next = f;
        return () => {
          next = undefined;
        };
      };
      let clear = once("fail-before");
      expect(await code(ds.create(pool("a", "10.0.0.0/16")))).toBe("DATASTORE_IO");
      clear();
      expect(await code(ds.get({ kind: "IPPool", name: "a" }))).toBe("DATASTORE_NOT_FOUND");
      clear = once("fail-after");
      expect(await code(ds.create(pool("a", "10.0.0.0/16")))).toBe("DATASTORE_IO");
      clear();
      const a = await ds.get({ kind: "IPPool", name: "a" });
      expect((a.spec as { cidr: string }).cidr).toBe("10.0.0.0/16");
      // A create retried blindly after a lost reply finds its own object: the caller must read, not guess.
      expect(await code(ds.create(pool("a", "10.0.0.0/16")))).toBe("DATASTORE_ALREADY_EXISTS");
      clear = once("fail-after");
      const changed = { ...a, metadata: { ...a.metadata, labels: { v: "2" } } };
      expect(await code(ds.update(changed))).toBe("DATASTORE_IO");
      clear();
      const a2 = await ds.get({ kind: "IPPool", name: "a" });
      expect(a2.metadata.labels).toEqual({ v: "2" });
      expect(a2.metadata.resourceVersion).not.toBe(a.metadata.resourceVersion);
      expect(await code(ds.update(changed))).toBe("DATASTORE_CONFLICT");
      clear = once("fail-before");
      expect(
        await code(
          ds.delete({ kind: "IPPool", name: "a" }, { resourceVersion: a2.metadata.resourceVersion! }),
        ),
      ).toBe("DATASTORE_IO");
      clear();
      expect((await ds.get({ kind: "IPPool", name: "a" })).metadata.resourceVersion).toBe(
        a2.metadata.resourceVersion,
      );
      clear = once("fail-after");
      expect(
        await code(
          ds.delete({ kind: "IPPool", name: "a" }, { resourceVersion: a2.metadata.resourceVersion! }),
        ),
      ).toBe("DATASTORE_IO");
      clear();
      expect(await code(ds.get({ kind: "IPPool", name: "a" }))).toBe("DATASTORE_NOT_FOUND");
      if (ds.batch !== undefined) {
        clear = once("fail-after");
        expect(
          await code(
            ds.batch([
              { op: "create", resource: pool("b", "10.1.0.0/16") },
              { op: "create", resource: pool("c", "10.2.0.0/16") },
            ]),
          ),
        ).toBe("DATASTORE_IO");
        clear();
        expect((await ds.list("IPPool")).items.map((r) => r.metadata.name)).toEqual(["b", "c"]);
      }
      await ds.close();
    });

    it("16 writers through failed calls, lost replies and delays lose and double no increment when they settle each lost reply by reading back", async () => {
      const inner = await open();
      await inner.create({
        ...pool("counter", "10.0.0.0/16"),
        metadata: { name: "counter", annotations: { n: "0" } },
      });
      const ds = new FaultyDatastore(inner, {
        seed: 7,
        failBefore: 0.1,
        failAfter: 0.1,
        readFailure: 0.1,
        delay: 0.3,
      });
      const writers = 16;
      const perWriter = 5;
      const writer = async (w: number) => {
        for (let i = 0; i < perWriter; i++) {
          // Each writer's last increment is marked in the object, so a lost reply can be recognised
          // later even when other writers have written since.
          const mine = `w${w}`;
          for (;;) {
            const cur = await readThrough(() => ds.get({ kind: "IPPool", name: "counter" }));
            const notes = cur.metadata.annotations ?? {};
            if (notes[mine] === String(i)) break; // an earlier lost reply had landed after all
            const n = Number(notes.n);
            try {
              await ds.update({
                ...cur,
                metadata: { ...cur.metadata, annotations: { ...notes, n: String(n + 1), [mine]: String(i) } },
              });
              break;
            } catch (e) {
              // A conflict: someone else wrote first. A lost reply: the next read tells.
              if (!isTabbyError(e, "DATASTORE_CONFLICT") && !isTabbyError(e, "DATASTORE_IO")) throw e;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
      const final = await inner.get({ kind: "IPPool", name: "counter" });
      expect(final.metadata.annotations?.n).toBe(String(writers * perWriter));
      expect(ds.injected["fail-after"]).toBeGreaterThan(0);
      expect(ds.injected["fail-before"]).toBeGreaterThan(0);
      await ds.close();
    });

    it("a reflector over watches that drop mid-stream delivers every change once, in order, and ends where a list does", async () => {
      const inner = await open();
      const ds = new FaultyDatastore(inner, { seed: 3, dropWatch: 0.3 });
      const r = reflect(ds, { kind: "IPPool", clock: nextTurn, retryMs: 0 });
      const rit = r[Symbol.asyncIterator]();
      const expected: string[] = [];
      const record = (type: WatchEvent["type"], x: Resource) =>
        expected.push(`${type} ${x.metadata.name} ${x.metadata.resourceVersion}`);
      // Once the first object has come through, the reflector has listed and watches: from then on every
      // change must arrive once and in order, however often the stream drops.
      const first = await inner.create(pool("p0", "10.0.0.0/16"));
      const [e0] = await take(rit, 1);
      expect(`${e0!.type} ${e0!.resource.metadata.name} ${e0!.resource.metadata.resourceVersion}`).toBe(
        `added p0 ${first.metadata.resourceVersion}`,
      );
      for (let i = 1; i < 6; i++) record("added", await inner.create(pool(`p${i}`, `10.${i}.0.0/16`)));
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 6; i += 2) {
          const cur = await inner.get({ kind: "IPPool", name: `p${i}` });
          record(
            "modified",
            await inner.update({ ...cur, metadata: { ...cur.metadata, labels: { round: String(round) } } }),
          );
        }
      }
      for (let i = 1; i < 6; i += 2) {
        const gone = await inner.delete({ kind: "IPPool", name: `p${i}` });
        expect(gone.metadata.name).toBe(`p${i}`);
        // A deletion's revision differs by backend (Kubernetes gives the deletion's own): name it only.
        expected.push(`deleted p${i}`);
      }
      const events = await take(rit, expected.length);
      const label = (e: WatchEvent) =>
        e.type === "deleted"
          ? `deleted ${e.resource.metadata.name}`
          : `${e.type} ${e.resource.metadata.name} ${e.resource.metadata.resourceVersion}`;
      expect(events.map(label)).toEqual(expected);
      expect(ds.injected["drop-watch"]).toBeGreaterThan(0);
      const listed = (await inner.list("IPPool")).items.map((x) => x.metadata.name).sort();
      expect(listed).toEqual(["p0", "p2", "p4"]);
      r.close();
      await ds.close();
    });
  });
}
