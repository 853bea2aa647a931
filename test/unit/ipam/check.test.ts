import { describe, expect, it } from "vitest";
import { assignFromBlock, newBlock } from "../../../ipam/block.js";
import { type CheckInput, checkIpam, type WorkloadInfo } from "../../../ipam/check.js";
import { parseCidr } from "../../../ipam/ip.js";
import { affinityName, blockName } from "../../../ipam/names.js";
import { resolvePools } from "../../../ipam/pools.js";
import { repairIpam } from "../../../ipam/repair.js";
import { noReservations } from "../../../ipam/reservations.js";
import { contents, pool, type World, world } from "./helpers.js";

const GRACE = 15 * 60_000;

/** A check's view of the world: the store, the pools, the nodes of `inputs`, and these workloads. */
function snapshot(w: World, workloads: WorkloadInfo[] = [], tunnels: Record<string, string[]> = {}) {
  return async (): Promise<CheckInput> => ({
    blocks: await w.store.list("IPAMBlock"),
    affinities: await w.store.list("BlockAffinity"),
    handles: await w.store.list("IPAMHandle"),
    pools: resolvePools(await w.inputs.pools()),
    nodes: new Map([...w.inputs.nodes.keys()].map((n) => [n, tunnels[n] ?? []])),
    workloads,
    nowMs: w.clock.wallTime(),
    graceMs: GRACE,
  });
}

const pools = () => [pool("p", "10.0.0.0/24", { blockSize: 28 })];
const wep = (pod: string, address: string, node = "n1"): WorkloadInfo => ({
  namespace: "ns",
  name: `${node}-k8s-${pod}-eth0`,
  pod,
  node,
  addresses: [`${address}/32`],
});

async function podOn(w: World, pod: string, node = "n1") {
  const [a] = (
    await w.ipam.autoAssign({
      handleId: `k8s-pod-network.${pod}`,
      node,
      num4: 1,
      attrs: { pod, namespace: "ns", node, timestamp: "2026-01-01 00:00:00 +0000 UTC" },
    })
  ).ipv4;
  return a!;
}

