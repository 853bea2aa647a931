/**
 * IPAM under injected datastore faults: long-lived clients (as the node agent and the CNI fallback are)
 * assign and release concurrently through a store that fails calls before applying them, applies them
 * and loses the reply, delays them and fails reads, with and without transactions (the etcd/embedded
 * path and the Kubernetes path). After each run, with faults off: no address twice, no allocation
 * without its handle, no handle without its allocations, every caller's answer is what the store holds,
 * and after everything is released `ipam check` finds nothing and nothing is left.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocationsOf } from "../../../ipam/block.js";
import { checkIpam } from "../../../ipam/check.js";
import { Ipam } from "../../../ipam/client.js";
import type { BlockSpec, HandleSpec } from "../../../ipam/model.js";
import { repairIpam } from "../../../ipam/repair.js";
import { ensureTunnelAddress, releaseTunnelAddress, tunnelHandle } from "../../../ipam/tunnel.js";
import { EmbeddedDatastore } from "../../../src/datastore/embedded.js";
import type { Datastore } from "../../../src/datastore/types.js";
import { readCheckInput } from "../../../src/ipam/cluster-view.js";
import { DatastoreIpamStore } from "../../../src/ipam/datastore-store.js";
import { DatastoreIpamInputs } from "../../../src/ipam/inputs.js";
import { selectorMatcher } from "../../../src/ipam/open.js";
import { FakeClock } from "../../harness/clock.js";
import {
  type Fault,
  type FaultOptions,
  FaultyDatastore,
  mulberry32,
} from "../../harness/faulty-datastore.js";
import { nodeResource, poolResource } from "./resources.js";

const NODES = ["n1", "n2", "n3"];
const totals = { runs: 0, operations: 0, faults: 0, failBefore: 0, failAfter: 0, delays: 0, invariants: 0 };

async function seeded(): Promise<Datastore> {
  const ds = await EmbeddedDatastore.open({ clock: new FakeClock() });
  await ds.create(poolResource("v4", "10.50.0.0/22", { blockSize: 28 }));
  await ds.create(poolResource("v6", "fd50::/118", { blockSize: 124 }));
  await ds.create(
    poolResource("tunnels", "10.51.0.0/24", { blockSize: 28, ipipMode: "Always", allowedUses: ["Tunnel"] }),
  );
  for (const n of NODES) await ds.create(nodeResource(n));
  return ds;
}

function client(ds: Datastore, clock: FakeClock): Ipam {
  return new Ipam({
    store: new DatastoreIpamStore(ds),
    inputs: new DatastoreIpamInputs(ds, { clock }),
    match: selectorMatcher(),
    clock,
    backoffMs: 0,
  });
}

/** What the store says each handle holds, from the blocks. */
async function heldByHandle(ds: Datastore): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const r of (await ds.list("IPAMBlock")).items) {
    for (const a of allocationsOf(r.spec as BlockSpec)) {
      const h = a.handle ?? "";
      let set = out.get(h);
      if (set === undefined) {
        set = new Set();
        out.set(h, set);
      }
      if (set.has(a.address)) throw new Error(`${a.address} allocated twice to ${h}`);
      set.add(a.address);
    }
  }
  return out;
}

/** The invariants that must hold whenever the store is at rest. */
async function checkAtRest(ds: Datastore, model: ReadonlyMap<string, ReadonlySet<string>>): Promise<void> {
  const held = await heldByHandle(ds);
  const owner = new Map<string, string>();
  for (const [h, set] of held) {
    for (const a of set) {
      expect(owner.get(a), `${a} held by ${owner.get(a)} and ${h}`).toBeUndefined();
      owner.set(a, h);
    }
  }
  const handles = new Map(
    (await ds.list("IPAMHandle")).items.map((r) => [(r.spec as HandleSpec).handleID, r.spec as HandleSpec]),
  );
  // No allocation without its handle, no handle without its allocations, counts as the blocks say.
  for (const [h, set] of held) {
    const spec = handles.get(h);
    expect(spec, `allocations of ${h} have no IPAMHandle`).toBeDefined();
    const counted = Object.values(spec!.block).reduce((a, b) => a + b, 0);
    expect(counted, `IPAMHandle ${h} counts`).toBe(set.size);
  }
  for (const h of handles.keys()) expect(held.has(h), `IPAMHandle ${h} holds nothing`).toBe(true);
  // Every caller's answer is what the store holds.
  const expected = new Map([...model].filter(([, s]) => s.size > 0).map(([h, s]) => [h, [...s].sort()]));
  const actual = new Map([...held].map(([h, s]) => [h, [...s].sort()]));
  expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  totals.invariants += 5;
}

