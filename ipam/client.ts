/**
 * The IPAM client: Calico's ipam.Interface (libcalico-go/lib/ipam/interface.go) over the CAS store of
 * store.ts. AutoAssign (assign.ts) for IPv4 and/or IPv6, AssignIP of a given address (claiming its block
 * for the node when nobody has), ReleaseIPs / ReleaseByHandle (release.ts), IPsByHandle, the attributes of
 * one address, and affinity release. Unlike Calico's AutoAssign, which returns what it could get and
 * leaves the caller to undo it, a request here is all or nothing: when a family comes up short (or any
 * step fails) everything this call assigned is released again with its sequence numbers, and the error
 * names the pools and the node. One client may serve concurrent requests; its caches only save reads.
 */

import { type AssignEnv, type AssignedAddress, assignFamily } from "./assign.js";
import {
  addressOf,
  allocationsOf,
  assignOrdinal,
  blockCidr,
  ordinalOfAddress,
  type ReleaseRequest,
} from "./block.js";
import { blockFromAffinity, claimAffineBlock, pendingAffinity, releaseBlockAffinity } from "./claim.js";
import { type Clock, systemClock } from "./clock.js";
import {
  backoff,
  type IpamContext,
  isRace,
  patientInputs,
  patientStore,
  readBlock,
  refreshBlock,
  writeBlock,
} from "./context.js";
import { IpamError, isUnknownOutcome, StoreError } from "./errors.js";
import { type Family, formatAddr, formatCidr, parseAddr } from "./ip.js";
import {
  type AllocationAttribute,
  type AllowedUse,
  type HostReservedAttr,
  hostAffinity,
  type IpamConfig,
  resolveIpamConfig,
  sanitizeHandle,
} from "./model.js";
import { affinityName } from "./names.js";
import {
  blockOf,
  maxPrefixLenFor,
  poolOf,
  type ResolvedPool,
  resolvePools,
  type SelectorMatcher,
  selectPools,
} from "./pools.js";
import { addressesOfHandle, type ReleaseOutcome, releaseAddresses, releaseHandle } from "./release.js";
import { reservationFilter } from "./reservations.js";
import type { IpamInputs, IpamStore } from "./store.js";

export interface IpamOptions {
  readonly store: IpamStore;
  readonly inputs: IpamInputs;
  /** Evaluates IPPool node and namespace selectors (src/api/selector in tabby). */
  readonly match: SelectorMatcher;
  readonly clock?: Clock;
  /** Attempts per compare-and-swap loop; default 100 (Calico's datastoreRetries). */
  readonly retries?: number;
  /** Base of the randomised backoff after a lost CAS, ms; default 2 (0 retries at once). */
  readonly backoffMs?: number;
  /** How long after losing a race on a block this client reads it before each write; default 1000 ms. */
  readonly contendedMs?: number;
  /**
   * How long a node that had to borrow keeps borrowing from the same block before it looks for a block
   * of its own again, ms; default 1000 (0: look every time, as Calico does).
   */
  readonly borrowHintMs?: number;
  /**
   * How long to keep reading back a write whose outcome was lost (the connection dropped) before the
   * operation fails with DATASTORE_IO; default 10 s.
   */
  readonly outcomeWaitMs?: number;
  /** Default 60 s (EmptyBlockMinReclaimAge). */
  readonly emptyBlockMinReclaimAgeMs?: number;
}

export interface AutoAssignRequest {
  /** `k8s-pod-network.<containerID>` for pods, `ipip-tunnel-addr-<node>` for tunnels (tunnel.ts). */
  readonly handleId: string;
  readonly node: string;
  readonly num4?: number;
  readonly num6?: number;
  /** Owner attributes: pod, namespace, node, timestamp, type. */
  readonly attrs?: Readonly<Record<string, string>>;
  /** Pools asked for by annotation or CNI config (names or CIDRs); they bypass selectors and assignmentMode. */
  readonly pools4?: readonly string[];
  readonly pools6?: readonly string[];
  /** Default Workload. */
  readonly use?: AllowedUse;
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  readonly maxBlocksPerHost?: number;
  readonly hostReserved4?: HostReservedAttr;
  readonly hostReserved6?: HostReservedAttr;
}

export interface AutoAssignResult {
  readonly ipv4: AssignedAddress[];
  readonly ipv6: AssignedAddress[];
}

