/**
 * A block several clients write: after losing a race on it, a client reads the block before each write
 * for a while instead of writing from its cache, so a client that never reads cannot win every round.
 */
import { expect, it } from "vitest";
import type { IpamStore } from "../../../ipam/store.js";
import { pool, world } from "./helpers.js";

/** The store, counting the block reads that go through it. */
function counting(store: IpamStore): { store: IpamStore; blockReads: () => number } {
  let reads = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop !== "get" || typeof v !== "function") return typeof v === "function" ? v.bind(target) : v;
      return (kind: string, name: string) => {
        if (kind === "IPAMBlock") reads++;
        return v.call(target, kind, name);
      };
    },
  });
  return { store: wrapped, blockReads: () => reads };
}

for (const atomic of [true, false]) {
  it(`after a lost race a client reads the block before writing it, until the contention is a second old (${atomic ? "atomic" : "Kubernetes order"})`, async () => {
    const w = world([pool("p", "10.0.0.0/24", { blockSize: 26 })], { n1: {} }, { atomic });
    const counted = counting(w.store);
    const a = w.client({ store: counted.store });
    const b = w.client();
    await a.autoAssign({ handleId: "a1", node: "n1", num4: 1 });
    let before = counted.blockReads();
    await a.autoAssign({ handleId: "a2", node: "n1", num4: 1 });
    expect(counted.blockReads() - before).toBe(0); // uncontended: written from the cache

    await b.autoAssign({ handleId: "b1", node: "n1", num4: 1 }); // a's copy is now stale
    const lost = await a.autoAssign({ handleId: "a3", node: "n1", num4: 1 }); // loses once, then lands
    expect(lost.ipv4).toHaveLength(1);

    before = counted.blockReads();
    await a.autoAssign({ handleId: "a4", node: "n1", num4: 1 });
    expect(counted.blockReads() - before).toBe(1); // contended: read first

    w.clock.advance(1001);
    before = counted.blockReads();
    await a.autoAssign({ handleId: "a5", node: "n1", num4: 1 });
    expect(counted.blockReads() - before).toBe(0); // quiet again: back to the cache

    const all = [...w.store.objects.values()].flatMap((o) =>
      "allocations" in (o.spec as object) ? [(o.spec as { allocations: (number | null)[] }).allocations] : [],
    );
    expect(all.flat().filter((x) => x !== null)).toHaveLength(6);
  });
}
