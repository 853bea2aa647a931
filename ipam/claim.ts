/**
 * Host affinity, Calico's two-phase claim and its undo (libcalico-go/lib/ipam/ipam_block_reader_writer.go
 * getPendingAffinity/claimAffineBlock/confirmAffinity/releaseBlockAffinity, ipam.go getBlockFromAffinity):
 * a node claims a block by creating its BlockAffinity `pending`, then creating the IPAMBlock with
 * `affinity: host:<node>` (the create is the arbiter: whoever creates the block owns it), then marking the
 * affinity `confirmed`. Every step is one CAS, so a claimer that dies between steps leaves state the next
 * claim (or the leak check) completes or undoes: a pending affinity whose block is missing is claimed
 * again, one whose block is ours is confirmed, one whose block belongs to someone else is deleted.
 * Releasing goes the other way: `pendingDeletion`, block deleted (empty) or made unaffine, affinity
 * deleted; with an atomic commit the block and affinity go in one transaction.
 */
import { allocationsOf, blockCidr, freeCount, isEmpty, newBlock } from "./block.js";
import { formatTime } from "./clock.js";
import {
  backoff,
  deleteIfUnchanged,
  type IpamContext,
  isConflict,
  isExists,
  isNotFound,
  isRace,
  readAffinity,
  readBlock,
  redoable,
  writeBlock,
} from "./context.js";
import { IpamError, StoreError } from "./errors.js";
import { type AffinitySpec, type BlockSpec, type HostReservedAttr, hostAffinity } from "./model.js";
import { affinityLabels, affinityName, blockName } from "./names.js";
import type { AddressFilter } from "./reservations.js";
import type { Versioned } from "./store.js";

export type ClaimOutcome =
  | { readonly kind: "ok"; readonly block: Versioned<BlockSpec> }
  /** The block exists and is affine to another node (or none): our pending affinity was removed. */
  | { readonly kind: "taken"; readonly owner: string | undefined }
  /** The affinity does not match its block (errStaleAffinity): it was deleted. */
  | { readonly kind: "stale" };

function affinitySpec(node: string, cidr: string, state: AffinitySpec["state"]): AffinitySpec {
  return { state, node, type: "host", cidr, deleted: false };
}

async function setState(
  ctx: IpamContext,
  aff: Versioned<AffinitySpec>,
  state: AffinitySpec["state"],
): Promise<Versioned<AffinitySpec>> {
  if (aff.spec.state === state) return aff;
  return redoable(ctx, [{ kind: "BlockAffinity", name: aff.name }], () =>
    ctx.store.update(
      "BlockAffinity",
      aff.name,
      { ...aff.spec, state },
      aff.revision,
      aff.labels ?? affinityLabels(aff.spec.node, "host", aff.spec.cidr),
    ),
  );
}

/** Step 1: the affinity exists and is pending (or already confirmed). Throws store races for the caller's retry. */
export async function pendingAffinity(
  ctx: IpamContext,
  node: string,
  cidr: string,
): Promise<Versioned<AffinitySpec>> {
  const name = affinityName(node, cidr);
  try {
    return await redoable(ctx, [{ kind: "BlockAffinity", name }], () =>
      ctx.store.create(
        "BlockAffinity",
        name,
        affinitySpec(node, cidr, "pending"),
        affinityLabels(node, "host", cidr),
      ),
    );
  } catch (e) {
    if (!isExists(e)) throw e;
  }
  const existing = await readAffinity(ctx, name);
  if (existing === undefined) {
    // Deleted between our create and our read (or soft-deleted): let the caller retry.
    throw new StoreError("DATASTORE_CONFLICT", `affinity ${name} was deleted while being claimed`);
  }
  if (existing.spec.state === "confirmed") return existing;
  return setState(ctx, existing, "pending");
}

/** Step 3, tolerating a confirmation someone else made first. */
export async function confirmAffinity(
  ctx: IpamContext,
  aff: Versioned<AffinitySpec>,
): Promise<Versioned<AffinitySpec>> {
  try {
    return await setState(ctx, aff, "confirmed");
  } catch (e) {
    if (!isRace(e)) throw e;
    const now = await readAffinity(ctx, aff.name);
    if (now?.spec.state === "confirmed") return now;
    throw e;
  }
}