describe("ipam check", () => {
  it("finds nothing wrong when every allocation belongs to a workload", async () => {
    const w = world(pools());
    const a = await podOn(w, "a");
    const b = await podOn(w, "b", "n2");
    const r = checkIpam(await snapshot(w, [wep("a", a.address), wep("b", b.address, "n2")])());
    expect(r.problems).toBe(0);
    expect(r.allocations).toHaveLength(2);
    expect(r.workloadIps).toBe(2);
    expect(r.handlesWithIps).toBe(2);
    expect(r.allocationsByNode).toEqual([
      ["n1", 1],
      ["n2", 1],
    ]);
  });

  it("counts calicoctl's categories: not in use, in use but unallocated, outside the pools", async () => {
    const w = world(pools());
    await podOn(w, "a");
    const r = checkIpam(
      await snapshot(w, [wep("ghost", "10.0.0.200"), wep("outside", "192.168.1.1")], {
        n1: ["10.0.0.201"],
      })(),
    );
    expect(r.notInUse.map((l) => l.allocation.address)).toHaveLength(1);
    expect(r.notAllocated.map((x) => x.ip)).toEqual(["10.0.0.200", "10.0.0.201"]);
    expect(r.nonCalico).toEqual([{ ip: "192.168.1.1", owners: ["Workload(ns/n1-k8s-outside-eth0)"] }]);
    expect(r.nodeIps).toBe(1);
  });

  it("a pod's address is a leak only after the grace period; then --fix releases it", async () => {
    const w = world(pools());
    await podOn(w, "gone");
    const keep = await podOn(w, "kept");
    const snap = snapshot(w, [wep("kept", keep.address)]);
    // The allocation says 2026-01-01 00:00; the fake clock starts there.
    let r = checkIpam(await snap());
    expect(r.notInUse).toHaveLength(1);
    expect(r.notInUse[0]!.confirmed).toBe(false);
    expect(r.notInUse[0]!.reason).toMatch(
      /pod ns\/gone no longer exists, but allocated 0m ago, within the grace period of 15m/,
    );
    expect((await repairIpam(w.ipam, snap)).actions).toEqual([]);
    w.clock.advance(GRACE);
    r = checkIpam(await snap());
    expect(r.notInUse[0]!.confirmed).toBe(true);
    const out = await repairIpam(w.ipam, snap);
    expect(out.actions.map((a) => a.done)).toEqual([true]);
    expect(out.after.problems).toBe(0);
    expect(contents(w.store).IPAMHandle).toEqual(["k8s-pod-network.kept"]);
  });

  it("a deleted node's addresses, affinities and blocks go at once", async () => {
    const w = world(pools(), { n1: {}, n2: {} });
    await podOn(w, "a", "n2");
    await podOn(w, "b", "n2");
    const a = await podOn(w, "c", "n1");
    w.inputs.nodes.delete("n2");
    const snap = snapshot(w, [wep("c", a.address)]);
    const r = checkIpam(await snap());
    expect(r.notInUse.map((l) => [l.reason, l.confirmed])).toEqual([
      ["node n2 no longer exists", true],
      ["node n2 no longer exists", true],
    ]);
    expect(r.affinityFindings.map((f) => f.problem)).toEqual(["node-gone"]);
    const out = await repairIpam(w.ipam, snap);
    expect(out.after.problems).toBe(0);
    expect(contents(w.store).BlockAffinity).toEqual([affinityName("n1", a.block)]);
    expect(contents(w.store).IPAMBlock).toEqual([blockName(a.block)]);
  });

  it("a claim killed before its confirmation: the check completes it (after the grace period)", async () => {
    const w = world(pools());
    const cidr = "10.0.0.32/28";
    w.store.put("BlockAffinity", affinityName("n1", cidr), {
      state: "pending",
      node: "n1",
      type: "host",
      cidr,
      deleted: false,
    });
    const empty = newBlock(parseCidr(cidr)!, {
      affinity: "host:n1",
      affinityClaimTime: "2026-01-01T00:00:00Z",
      sequenceNumber: 1,
    });
    // A second allocator of the node used the block meanwhile (it treats the block's affinity as its own).
    const used = assignFromBlock(
      empty,
      1,
      "k8s-pod-network.a",
      { pod: "a", namespace: "ns", node: "n1" },
      noReservations,
    );
    w.store.put("IPAMBlock", blockName(cidr), used.block);
    w.store.put("IPAMHandle", "k8s-pod-network.a", {
      handleID: "k8s-pod-network.a",
      block: { [cidr]: 1 },
      deleted: false,
    });
    const snap = snapshot(w, [wep("a", "10.0.0.32")]);
    expect(checkIpam(await snap()).affinityFindings.map((f) => [f.problem, f.confirmed])).toEqual([
      ["unconfirmed", false],
    ]);
    w.clock.advance(GRACE);
    const out = await repairIpam(w.ipam, snap);
    expect(out.actions.map((a) => [a.what, a.done])).toEqual([
      ["complete the claim of 10.0.0.32/28 by node n1", true],
    ]);
    expect(out.after.problems).toBe(0);
    expect((await w.store.get("BlockAffinity", affinityName("n1", cidr)))!.spec.state).toBe("confirmed");
  });

  it("a claim killed before any address was taken: the check confirms, then gives the empty block back", async () => {
    const w = world(pools());
    const cidr = "10.0.0.32/28";
    w.store.put("BlockAffinity", affinityName("n1", cidr), {
      state: "pending",
      node: "n1",
      type: "host",
      cidr,
      deleted: false,
    });
    w.store.put(
      "IPAMBlock",
      blockName(cidr),
      newBlock(parseCidr(cidr)!, {
        affinity: "host:n1",
        affinityClaimTime: "2026-01-01T00:00:00Z",
        sequenceNumber: 1,
      }),
    );
    w.clock.advance(GRACE);
    const out = await repairIpam(w.ipam, snapshot(w));
    expect(out.actions.map((a) => a.what)).toEqual([
      "complete the claim of 10.0.0.32/28 by node n1",
      "release empty block 10.0.0.32/28 of node n1",
    ]);
    expect(out.after.problems).toBe(0);
    expect(contents(w.store)).toEqual({ IPAMBlock: [], BlockAffinity: [], IPAMHandle: [] });
  });

  it("a claim killed before its block was created: the affinity is deleted after the grace period", async () => {
    const w = world(pools());
    const cidr = "10.0.0.32/28";
    w.store.put("BlockAffinity", affinityName("n1", cidr), {
      state: "pending",
      node: "n1",
      type: "host",
      cidr,
      deleted: false,
    });
    w.clock.advance(GRACE);
    const out = await repairIpam(w.ipam, snapshot(w));
    expect(out.before.affinityFindings.map((f) => f.problem)).toEqual(["no-block"]);
    expect(out.after.problems).toBe(0);
    expect(contents(w.store).BlockAffinity).toEqual([]);
  });

  it("repairs handles: counts, missing handles, handles without addresses", async () => {
    const w = world(pools());
    const a = await podOn(w, "a");
    const b = await podOn(w, "b");
    const ha = (await w.store.get("IPAMHandle", "k8s-pod-network.a"))!;
    w.store.put("IPAMHandle", ha.name, { ...ha.spec, block: { [a.block]: 5 } });
    w.store.objects.delete("IPAMHandle/k8s-pod-network.b");
    w.store.put("IPAMHandle", "stray", { handleID: "stray", block: { [a.block]: 1 }, deleted: false });
    w.clock.advance(GRACE);
    const snap = snapshot(w, [wep("a", a.address), wep("b", b.address)]);
    const r = checkIpam(await snap());
    expect(r.handleCounts.map((f) => f.handle.name)).toEqual(["k8s-pod-network.a"]);
    expect(r.missingHandles).toEqual(["k8s-pod-network.b"]);
    expect(r.handlesWithoutIps.map((h) => h.handle.name)).toEqual(["stray"]);
    const out = await repairIpam(w.ipam, snap);
    expect(out.after.problems).toBe(0);
    expect((await w.store.get("IPAMHandle", "k8s-pod-network.b"))!.spec.block).toEqual({ [b.block]: 1 });
    expect(await w.ipam.releaseByHandle("k8s-pod-network.b")).toEqual([b.address]);
  });

  it("repairs affinities: a block that lost its affinity gets it back; another node's affinity goes", async () => {
    const w = world(pools());
    const a = await podOn(w, "a");
    w.store.objects.delete(`BlockAffinity/${affinityName("n1", a.block)}`);
    w.store.put("BlockAffinity", affinityName("n2", a.block), {
      state: "confirmed",
      node: "n2",
      type: "host",
      cidr: a.block,
      deleted: false,
    });
    w.clock.advance(GRACE);
    const snap = snapshot(w, [wep("a", a.address)]);
    const r = checkIpam(await snap());
    expect(r.affinityFindings.map((f) => f.problem)).toEqual(["not-ours"]);
    expect(r.blockFindings.map((f) => f.problem)).toEqual(["no-affinity"]);
    const out = await repairIpam(w.ipam, snap);
    expect(out.after.problems).toBe(0);
    expect(contents(w.store).BlockAffinity).toEqual([affinityName("n1", a.block)]);
  });

  it("reports malformed blocks and blocks outside every pool", async () => {
    const w = world(pools());
    const a = await podOn(w, "a");
    const b = (await w.store.get("IPAMBlock", blockName(a.block)))!;
    w.store.put("IPAMBlock", b.name, { ...b.spec, unallocated: [...b.spec.unallocated, 0] });
    w.store.put(
      "IPAMBlock",
      blockName("10.9.0.0/28"),
      newBlock(parseCidr("10.9.0.0/28")!, { sequenceNumber: 1 }),
    );
    const r = checkIpam(await snapshot(w, [wep("a", a.address)])());
    expect(r.invalidBlocks).toEqual([
      { cidr: a.block, problem: "ordinal 0 is allocated but appears in Unallocated" },
    ]);
    expect(r.blockFindings.map((f) => [f.problem, f.block.spec.cidr])).toEqual([["orphaned", "10.9.0.0/28"]]);
  });

  it("a repair that races a live allocator changes nothing it did not see (CAS)", async () => {
    const w = world(pools());
    await podOn(w, "gone");
    w.clock.advance(GRACE);
    const snap = snapshot(w);
    const stale = await snap();
    // Between the snapshot and the repair, the leaked address is released and handed to a new pod.
    await w.ipam.releaseByHandle("k8s-pod-network.gone");
    w.clock.advance(1);
    const fresh = await podOn(w, "new");
    let first = true;
    const out = await repairIpam(w.ipam, async () => {
      if (first) {
        first = false;
        return stale;
      }
      return snap();
    });
    expect(out.actions).toHaveLength(1);
    expect(out.actions[0]!.done).toBe(false);
    expect(out.actions[0]!.why).toMatch(/sequence number/);
    expect(await w.ipam.ipsByHandle("k8s-pod-network.new")).toEqual([fresh.address]);
  });
});
