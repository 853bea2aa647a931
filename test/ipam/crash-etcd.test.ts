/**
 * An allocator process killed (SIGKILL) in the middle of claiming a block on a real etcd leaves state
 * that the next assignment or the leak check repairs: killed after the block was created but before
 * its affinity was confirmed, the next assignment on the node confirms and uses the block; killed after
 * the pending affinity but before the block, the leak check deletes the affinity (or the next
 * assignment claims the block after all). Also on etcd: an exhausted pool fails with an error naming the
 * pool and the node and leaves nothing half-written.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, expect, it } from "vitest";
import { checkIpam } from "../../ipam/check.js";
import type { AffinitySpec, BlockSpec } from "../../ipam/model.js";
import { repairIpam } from "../../ipam/repair.js";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { readCheckInput } from "../../src/ipam/cluster-view.js";
import { openIpam } from "../../src/ipam/open.js";
import { Etcd } from "../harness/etcd.js";
import { isAlive, killAndWait } from "../harness/exec.js";
import { uniqueName } from "../harness/naming.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { nodeResource, poolResource } from "../unit/ipam/resources.js";

const WORKER = fileURLToPath(new URL("./crash-worker.ts", import.meta.url));

describeWith(["etcd"], "ipam: an allocator killed mid-claim on etcd", () => {
  const scope = suiteScope();
  let endpoint = "";
  let ds: EtcdDatastore;

  beforeAll(async () => {
    endpoint = (await Etcd.start(scope)).endpoint;
    ds = new EtcdDatastore({ endpoints: [endpoint] });
    scope.defer("close etcd client", () => ds.close());
  });

  beforeEach(async () => {
    await ds.client.delete().prefix("/calico/").exec();
    await ds.create(poolResource("p", "10.65.0.0/24", { blockSize: 28 }));
    await ds.create(nodeResource("n1"));
  });

  /** Runs the worker until it says it stopped at `step`, then kills it with SIGKILL. */
  async function killAt(step: "block" | "confirm"): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, endpoint, step, uniqueName()], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = child.pid!;
    const cleanup = scope.defer(
      `kill crash worker ${pid}`,
      () => killAndWait(pid, child),
      () => {
        if (isAlive(pid)) process.kill(pid, "SIGKILL");
      },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    for await (const line of createInterface({ input: child.stdout! })) {
      expect(line).toBe("stopped");
      break;
    }
    process.kill(pid, "SIGKILL");
    await exited;
    await scope.runNow(cleanup);
  }

  async function state() {
    const affs = (await ds.list("BlockAffinity")).items.map((r) => r.spec as AffinitySpec);
    const blocks = (await ds.list("IPAMBlock")).items.map((r) => r.spec as BlockSpec);
    return { affs, blocks };
  }

  it("killed before confirming: the next assignment confirms the claim and uses the block", async () => {
    await killAt("confirm");
    const before = await state();
    expect(before.affs.map((a) => [a.node, a.state])).toEqual([["n1", "pending"]]);
    expect(before.blocks.map((b) => [b.cidr, b.affinity])).toEqual([[before.affs[0]!.cidr, "host:n1"]]);
    const r = await openIpam(ds).autoAssign({ handleId: "k8s-pod-network.next", node: "n1", num4: 1 });
    expect(r.ipv4[0]!.block).toBe(before.affs[0]!.cidr);
    const after = await state();
    expect(after.affs.map((a) => [a.cidr, a.state])).toEqual([[before.affs[0]!.cidr, "confirmed"]]);
    expect(after.blocks).toHaveLength(1);
  });

  it("killed before confirming: the leak check finds the unconfirmed claim and --fix completes it", async () => {
    await killAt("confirm");
    const snapshot = () => readCheckInput(ds, { nowMs: Date.now(), graceMs: 0 });
    expect(checkIpam(await snapshot()).affinityFindings.map((f) => f.problem)).toEqual(["unconfirmed"]);
    const out = await repairIpam(openIpam(ds), snapshot);
    expect(out.after.problems).toBe(0);
    // Confirmed, then (empty and so of no use to the node) given back.
    expect(await state()).toEqual({ affs: [], blocks: [] });
  });

  it("killed before creating the block: the leak check deletes the dangling pending affinity", async () => {
    await killAt("block");
    const before = await state();
    expect(before.affs.map((a) => a.state)).toEqual(["pending"]);
    expect(before.blocks).toEqual([]);
    const snapshot = () => readCheckInput(ds, { nowMs: Date.now(), graceMs: 0 });
    const out = await repairIpam(openIpam(ds), snapshot);
    expect(out.before.affinityFindings.map((f) => f.problem)).toEqual(["no-block"]);
    expect(out.after.problems).toBe(0);
    expect(await state()).toEqual({ affs: [], blocks: [] });
  });

  it("killed before creating the block: the next assignment claims that block after all", async () => {
    await killAt("block");
    const pending = (await state()).affs[0]!;
    const r = await openIpam(ds).autoAssign({ handleId: "k8s-pod-network.next", node: "n1", num4: 1 });
    expect(r.ipv4[0]!.block).toBe(pending.cidr);
    expect((await state()).affs.map((a) => a.state)).toEqual(["confirmed"]);
  });

  it("an exhausted pool: the error names the pool and the node; nothing is half-written", async () => {
    await ds.delete({ kind: "IPPool", name: "p" });
    await ds.create(poolResource("small", "10.66.0.0/28", { blockSize: 28 })); // one block of 16
    const ipam = openIpam(ds);
    await ipam.autoAssign({ handleId: "k8s-pod-network.a", node: "n1", num4: 14 });
    await ds.create(nodeResource("n2"));
    // Everything stored, minus what a write-and-undo moves on: the block's sequence number.
    const dump = async () =>
      (await ds.client.getAll().prefix("/calico/resources/v3/projectcalico.org/").exec()).kvs.map((kv) => {
        const r = JSON.parse(kv.value.toString()) as { spec: { sequenceNumber?: number } };
        delete r.spec.sequenceNumber;
        return [kv.key.toString(), r];
      });
    const before = await dump();
    const e = await openIpam(ds)
      .autoAssign({ handleId: "k8s-pod-network.b", node: "n2", num4: 3 })
      .then(
        () => undefined,
        (x: unknown) => x as Error & { code: string; context: unknown },
      );
    expect(e?.code).toBe("IPAM_POOL_EXHAUSTED");
    expect(e?.message).toMatch(/^no free IPv4 address for node n2 in pool small \(10\.66\.0\.0\/28\)/);
    expect(e?.message).toContain("assigned 2 out of 3 requested IPv4 addresses");
    expect(e?.context).toEqual({ pool: "small", node: "n2" });
    // The two borrowed addresses went back: the same objects, with the same allocations.
    expect(await dump()).toEqual(before);
  });
});
