/**
 * ipam over src/datastore through src/ipam's adapter, on the embedded store: what IPAM writes are valid
 * projectcalico.org/v3 resources (src/api accepts them back), batches make block and handle one write,
 * and the inputs cache obeys its clock.
 */
import { describe, expect, it } from "vitest";
import { decodeResource } from "../../../src/api/resource.js";
import { EmbeddedDatastore } from "../../../src/datastore/embedded.js";
import type { Datastore } from "../../../src/datastore/types.js";
import { DatastoreIpamStore } from "../../../src/ipam/datastore-store.js";
import { DatastoreIpamInputs } from "../../../src/ipam/inputs.js";
import { openIpam } from "../../../src/ipam/open.js";
import { FakeClock } from "../../harness/clock.js";
import { errorCode } from "./helpers.js";
import { nodeResource, poolResource } from "./resources.js";

async function seeded(): Promise<Datastore> {
  const ds = await EmbeddedDatastore.open({ clock: new FakeClock() });
  await ds.create(poolResource("default-ipv4-ippool", "10.244.0.0/24", { blockSize: 28 }));
  await ds.create(poolResource("default-ipv6-ippool", "fd00:10:244::/120", { blockSize: 124 }));
  await ds.create(nodeResource("n1", { zone: "a" }));
  return ds;
}

describe("ipam over src/datastore (embedded store)", () => {
  it("writes IPAMBlock, BlockAffinity and IPAMHandle that src/api accepts as valid resources", async () => {
    const ds = await seeded();
    const ipam = openIpam(ds);
    const r = await ipam.autoAssign({ handleId: "k8s-pod-network.abc", node: "n1", num4: 2, num6: 1 });
    expect(r.ipv4[0]!.cidr).toMatch(/^10\.244\.0\.\d+\/28$/);
    expect(r.ipv6[0]!.cidr).toMatch(/^fd00:10:244::[0-9a-f]*\/124$/);
    for (const kind of ["IPAMBlock", "BlockAffinity", "IPAMHandle"]) {
      const items = (await ds.list(kind)).items;
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) {
        const { uid: _u, resourceVersion: _r, creationTimestamp: _c, ...metadata } = item.metadata;
        const decoded = decodeResource({ ...item, metadata });
        expect(decoded.ok ? [] : decoded.issues, `${kind}/${item.metadata.name}`).toEqual([]);
      }
    }
    const aff = (await ds.list("BlockAffinity")).items[0]!;
    expect(aff.metadata.labels?.["projectcalico.org/hostname-hash"]).toMatch(/^[A-Z2-7]{52}$/);
    await ipam.releaseByHandle("k8s-pod-network.abc");
    for (const kind of ["IPAMBlock", "BlockAffinity", "IPAMHandle"])
      expect((await ds.list(kind)).items).toEqual([]);
  });

  it("offers commit where the backend has batches, and passes the backend's typed errors through", async () => {
    const ds = await seeded();
    const store = new DatastoreIpamStore(ds);
    expect(store.commit).toBeDefined();
    const created = await store.create("IPAMHandle", "h", {
      handleID: "h",
      block: { "10.244.0.0/28": 1 },
      deleted: false,
    });
    expect(await errorCode(store.create("IPAMHandle", "h", created.spec))).toBe("DATASTORE_ALREADY_EXISTS");
    const updated = await store.update("IPAMHandle", "h", { ...created.spec, block: {} }, created.revision);
    expect(await errorCode(store.update("IPAMHandle", "h", created.spec, created.revision))).toBe(
      "DATASTORE_CONFLICT",
    );
    expect(await errorCode(store.delete("IPAMHandle", "h", created.revision))).toBe("DATASTORE_CONFLICT");
    await store.delete("IPAMHandle", "h", updated.revision);
    expect(await store.get("IPAMHandle", "h")).toBeUndefined();
    const noBatch = new DatastoreIpamStore({ ...ds, batch: undefined } as unknown as Datastore);
    expect(noBatch.commit).toBeUndefined();
  });

  it("reads pools, IPAMConfiguration, reservations and node labels, cached for maxAgeMs", async () => {
    const ds = await seeded();
    const clock = new FakeClock();
    const inputs = new DatastoreIpamInputs(ds, { maxAgeMs: 1000, clock });
    expect(await inputs.config()).toBeUndefined();
    expect((await inputs.node("n1"))?.labels).toEqual({ zone: "a" });
    expect(await inputs.node("ghost")).toBeUndefined();
    await ds.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPReservation",
      metadata: { name: "r" },
      spec: { reservedCIDRs: ["10.244.0.0/30"] },
    });
    expect(await inputs.reservedCidrs()).toEqual(["10.244.0.0/30"]);
    await ds.create({
      apiVersion: "projectcalico.org/v3",
      kind: "IPAMConfiguration",
      metadata: { name: "default" },
      spec: { strictAffinity: true, autoAllocateBlocks: true },
    });
    expect(await inputs.config()).toBeUndefined(); // cached
    clock.advance(1000);
    expect(await inputs.config()).toMatchObject({ strictAffinity: true });
  });

  it("reports a node that does not exist", async () => {
    const ds = await seeded();
    expect(await errorCode(openIpam(ds).autoAssign({ handleId: "h", node: "ghost", num4: 1 }))).toBe(
      "IPAM_NODE_NOT_FOUND",
    );
  });
});