/** Step 2 and 3: create the block affine to the node and confirm (claimAffineBlock). */
export async function claimAffineBlock(
  ctx: IpamContext,
  aff: Versioned<AffinitySpec>,
  hostReserved?: HostReservedAttr,
): Promise<ClaimOutcome> {
  const node = aff.spec.node;
  const cidr = aff.spec.cidr;
  const affinity = hostAffinity(node);
  const wall = ctx.clock.wallTime();
  const spec = newBlock(blockCidr({ cidr }), {
    affinity,
    affinityClaimTime: formatTime(wall),
    // Microseconds since the epoch; the sub-millisecond part is random because the clock only has
    // milliseconds, and a block deleted and created again must not repeat its sequence numbers.
    sequenceNumber: Math.floor(wall) * 1000 + Math.floor(Math.random() * 1000),
    ...(hostReserved !== undefined ? { hostReserved } : {}),
  });
  let block: Versioned<BlockSpec>;
  try {
    block = await redoable(ctx, [{ kind: "IPAMBlock", name: blockName(cidr) }], () =>
      ctx.store.create("IPAMBlock", blockName(cidr), spec),
    );
    ctx.blocks.set(block.name, block);
  } catch (e) {
    if (!isExists(e)) throw e;
    const existing = await readBlock(ctx, cidr);
    if (existing === undefined) {
      throw new StoreError("DATASTORE_CONFLICT", `block ${cidr} was deleted while being claimed`);
    }
    if (existing.spec.affinity === affinity) {
      await confirmAffinity(ctx, aff);
      return { kind: "ok", block: existing };
    }
    await deleteQuietly(ctx, aff);
    return { kind: "taken", owner: existing.spec.affinity };
  }
  await confirmAffinity(ctx, aff);
  return { kind: "ok", block };
}

async function deleteQuietly(ctx: IpamContext, aff: Versioned<AffinitySpec>): Promise<void> {
  await deleteIfUnchanged(ctx, "BlockAffinity", aff.name, aff.revision);
}

/**
 * The block behind an affinity of ours, repairing what a crashed claimer left (getBlockFromAffinity):
 * no block -> claim it again; a block of someone else -> delete the stale affinity; an unconfirmed
 * affinity of a block that is ours -> confirm it.
 */
export async function blockFromAffinity(
  ctx: IpamContext,
  aff: Versioned<AffinitySpec>,
  hostReserved?: HostReservedAttr,
): Promise<ClaimOutcome> {
  const block = await readBlock(ctx, aff.spec.cidr);
  if (block === undefined) {
    const pending = await setState(ctx, aff, "pending");
    return claimAffineBlock(ctx, pending, hostReserved);
  }
  if (block.spec.affinity !== hostAffinity(aff.spec.node)) {
    await deleteQuietly(ctx, aff);
    return { kind: "stale" };
  }
  if (aff.spec.state !== "confirmed" && aff.spec.state !== "") {
    const pending = await setState(ctx, aff, "pending");
    // Calico writes the block once more (bumping its sequence number) before confirming, so that a
    // concurrent release that read the block earlier fails its CAS instead of deleting it under us.
    const touched = await writeBlock(ctx, { from: block, to: block.spec });
    await confirmAffinity(ctx, pending);
    if (touched !== undefined) return { kind: "ok", block: touched };
  }
  return { kind: "ok", block };
}

export type ReleaseAffinityOutcome = "released" | "not-empty" | "not-ours" | "absent" | "changed";

/**
 * Gives a node's affinity for a block up (releaseBlockAffinity): refused when `requireEmpty` and the
 * block holds addresses, or when the block changed since `requiredSequenceNumber` was read. An empty
 * block is deleted; a non-empty one stays, unaffine. If the block changes under us after the affinity was
 * marked pendingDeletion and now holds addresses, the affinity goes back to confirmed: Calico leaves it
 * pendingDeletion, which hides a block that is in use.
 */