export interface AssignIpRequest {
  readonly address: string;
  readonly handleId: string;
  readonly node: string;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly use?: AllowedUse;
  readonly hostReserved?: HostReservedAttr;
}

export interface AddressInfo {
  readonly address: string;
  readonly block: string;
  readonly handle: string | undefined;
  readonly attrs: Readonly<Record<string, string>>;
  readonly alternateAttrs: Readonly<Record<string, string>>;
  readonly sequenceNumber: number;
  readonly blockAffinity: string | undefined;
}

/**
 * Runs an operation; a datastore failure is rethrown as DATASTORE_IO prefixed with the operation, so the
 * caller's log says what did not happen ("IPAM releaseByHandle of k8s-pod-network.abc: etcd: ...").
 */
async function named<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!isUnknownOutcome(e)) throw e;
    throw new StoreError("DATASTORE_IO", `IPAM ${operation}: ${(e as Error).message}`, undefined, {
      cause: e,
    });
  }
}

export class Ipam {
  readonly ctx: IpamContext;

  constructor(options: IpamOptions) {
    const clock = options.clock ?? systemClock;
    const backoffMs = options.backoffMs ?? 2;
    const outcomeWaitMs = options.outcomeWaitMs ?? 10_000;
    this.ctx = {
      store: patientStore(options.store, clock, backoffMs, outcomeWaitMs),
      inputs: patientInputs(options.inputs, clock, backoffMs, outcomeWaitMs),
      match: options.match,
      clock,
      retries: options.retries ?? 100,
      backoffMs,
      emptyBlockMinReclaimAgeMs: options.emptyBlockMinReclaimAgeMs ?? 60_000,
      blocks: new Map(),
      hints: new Map(),
      borrowHints: new Map(),
      borrowHintMs: options.borrowHintMs ?? 1000,
      handles: new Map(),
      contended: new Map(),
      contendedMs: options.contendedMs ?? 1000,
      outcomeWaitMs,
    };
  }

  async config(): Promise<IpamConfig> {
    return resolveIpamConfig(await this.ctx.inputs.config());
  }

  autoAssign(req: AutoAssignRequest): Promise<AutoAssignResult> {
    return named(`autoAssign for handle ${req.handleId} on node ${req.node}`, () => this.assignAuto(req));
  }

  private async assignAuto(req: AutoAssignRequest): Promise<AutoAssignResult> {
    const use = req.use ?? "Workload";
    if (use === "LoadBalancer") {
      throw new IpamError(
        "IPAM_INVALID_REQUEST",
        "LoadBalancer addresses (virtual affinity) are not supported by tabby's IPAM",
      );
    }
    if (req.handleId === "") throw new IpamError("IPAM_INVALID_REQUEST", "a handle ID is required");
    const [config, reserved, pools, node] = await Promise.all([
      this.config(),
      this.ctx.inputs.reservedCidrs(),
      this.ctx.inputs.pools(),
      this.ctx.inputs.node(req.node),
    ]);
    if (node === undefined) {
      throw new IpamError("IPAM_NODE_NOT_FOUND", `resource does not exist: Node(${req.node})`, {
        node: req.node,
      });
    }
    const base = {
      config,
      reservations: reservationFilter(reserved),
      allPools: resolvePools(pools),
      nodeLabels: node.labels,
    };
    const done: AssignedAddress[] = [];
    const result: AutoAssignResult = { ipv4: [], ipv6: [] };
    try {
      for (const [family, num, requested, hostReserved] of [
        [4, req.num4 ?? 0, req.pools4, req.hostReserved4],
        [6, req.num6 ?? 0, req.pools6, req.hostReserved6],
      ] as const) {
        if (num <= 0) continue;
        const env: AssignEnv = {
          ...base,
          pools: selectPools(
            base.allPools,
            {
              family,
              use,
              node: req.node,
              nodeLabels: node.labels,
              ...(req.namespaceLabels !== undefined ? { namespaceLabels: req.namespaceLabels } : {}),
              ...(requested !== undefined ? { requested } : {}),
              maxPrefixLen: maxPrefixLenFor(
                family,
                (hostReserved?.startOfBlock ?? 0) + (hostReserved?.endOfBlock ?? 0),
              ),
            },
            this.ctx.match,
          ),
        };
        const out = await assignFamily(this.ctx, env, {
          family,
          num,
          handleId: sanitizeHandle(req.handleId),
          attrs: req.attrs ?? {},
          node: req.node,
          use,
          ...(req.maxBlocksPerHost !== undefined ? { maxBlocksPerHost: req.maxBlocksPerHost } : {}),
          ...(hostReserved !== undefined ? { hostReserved } : {}),
        });
        done.push(...out.assigned);
        (family === 4 ? result.ipv4 : result.ipv6).push(...out.assigned);
        if (out.assigned.length < num)
          throw exhausted(family, num, out.assigned.length, env.pools, req.node, out.reasons);
      }
      return result;
    } catch (e) {
      await this.undo(req.handleId, done, e);
      throw e;
    }
  }