interface RunOptions {
  readonly seed: number;
  readonly faults: FaultOptions;
  readonly clients: number;
  readonly opsPerClient: number;
}

async function run(o: RunOptions): Promise<FaultyDatastore> {
  const inner = await seeded();
  const ds = new FaultyDatastore(inner, { seed: o.seed, ...o.faults });
  const clock = new FakeClock();
  const model = new Map<string, Set<string>>();
  const seqs = new Map<string, number>();
  const failures: string[] = [];
  const worker = async (w: number) => {
    const ipam = client(ds, clock);
    const node = NODES[w % NODES.length]!;
    const rand = mulberry32(o.seed * 1000 + w);
    const mine: string[] = [];
    // One tunnel reconciler per node, as calico-node runs one: its address twice is still the same one.
    if (w < NODES.length) {
      try {
        const tunnel = await ensureTunnelAddress(ipam, node, "ipipTunnelAddress");
        expect(await ensureTunnelAddress(ipam, node, "ipipTunnelAddress")).toBe(tunnel);
        model.set(tunnelHandle("ipipTunnelAddress", node), new Set([tunnel]));
      } catch (e) {
        failures.push(`tunnel of ${node}: ${(e as Error).message}`);
      }
    }
    for (let i = 0; i < o.opsPerClient; i++) {
      totals.operations++;
      const r = rand();
      const handle = `k8s-pod-network.c${w}-${i}`;
      try {
        if (r < 0.45 || mine.length === 0) {
          const got = await ipam.autoAssign({
            handleId: handle,
            node,
            num4: rand() < 0.2 ? 2 : 1,
            num6: rand() < 0.3 ? 1 : 0,
            attrs: { node, pod: `p${w}-${i}`, namespace: "faults" },
          });
          const addrs = [...got.ipv4, ...got.ipv6];
          model.set(handle, new Set(addrs.map((a) => a.address)));
          for (const a of addrs) seqs.set(a.address, a.sequenceNumber);
          mine.push(handle);
        } else if (r < 0.55) {
          const address = `10.50.${Math.floor(rand() * 4)}.${Math.floor(rand() * 256)}`;
          try {
            const got = await ipam.assignIP({ address, handleId: handle, node });
            model.set(handle, new Set([got.address]));
            seqs.set(got.address, got.sequenceNumber);
            mine.push(handle);
          } catch (e) {
            if ((e as { code?: string }).code !== "IPAM_ADDRESS_IN_USE") throw e;
          }
        } else if (r < 0.6) {
          const h = mine[Math.floor(rand() * mine.length)]!;
          expect((await ipam.ipsByHandle(h)).sort(), `ipsByHandle ${h}`).toEqual([...model.get(h)!].sort());
        } else if (r < 0.8) {
          const h = mine.splice(Math.floor(rand() * mine.length), 1)[0]!;
          const gone = await ipam.releaseByHandle(h);
          expect(gone.sort(), `releaseByHandle ${h}`).toEqual([...model.get(h)!].sort());
          model.delete(h);
        } else {
          const h = mine.splice(Math.floor(rand() * mine.length), 1)[0]!;
          const addrs = [...model.get(h)!];
          const out = await ipam.releaseIPs(
            addrs.map((address) => ({ address, handle: h, sequenceNumber: seqs.get(address)! })),
          );
          expect(out.released.sort(), `releaseIPs ${h}`).toEqual(addrs.sort());
          model.delete(h);
        }
      } catch (e) {
        failures.push(`${handle}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, w) => worker(w)));
  // Nodes give up their blocks that are empty, while the others' allocations stay.
  const gaveUp = client(ds, clock);
  for (const node of NODES) {
    try {
      await gaveUp.releaseHostAffinities(node, { mustBeEmpty: true });
    } catch (e) {
      failures.push(`releaseHostAffinities ${node}: ${(e as Error).message}`);
    }
  }
  expect(failures).toEqual([]);
  ds.pause();
  await checkAtRest(inner, model);
  ds.resume();
  // Everything is released, through the faults, by a fresh client as well as the old ones' handles.
  const cleaner = client(ds, clock);
  for (const h of model.keys()) await cleaner.releaseByHandle(h);
  for (const node of NODES)
    expect(await releaseTunnelAddress(cleaner, node, "ipipTunnelAddress")).toBe(false);
  ds.pause();
  await checkAtRest(inner, new Map());
  const report = checkIpam(await readCheckInput(inner, { nowMs: Date.UTC(2026, 0, 1), graceMs: 0 }));
  expect(report.problems, JSON.stringify(report.affinityFindings)).toBe(0);
  for (const kind of ["IPAMBlock", "BlockAffinity", "IPAMHandle"])
    expect(
      (await inner.list(kind)).items.map((x) => x.metadata.name),
      kind,
    ).toEqual([]);
  totals.invariants += 2;
  totals.runs++;
  totals.faults += ds.injected["fail-before"] + ds.injected["fail-after"];
  totals.failBefore += ds.injected["fail-before"];
  totals.failAfter += ds.injected["fail-after"];
  totals.delays += ds.injected.delay;
  return ds;
}

const random: FaultOptions = { failBefore: 0.08, failAfter: 0.08, readFailure: 0.05, delay: 0.3 };

describe("IPAM under injected datastore faults", () => {
  afterAll(() => {
    console.info(
      `ipam faults: ${totals.runs} runs, ${totals.operations} operations, ${totals.faults} failed calls injected (${totals.failBefore} before applying, ${totals.failAfter} after applying), ${totals.delays} delayed, ${totals.invariants} invariant checks`,
    );
  });

  for (const transactions of [true, false]) {
    const path = transactions ? "with transactions (etcd, embedded)" : "without transactions (Kubernetes)";
    for (const seed of [1, 2, 3, 4, 5]) {
      it(`4 clients, 40 operations each, random faults, seed ${seed}, ${path}`, async () => {
        const ds = await run({
          seed,
          faults: { ...random, withoutBatch: !transactions },
          clients: 4,
          opsPerClient: 40,
        });
        expect(ds.injected["fail-after"]).toBeGreaterThan(0);
        expect(ds.injected["fail-before"]).toBeGreaterThan(0);
      });
    }
  }

  it("a block write whose reply is lost is read back: the caller gets the address that landed, and a later release by the same client frees it", async () => {
    for (const withoutBatch of [false, true]) {
      const inner = await seeded();
      let armed = false;
      const schedule = ({ method, target }: { method: string; target: string }): Fault | undefined => {
        const blockWrite = (method === "batch" || method === "update") && target.includes("IPAMBlock");
        if (armed && blockWrite) {
          armed = false;
          return "fail-after";
        }
        return undefined;
      };
      const ds = new FaultyDatastore(inner, { schedule, withoutBatch });
      const clock = new FakeClock();
      const ipam = client(ds, clock);
      // First fill the block's cache with one pod, so the next write goes out from the cached copy.
      await ipam.autoAssign({ handleId: "first", node: "n1", num4: 1 });
      armed = true;
      const got = await ipam.autoAssign({ handleId: "lost-reply", node: "n1", num4: 1 });
      expect(ds.injected["fail-after"]).toBe(1);
      const held = await heldByHandle(inner);
      expect([...(held.get("lost-reply") ?? [])]).toEqual([got.ipv4[0]!.address]);
      // Before: the release read its stale cached block, saw nothing and deleted the handle, leaving the
      // allocation for ever. Now it frees the address and the handle goes with it.
      expect(await ipam.releaseByHandle("lost-reply")).toEqual([got.ipv4[0]!.address]);
      expect(await ipam.releaseByHandle("first")).toHaveLength(1);
      await checkAtRest(inner, new Map());
    }
  });

  it("a write that fails before it is applied is retried, and the caller's answer is the one retry's", async () => {
    for (const withoutBatch of [false, true]) {
      const inner = await seeded();
      // The first two writes of every object fail before reaching the datastore.
      const attempts = new Map<string, number>();
      const ds = new FaultyDatastore(inner, {
        withoutBatch,
        schedule: ({ method, target }) => {
          if (method === "get" || method === "list") return undefined;
          const n = attempts.get(target) ?? 0;
          attempts.set(target, n + 1);
          return n < 2 ? "fail-before" : undefined;
        },
      });
      const ipam = client(ds, new FakeClock());
      const got = await ipam.autoAssign({ handleId: "h", node: "n2", num4: 3 });
      expect(got.ipv4).toHaveLength(3);
      await checkAtRest(inner, new Map([["h", new Set(got.ipv4.map((a) => a.address))]]));
    }
  });

  it("when the datastore stays away, the call fails with DATASTORE_IO naming the operation, and a release by handle afterwards leaves nothing", async () => {
    const inner = await seeded();
    // The first block write's reply is lost and every call after it fails: the outcome stays unknown.
    let down = false;
    let up = false;
    const ds = new FaultyDatastore(inner, {
      schedule: ({ method, target }) => {
        if (up) return undefined;
        if (down) return "fail-before";
        if (method === "batch" && target.includes("IPAMBlock")) {
          down = true;
          return "fail-after";
        }
        return undefined;
      },
    });
    const ipam = client(ds, new FakeClock());
    const e = await ipam.autoAssign({ handleId: "outage", node: "n3", num4: 1 }).catch((x: unknown) => x);
    expect((e as { code?: string }).code).toBe("DATASTORE_IO");
    expect((e as Error).message).toMatch(/^IPAM autoAssign for handle outage on node n3: .*outcome unknown/);
    up = true;
    // The runtime's DEL after the failed ADD: the address that did land goes, and its handle.
    expect(await ipam.releaseByHandle("outage")).toHaveLength(1);
    await checkAtRest(inner, new Map());
  });

  it("ipam check --fix through injected faults converges, run again as an operator would, and keeps what is in use", async () => {
    const inner = await seeded();
    await inner.create(nodeResource("gone"));
    const setup = client(inner, new FakeClock());
    const kept = await setup.autoAssign({ handleId: "k8s-pod-network.kept", node: "n1", num4: 1 });
    const keptAddress = kept.ipv4[0]!.address;
    await inner.create({
      apiVersion: "projectcalico.org/v3",
      kind: "WorkloadEndpoint",
      metadata: { name: "n1-k8s-kept-eth0", namespace: "default" },
      spec: {
        orchestrator: "k8s",
        node: "n1",
        pod: "kept",
        endpoint: "eth0",
        ipNetworks: [`${keptAddress}/32`],
      },
    });
    for (let i = 0; i < 6; i++)
      await setup.autoAssign({ handleId: `k8s-pod-network.leak-${i}`, node: "n2", num4: 1 });
    await setup.autoAssign({ handleId: "k8s-pod-network.orphan", node: "gone", num4: 1 });
    await inner.delete({ kind: "Node", name: "gone" });
    // A handle whose counts are wrong and one that is missing.
    const h = await inner.get({ kind: "IPAMHandle", name: "k8s-pod-network.leak-0" });
    await inner.update({ ...h, spec: { ...(h.spec as HandleSpec), block: { "10.50.0.16/28": 5 } } });
    await inner.delete({ kind: "IPAMHandle", name: "k8s-pod-network.leak-1" });
    const ds = new FaultyDatastore(inner, { seed: 11, failBefore: 0.1, failAfter: 0.1, readFailure: 0.1 });
    const ipam = client(ds, new FakeClock());
    const snapshot = async () => {
      ds.pause();
      try {
        return await readCheckInput(inner, { nowMs: Date.UTC(2026, 0, 1), graceMs: 0 });
      } finally {
        ds.resume();
      }
    };
    const before = checkIpam(await snapshot());
    expect(before.problems).toBeGreaterThan(8);
    let runs = 0;
    let after = before;
    while (after.problems > 0 && runs < 10) {
      after = (await repairIpam(ipam, snapshot)).after;
      runs++;
    }
    expect(after.problems, JSON.stringify(after.affinityFindings)).toBe(0);
    expect(ds.injected["fail-after"] + ds.injected["fail-before"]).toBeGreaterThan(0);
    ds.pause();
    expect(await heldByHandle(inner)).toEqual(new Map([["k8s-pod-network.kept", new Set([keptAddress])]]));
  });
});