export async function releaseBlockAffinity(
  ctx: IpamContext,
  node: string,
  cidr: string,
  options: { requireEmpty: boolean; requiredSequenceNumber?: number },
): Promise<ReleaseAffinityOutcome> {
  const name = affinityName(node, cidr);
  for (let i = 0; i < ctx.retries; i++) {
    let aff = await readAffinity(ctx, name);
    const block = await readBlock(ctx, cidr);
    if (aff === undefined) return "absent";
    if (block === undefined) {
      // Dangling affinity (calico#4471): nothing to give back but the affinity itself.
      await deleteQuietly(ctx, aff);
      return "released";
    }
    if (
      options.requiredSequenceNumber !== undefined &&
      block.spec.sequenceNumber !== options.requiredSequenceNumber
    ) {
      return "changed";
    }
    if (block.spec.affinity !== hostAffinity(node)) {
      await deleteQuietly(ctx, aff);
      return "not-ours";
    }
    const empty = isEmpty(block.spec);
    if (options.requireEmpty && !empty) return "not-empty";
    try {
      if (ctx.store.commit !== undefined) {
        const commit = ctx.store.commit.bind(ctx.store);
        const affRevision = aff.revision;
        const keys = [
          { kind: "IPAMBlock", name: block.name },
          { kind: "BlockAffinity", name },
        ] as const;
        await redoable(ctx, keys, () =>
          commit([
            empty
              ? { op: "delete", kind: "IPAMBlock", name: block.name, revision: block.revision }
              : {
                  op: "update",
                  kind: "IPAMBlock",
                  name: block.name,
                  spec: unaffine(block.spec),
                  revision: block.revision,
                },
            { op: "delete", kind: "BlockAffinity", name, revision: affRevision },
          ]),
        );
        ctx.blocks.delete(block.name);
        return "released";
      }
      aff = await setState(ctx, aff, "pendingDeletion");
      try {
        if (empty)
          await redoable(ctx, [{ kind: "IPAMBlock", name: block.name }], () =>
            ctx.store.delete("IPAMBlock", block.name, block.revision),
          );
        else await writeBlock(ctx, { from: block, to: unaffine(block.spec) });
        ctx.blocks.delete(block.name);
      } catch (e) {
        if (!isConflict(e)) throw e;
        const now = await readBlock(ctx, cidr);
        if (now !== undefined && options.requireEmpty && !isEmpty(now.spec)) {
          await confirmAffinity(ctx, aff);
          return "not-empty";
        }
        continue;
      }
      const pendingDeletion = aff;
      await redoable(ctx, [{ kind: "BlockAffinity", name }], () =>
        ctx.store.delete("BlockAffinity", name, pendingDeletion.revision),
      );
      return "released";
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
      await backoff(ctx, i + 1);
    }
  }
  throw new IpamError(
    "IPAM_BLOCK_CONFLICT",
    `Max retries hit releasing the affinity of node ${node} for block ${cidr}`,
    {
      node,
      block: cidr,
    },
  );
}

function unaffine(b: BlockSpec): BlockSpec {
  const { affinity: _a, affinityClaimTime: _t, ...rest } = b;
  return rest;
}

export interface BlockInfo {
  readonly block: Versioned<BlockSpec>;
  readonly free: number;
  readonly empty: boolean;
}

/** Free addresses and emptiness of every block, by CIDR text. */
export function indexBlocks(
  blocks: readonly Versioned<BlockSpec>[],
  reservations: AddressFilter,
): Map<string, BlockInfo> {
  const out = new Map<string, BlockInfo>();
  for (const b of blocks) {
    if (b.spec.deleted) continue;
    out.set(b.spec.cidr, { block: b, free: freeCount(b.spec, reservations), empty: isEmpty(b.spec) });
  }
  return out;
}

/** For messages: a block's allocation count. */
export function describeBlock(b: BlockSpec): string {
  return `${b.cidr} (${allocationsOf(b).length} allocated, affinity ${b.affinity ?? "none"})`;
}
