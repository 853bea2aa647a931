/**
 * Repairs what check.ts finds, in three passes with a fresh snapshot before each (every step is a CAS
 * on what was read, so a repair racing a live allocator fails safe and is reported as skipped):
 * 1. release leaked allocations (past the grace period, or of a node that is gone) with their handle and
 *    sequence number, so an address reallocated since the snapshot is not touched (ABA);
 * 2. delete handles without addresses, recreate handles that allocations name but that are missing, set
 *    handle counts to what the blocks hold;
 * 3. affinities and blocks: finish or undo half-done claims (confirm, or delete an affinity without its
 *    block or whose block is another node's), give up the blocks of deleted nodes, recreate the affinity
 *    of a block that has lost it, release blocks left empty.
 * Only findings marked `confirmed` are acted on. Calico leaves most of this to kube-controllers' GC and
 * `calicoctl ipam release --from-report`; tabby does it in one command (`tabbyctl ipam check --fix`).
 */

import { nextSequenceNumber } from "./block.js";
import { type CheckInput, type CheckReport, checkIpam } from "./check.js";
import { releaseBlockAffinity } from "./claim.js";
import type { Ipam } from "./client.js";
import { isBranded } from "./errors.js";
import { affinityHost, type BlockSpec } from "./model.js";
import { affinityLabels, affinityName, handleName } from "./names.js";

export interface RepairAction {
  readonly what: string;
  readonly done: boolean;
  /** Why it was skipped (the object changed since the snapshot, ...). */
  readonly why?: string;
}

export interface RepairOutcome {
  readonly before: CheckReport;
  readonly actions: readonly RepairAction[];
  readonly after: CheckReport;
}

/**
 * Runs one repair and records it. A step that reports an outcome other than "released"/"ok" (the block
 * is in use again, the claim went to another node) did not do what it said and counts as skipped.
 */
async function attempt(actions: RepairAction[], what: string, act: () => Promise<unknown>): Promise<void> {
  try {
    const r = await act();
    if (typeof r === "string" && r !== "released" && r !== "ok") actions.push({ what, done: false, why: r });
    else actions.push({ what, done: true });
  } catch (e) {
    if (!isBranded(e)) throw e;
    actions.push({ what, done: false, why: e.message });
  }
}

export async function repairIpam(ipam: Ipam, snapshot: () => Promise<CheckInput>): Promise<RepairOutcome> {
  const { store } = ipam.ctx;
  const actions: RepairAction[] = [];
  const before = checkIpam(await snapshot());

  // 1. Leaked allocations, one release per block.
  const byBlock = new Map<string, typeof before.notInUse>();
  for (const l of before.notInUse) {
    if (!l.confirmed) continue;
    byBlock.set(l.allocation.block, [...(byBlock.get(l.allocation.block) ?? []), l]);
  }
  for (const [block, leaks] of byBlock) {
    await attempt(
      actions,
      `release ${leaks.map((l) => l.allocation.address).join(", ")} (block ${block}): ${leaks[0]!.reason}`,
      () =>
        ipam.releaseIPs(
          leaks.map((l) => ({
            address: l.allocation.address,
            sequenceNumber: l.allocation.sequenceNumber,
            ...(l.allocation.handle !== undefined ? { handle: l.allocation.handle } : {}),
          })),
        ),
    );
  }

  // 2. Handles.
  const mid = checkIpam(await snapshot());
  for (const { handle, confirmed } of mid.handlesWithoutIps) {
    if (!confirmed) continue;
    await attempt(actions, `delete handle ${handle.spec.handleID} (no addresses)`, () =>
      store.delete("IPAMHandle", handle.name, handle.revision),
    );
  }
  for (const { handle, actual } of mid.handleCounts) {
    await attempt(actions, `set the counts of handle ${handle.spec.handleID} to what its blocks hold`, () =>
      store.update(
        "IPAMHandle",
        handle.name,
        { handleID: handle.spec.handleID, block: { ...actual }, deleted: false },
        handle.revision,
      ),
    );
  }
  for (const id of mid.missingHandles) {
    const counts: Record<string, number> = {};
    for (const a of mid.allocations) if (a.handle === id) counts[a.block] = (counts[a.block] ?? 0) + 1;
    await attempt(actions, `recreate missing handle ${id}`, () =>
      store.create("IPAMHandle", handleName(id), { handleID: id, block: counts, deleted: false }),
    );
  }

  // 3. Affinities and blocks.
  const late = checkIpam(await snapshot());
  for (const f of late.affinityFindings) {
    if (!f.confirmed) continue;
    const { node, cidr } = f.affinity.spec;
    switch (f.problem) {
      case "node-gone":
        await attempt(actions, `give up block ${cidr} of deleted node ${node}`, () =>
          releaseBlockAffinity(ipam.ctx, node, cidr, { requireEmpty: false }),
        );
        break;
      case "no-block":
      case "not-ours":
        await attempt(actions, `delete affinity ${f.affinity.name}: ${f.detail}`, () =>
          store.delete("BlockAffinity", f.affinity.name, f.affinity.revision),
        );
        break;
      case "unconfirmed":
        await attempt(actions, `complete the claim of ${cidr} by node ${node}`, () =>
          ipam.repairAffinity(node, cidr),
        );
        break;
    }
  }
  const nodes = (await snapshot()).nodes;
  for (const f of late.blockFindings) {
    if (!f.confirmed) continue;
    const host = affinityHost(f.block.spec.affinity)!;
    if (f.problem === "no-affinity") {
      if (nodes.has(host)) {
        await attempt(actions, `recreate the affinity of node ${host} for block ${f.block.spec.cidr}`, () =>
          store.create(
            "BlockAffinity",
            affinityName(host, f.block.spec.cidr),
            { state: "confirmed", node: host, type: "host", cidr: f.block.spec.cidr, deleted: false },
            affinityLabels(host, "host", f.block.spec.cidr),
          ),
        );
      } else {
        await attempt(actions, `make block ${f.block.spec.cidr} of deleted node ${host} unaffine`, () =>
          unaffine(ipam, f.block.name, f.block.spec, f.block.revision),
        );
      }
    } else if (f.problem === "empty-affine") {
      await attempt(actions, `release empty block ${f.block.spec.cidr} of node ${host}`, () =>
        releaseBlockAffinity(ipam.ctx, host, f.block.spec.cidr, { requireEmpty: true }),
      );
    }
  }
  return { before, actions, after: checkIpam(await snapshot()) };
}

async function unaffine(ipam: Ipam, name: string, spec: BlockSpec, revision: string): Promise<void> {
  const { affinity: _a, affinityClaimTime: _t, ...rest } = spec;
  if (spec.allocations.every((a) => a === null)) await ipam.ctx.store.delete("IPAMBlock", name, revision);
  else
    await ipam.ctx.store.update(
      "IPAMBlock",
      name,
      { ...rest, sequenceNumber: nextSequenceNumber(spec.sequenceNumber) },
      revision,
    );
}