  /** Releases what a failed request assigned; a failure here is attached to the original error. */
  private async undo(handleId: string, done: readonly AssignedAddress[], cause: unknown): Promise<void> {
    if (done.length === 0) return;
    try {
      await releaseAddresses(
        this.ctx,
        done.map((a) => ({
          address: a.address,
          handle: sanitizeHandle(handleId),
          sequenceNumber: a.sequenceNumber,
        })),
      );
    } catch (e) {
      if (cause instanceof Error) (cause as Error & { undoError?: unknown }).undoError = e;
    }
  }

  /** AssignIP: one given address for a handle; idempotent for the handle that already holds it. */
  assignIP(req: AssignIpRequest): Promise<{ address: string; block: string; sequenceNumber: number }> {
    return named(`assignIP of ${req.address} for handle ${req.handleId} on node ${req.node}`, () =>
      this.assignGiven(req),
    );
  }

  private async assignGiven(
    req: AssignIpRequest,
  ): Promise<{ address: string; block: string; sequenceNumber: number }> {
    const a = parseAddr(req.address);
    if (a === undefined) {
      throw new IpamError("IPAM_INVALID_REQUEST", `invalid IP address ${JSON.stringify(req.address)}`, {
        address: req.address,
      });
    }
    const address = formatAddr(a);
    const handleId = sanitizeHandle(req.handleId);
    const pools = resolvePools(await this.ctx.inputs.pools()).filter((p) => !p.disabled);
    const pool = poolOf(pools, a);
    if (pool === undefined) {
      throw new IpamError(
        "IPAM_NOT_IN_POOL",
        `The provided IP address ${address} is not in a configured pool`,
        { address, node: req.node },
      );
    }
    if (req.use !== undefined && !pool.allowedUses.includes(req.use)) {
      throw new IpamError(
        "IPAM_INVALID_REQUEST",
        `IP address ${address} is in IP pool "${pool.name}", which is not allowed for use "${req.use}" (allowedUses: [${pool.allowedUses.join(" ")}])`,
        { address, pool: pool.name },
      );
    }
    const config = await this.config();
    const cidr = formatCidr(blockOf(pool, a));
    let vb = await readBlock(this.ctx, cidr);
    for (let i = 0; i < this.ctx.retries; i++) {
      try {
        if (vb === undefined) {
          const claimed = await claimAffineBlock(
            this.ctx,
            await pendingAffinity(this.ctx, req.node, cidr),
            req.hostReserved,
          );
          if (claimed.kind !== "ok") {
            vb = await readBlock(this.ctx, cidr);
            continue;
          }
          vb = claimed.block;
        }
        if (
          config.strictAffinity &&
          vb.spec.affinity !== undefined &&
          vb.spec.affinity !== hostAffinity(req.node)
        ) {
          throw new IpamError(
            "IPAM_INVALID_REQUEST",
            `Block host affinity does not match: ${cidr} is ${vb.spec.affinity}, strictAffinity forbids ${req.node} to use it`,
            {
              address,
              block: cidr,
              node: req.node,
            },
          );
        }
        const ord = ordinalOfAddress(vb.spec, a)!;
        const r = assignOrdinal(vb.spec, ord, handleId, req.attrs ?? {});
        if (r.already)
          return {
            address,
            block: cidr,
            sequenceNumber: vb.spec.sequenceNumberForAllocation?.[String(ord)] ?? 0,
          };
        await writeBlock(this.ctx, { from: vb, to: r.block, handle: { id: handleId, delta: 1 } });
        return { address, block: cidr, sequenceNumber: vb.spec.sequenceNumber };
      } catch (e) {
        if (!isRace(e)) throw e;
        await backoff(this.ctx, i + 1);
        vb = await refreshBlock(this.ctx, cidr, e);
      }
    }
    throw new IpamError(
      "IPAM_BLOCK_CONFLICT",
      `Max retries hit - excessive concurrent IPAM requests: block ${cidr} kept changing while assigning ${address}`,
      {
        address,
        block: cidr,
        node: req.node,
      },
    );
  }

