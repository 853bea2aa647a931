/**
 * tabby and calico-ipam sharing one etcd: tabby's IPAM writes the keys and model values of calico.md §1.13
 * (read back raw, byte for byte where Calico's structs fix the bytes), reads IPAM state written the way
 * Calico writes it (assigning around Calico's allocations, releasing Calico's handles, honouring
 * /calico/ipam/v2/config), watches those keys as v3 objects, and finds an IPv6 affinity by name.
 */
import { beforeAll, beforeEach, expect, it } from "vitest";
import { checkIpam } from "../../../ipam/check.js";
import { EtcdDatastore } from "../../../src/datastore/etcd/etcd-datastore.js";
import type { WatchEvent } from "../../../src/datastore/types.js";
import { readCheckInput } from "../../../src/ipam/cluster-view.js";
import { openIpam } from "../../../src/ipam/open.js";
import { Etcd } from "../../harness/etcd.js";
import { describeWith } from "../../harness/requirements.js";
import { suiteScope } from "../../harness/scope.js";
import { nodeResource, poolResource } from "../../unit/ipam/resources.js";

const BLOCK = "/calico/ipam/v2/assignment/ipv4/block/10.70.0.0-26";

describeWith(["etcd"], "Calico's etcd IPAM layout on a real etcd", () => {
  const scope = suiteScope();
  let ds: EtcdDatastore;

  const raw = async (prefix: string) => {
    const all = await ds.client.getAll().prefix(prefix).strings();
    return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)));
  };

  beforeAll(async () => {
    const etcd = await Etcd.start(scope);
    ds = new EtcdDatastore({ endpoints: [etcd.endpoint] });
    scope.defer("close etcd client", () => ds.close());
  });

  beforeEach(async () => {
    await ds.client.delete().prefix("/calico/").exec();
    await ds.create(poolResource("p", "10.70.0.0/24"));
    for (const n of ["n1", "calico-1"]) await ds.create(nodeResource(n));
  });

  it("writes IPAM state under Calico's keys as Calico's model values", async () => {
    const ipam = openIpam(ds);
    const got = await ipam.autoAssign({
      handleId: "k8s-pod-network.c1",
      node: "n1",
      num4: 2,
      attrs: { node: "n1", pod: "web", namespace: "default" },
    });
    expect(got.ipv4.map((a) => a.address)).toEqual(["10.70.0.0", "10.70.0.1"]);
    const keys = await raw("/calico/ipam/v2/");
    expect(Object.keys(keys)).toEqual([
      BLOCK,
      "/calico/ipam/v2/handle/k8s-pod-network.c1",
      "/calico/ipam/v2/host/n1/ipv4/block/10.70.0.0-26",
    ]);
    expect(keys["/calico/ipam/v2/host/n1/ipv4/block/10.70.0.0-26"]).toBe(
      '{"state":"confirmed","deleted":false}',
    );
    expect(keys["/calico/ipam/v2/handle/k8s-pod-network.c1"]).toBe(
      '{"block":{"10.70.0.0/26":2},"deleted":false}',
    );
    const block = JSON.parse(keys[BLOCK]!) as Record<string, unknown>;
    expect(Object.keys(block).slice(0, 3)).toEqual(["cidr", "affinity", "affinityClaimTime"]);
    expect(block).toMatchObject({
      cidr: "10.70.0.0/26",
      affinity: "host:n1",
      deleted: false,
      attributes: [
        { handle_id: "k8s-pod-network.c1", secondary: { node: "n1", pod: "web", namespace: "default" } },
      ],
    });
    expect((block.allocations as unknown[]).slice(0, 3)).toEqual([0, 0, null]);
    expect(block).not.toHaveProperty("metadata");
    expect(block).not.toHaveProperty("strictAffinity");
    expect(await raw("/calico/resources/v3/projectcalico.org/ipam")).toEqual({});
    // And tabby reads its own writes back through the same keys.
    expect((await ipam.addressInfo("10.70.0.1"))?.handle).toBe("k8s-pod-network.c1");
    expect(await ipam.releaseByHandle("k8s-pod-network.c1")).toEqual(["10.70.0.0", "10.70.0.1"]);
    expect(Object.keys(await raw("/calico/ipam/v2/handle/"))).toEqual([]);
  });

  it("reads what calico-ipam wrote: assigns around it, releases its handle, honours its config", async () => {
    const allocations: (number | null)[] = Array.from({ length: 64 }, () => null);
    allocations[0] = 0;
    allocations[1] = 0;
    const put = (k: string, v: unknown) => ds.client.put(k).value(JSON.stringify(v)).exec();
    // Byte shapes as libcalico-go's AllocationBlock, BlockAffinity, IPAMHandle and IPAMConfig marshal.
    await put(BLOCK, {
      cidr: "10.70.0.0/26",
      affinity: "host:calico-1",
      allocations,
      unallocated: Array.from({ length: 62 }, (_, i) => i + 2),
      attributes: [
        {
          handle_id: "k8s-pod-network.calico-pod",
          secondary: { namespace: "default", node: "calico-1", pod: "old", timestamp: "2026-11-01 10:00:00" },
        },
      ],
      sequenceNumber: "SEQ",
      sequenceNumberForAllocation: { "0": 10, "1": 11 },
      deleted: false,
    });
    // Calico seeds sequence numbers with nanoseconds: more digits than a JSON number holds exactly.
    const text = (await raw(BLOCK))[BLOCK]!.replace('"SEQ"', "1763800000123456789");
    await ds.client.put(BLOCK).value(text).exec();
    const seqOf = async () => BigInt(/"sequenceNumber":(\d+)/.exec((await raw(BLOCK))[BLOCK]!)![1]!);
    await put("/calico/ipam/v2/host/calico-1/ipv4/block/10.70.0.0-26", {
      state: "confirmed",
      deleted: false,
    });
    await put("/calico/ipam/v2/handle/k8s-pod-network.calico-pod", {
      block: { "10.70.0.0/26": 2 },
      deleted: false,
    });
    await put("/calico/ipam/v2/config", { strict_affinity: true, auto_allocate_blocks: true });

    const ipam = openIpam(ds);
    expect(await ipam.config()).toMatchObject({ strictAffinity: true, autoAllocateBlocks: true });
    const info = await ipam.addressInfo("10.70.0.1");
    expect(info?.handle).toBe("k8s-pod-network.calico-pod");
    expect(info?.blockAffinity).toBe("host:calico-1");
    // The next pod on Calico's node gets the next free ordinal of Calico's block, not a new block.
    const next = await ipam.autoAssign({ handleId: "k8s-pod-network.tabby-pod", node: "calico-1", num4: 1 });
    expect(next.ipv4.map((a) => a.address)).toEqual(["10.70.0.2"]);
    const afterAssign = await seqOf();
    expect(afterAssign > 1763800000123456789n).toBe(true);
    expect(Object.keys(await raw("/calico/ipam/v2/assignment/"))).toEqual([BLOCK]);
    // strict_affinity: another node may not borrow from Calico's block; it claims its own.
    const other = await ipam.autoAssign({ handleId: "k8s-pod-network.n1-pod", node: "n1", num4: 1 });
    expect(other.ipv4[0]!.address).toBe("10.70.0.64");

    const report = checkIpam(await readCheckInput(ds, { nowMs: Date.now(), graceMs: 0 }));
    expect(report.missingHandles).toEqual([]);
    expect(report.handleCounts).toEqual([]);
    expect(report.affinityFindings).toEqual([]);

    expect(await ipam.releaseByHandle("k8s-pod-network.calico-pod")).toEqual(["10.70.0.0", "10.70.0.1"]);
    const block = JSON.parse((await raw(BLOCK))[BLOCK]!) as { unallocated: number[]; allocations: unknown[] };
    expect(block.allocations.slice(0, 3)).toEqual([null, null, 0]);
    // Released ordinals go to the tail of the free list, as Calico releases them.
    expect(block.unallocated.slice(-2)).toEqual([0, 1]);
    // Every write moves the number on, so a release with a stale sequence number is still refused.
    expect((await seqOf()) > afterAssign).toBe(true);
    expect(await raw("/calico/ipam/v2/handle/k8s-pod-network.calico-pod")).toEqual({});
  });

  it("watches the model keys as v3 objects, and finds an IPv6 affinity by its name", async () => {
    const start = (await ds.list("IPAMBlock")).revision;
    const w = ds.watch({ kind: "IPAMBlock", fromRevision: start });
    const events: WatchEvent[] = [];
    const it = w[Symbol.asyncIterator]();
    await ds.client
      .put(BLOCK)
      .value(JSON.stringify({ cidr: "10.70.0.0/26", affinity: null }))
      .exec();
    await ds.client.put("/calico/ipam/v2/handle/not-a-block").value("{}").exec();
    await ds.client.delete().key(BLOCK).exec();
    for (let i = 0; i < 2; i++) events.push((await it.next()).value as WatchEvent);
    w.close();
    expect(events.map((e) => [e.type, e.resource.kind, e.resource.metadata.name])).toEqual([
      ["added", "IPAMBlock", "10-70-0-0-26"],
      ["deleted", "IPAMBlock", "10-70-0-0-26"],
    ]);

    await ds.client.put("/calico/ipam/v2/host/n-1/ipv6/block/fd00::-122").value('{"state":"pending"}').exec();
    const aff = await ds.get({ kind: "BlockAffinity", name: "n-1-fd00---122" });
    expect(aff.spec).toMatchObject({ node: "n-1", cidr: "fd00::/122", state: "pending" });
    await ds.delete(
      { kind: "BlockAffinity", name: "n-1-fd00---122" },
      { resourceVersion: aff.metadata.resourceVersion! },
    );
    expect(await raw("/calico/ipam/v2/host/")).toEqual({});
  });
});
