/**
 * The IPAM race (race.ts) on the embedded store: 16 allocators, each with its own IPAM client, over one
 * in-memory EmbeddedDatastore (its writes are serialised, so CAS conflicts come from interleaved
 * read-modify-write cycles, as with a remote store).
 */
import { describe, it } from "vitest";
import { EmbeddedDatastore } from "../../src/datastore/embedded.js";
import { openIpam } from "../../src/ipam/open.js";
import {
  ALLOCATORS_PER_NODE,
  listAll,
  NODES,
  PER_ALLOCATOR,
  releaseAll,
  releaseSeed,
  runAllocator,
  seedRace,
  verifyAssigned,
  verifyEmpty,
} from "./race.js";

describe("ipam race on the embedded store", () => {
  it("16 allocators on 4 nodes take 10,000 addresses, none twice, then give every one back", async () => {
    const ds = await EmbeddedDatastore.open({ historyLimit: 100 });
    await seedRace(ds);
    const allocators = NODES.flatMap((node) =>
      Array.from({ length: ALLOCATORS_PER_NODE }, (_, i) => ({
        node,
        name: `${node}-${i}`,
        ipam: openIpam(ds, { inputsMaxAgeMs: 1000 }),
      })),
    );
    const reports = await Promise.all(
      allocators.map((a) => runAllocator(a.ipam, a.node, a.name, PER_ALLOCATOR)),
    );
    await verifyAssigned(listAll(ds), reports);
    await Promise.all(allocators.map((a, i) => releaseAll(a.ipam, reports[i]!.taken)));
    await releaseSeed(ds);
    await verifyEmpty(listAll(ds));
  }, 600_000);
});