  releaseIPs(requests: readonly ReleaseRequest[]): Promise<ReleaseOutcome> {
    return named(`releaseIPs of ${requests.map((r) => r.address).join(", ")}`, () =>
      releaseAddresses(this.ctx, requests),
    );
  }

  releaseByHandle(handleId: string): Promise<string[]> {
    return named(`releaseByHandle of ${handleId}`, () => releaseHandle(this.ctx, handleId));
  }

  ipsByHandle(handleId: string): Promise<string[]> {
    return named(`ipsByHandle of ${handleId}`, () => addressesOfHandle(this.ctx, handleId));
  }

  /** Who holds an address (GetAssignmentAttributes); undefined when it is not allocated. */
  async addressInfo(address: string): Promise<AddressInfo | undefined> {
    const a = parseAddr(address);
    if (a === undefined) {
      throw new IpamError("IPAM_INVALID_REQUEST", `invalid IP address ${JSON.stringify(address)}`, {
        address,
      });
    }
    const pools = resolvePools(await this.ctx.inputs.pools());
    const pool = poolOf(pools, a);
    let block = pool === undefined ? undefined : await readBlock(this.ctx, formatCidr(blockOf(pool, a)));
    if (block === undefined) {
      // The pool is gone or the block is of another size: look through the blocks.
      const all = await this.ctx.store.list("IPAMBlock");
      block = all.find((b) => !b.spec.deleted && ordinalOfAddress(b.spec, a) !== undefined);
    }
    if (block === undefined) return undefined;
    const ord = ordinalOfAddress(block.spec, a)!;
    const alloc = allocationsOf(block.spec).find((x) => x.ordinal === ord);
    if (alloc === undefined) return undefined;
    const attr: AllocationAttribute = alloc.attribute ?? {};
    return {
      address: addressOf(block.spec, ord),
      block: block.spec.cidr,
      handle: alloc.handle,
      attrs: attr.secondary ?? {},
      alternateAttrs: attr.alternateOwnerAttrs ?? {},
      sequenceNumber: alloc.sequenceNumber,
      blockAffinity: block.spec.affinity,
    };
  }

  /** Releases a node's affinity for one block (ReleaseAffinity for a block-sized CIDR). */
  async releaseAffinity(node: string, cidr: string, options: { mustBeEmpty: boolean }): Promise<string> {
    return releaseBlockAffinity(this.ctx, node, blockCidrText(cidr), { requireEmpty: options.mustBeEmpty });
  }

  /** Releases every affinity of a node (ReleaseHostAffinities); returns the CIDRs given up. */
  async releaseHostAffinities(node: string, options: { mustBeEmpty: boolean }): Promise<string[]> {
    const affs = await this.ctx.store.list("BlockAffinity", { node });
    const out: string[] = [];
    for (const a of affs) {
      if (a.spec.node !== node || (a.spec.type ?? "host") !== "host") continue;
      const r = await releaseBlockAffinity(this.ctx, node, a.spec.cidr, {
        requireEmpty: options.mustBeEmpty,
      });
      if (r === "released") out.push(a.spec.cidr);
    }
    return out;
  }

  /** Completes or undoes a node's claim of one block (what the next assignment would do). */
  async repairAffinity(node: string, cidr: string): Promise<string> {
    const aff = await this.ctx.store.get("BlockAffinity", affinityName(node, cidr));
    if (aff === undefined) return "absent";
    return (await blockFromAffinity(this.ctx, aff)).kind;
  }
}

function blockCidrText(cidr: string): string {
  return formatCidr(blockCidr({ cidr }));
}

function exhausted(
  family: Family,
  num: number,
  got: number,
  pools: readonly ResolvedPool[],
  node: string,
  reasons: readonly string[],
): IpamError {
  const names = pools.map((p) => `${p.name} (${p.cidrText})`).join(", ");
  return new IpamError(
    "IPAM_POOL_EXHAUSTED",
    `no free IPv${family} address for node ${node} in pool ${names}: assigned ${got} out of ${num} requested IPv${family} addresses` +
      (reasons.length > 0 ? `; ${reasons.join("; ")}` : ""),
    { pool: pools.map((p) => p.name).join(","), node },
  );
}
