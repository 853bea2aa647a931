/**
 * The leak and consistency check, pure: from a snapshot of blocks, affinities, handles, pools, nodes and
 * workloads, what `calicoctl ipam check` reports (calicoctl/commands/ipam/check.go: allocations not in
 * use, in-use addresses without an allocation, handles without addresses, addresses naming a missing
 * handle, malformed blocks) plus what tabby adds about host affinity: affinities without a block,
 * affinities whose block belongs to someone else, claims never confirmed, blocks whose affinity object is
 * missing, handle counts that disagree with the blocks. For each finding it also says whether it may be
 * repaired now: an allocation counts as leaked once it is older than the grace period (kube-controllers'
 * leakGracePeriod, default 15 min) or its node is gone (ipam-gc.md: a deleted node's addresses are leaks
 * at once), so an in-flight CNI ADD whose WorkloadEndpoint is not written yet is left alone. repair.ts acts.
 */
import { type Allocation, allocationsOf, isEmpty, validateBlock } from "./block.js";
import { parseTime } from "./clock.js";
import { formatAddr, formatCidr, parseAddr, parseCidr } from "./ip.js";
import {
  type AffinitySpec,
  ATTR,
  affinityHost,
  type BlockSpec,
  type HandleSpec,
  WINDOWS_RESERVED_HANDLE,
} from "./model.js";
import { handleName } from "./names.js";
import { poolOf, type ResolvedPool } from "./pools.js";
import type { Versioned } from "./store.js";

/** kube-controllers' default leakGracePeriod. */
export const DEFAULT_LEAK_GRACE_MS = 15 * 60_000;

export interface WorkloadInfo {
  readonly namespace: string;
  /** The WorkloadEndpoint's name. */
  readonly name: string;
  readonly pod?: string;
  readonly node?: string;
  readonly addresses: readonly string[];
}

export interface CheckInput {
  readonly blocks: readonly Versioned<BlockSpec>[];
  readonly affinities: readonly Versioned<AffinitySpec>[];
  readonly handles: readonly Versioned<HandleSpec>[];
  /** Every pool; disabled ones are not "active" (calicoctl). */
  readonly pools: readonly ResolvedPool[];
  /** Existing nodes and their tunnel addresses (IPIP, VXLAN, WireGuard), as calicoctl's getNodeIPs reads them. */
  readonly nodes: ReadonlyMap<string, readonly string[]>;
  readonly workloads: readonly WorkloadInfo[];
  readonly nowMs: number;
  readonly graceMs: number;
}

export interface CheckedAllocation extends Allocation {
  readonly block: string;
  readonly blockAffinity: string | undefined;
  readonly node: string;
  readonly owners: readonly string[];
  readonly borrowed: boolean;
}

export interface LeakedAllocation {
  readonly allocation: CheckedAllocation;
  /** Why it may go now ("node n3 no longer exists", "not in use for 20m") or why not yet. */
  readonly reason: string;
  /** Past the grace period or orphaned by its node: repair releases it. */
  readonly confirmed: boolean;
}

export interface AffinityFinding {
  readonly affinity: Versioned<AffinitySpec>;
  readonly problem: "no-block" | "not-ours" | "unconfirmed" | "node-gone";
  readonly detail: string;
  readonly confirmed: boolean;
}

export interface BlockFinding {
  readonly block: Versioned<BlockSpec>;
  readonly problem: "no-affinity" | "empty-affine" | "orphaned";
  readonly detail: string;
  readonly confirmed: boolean;
}

export interface HandleCountFinding {
  readonly handle: Versioned<HandleSpec>;
  /** What the blocks say the handle holds. */
  readonly actual: Readonly<Record<string, number>>;
}

export interface CheckReport {
  readonly blocks: readonly { readonly cidr: string; readonly affinity: string }[];
  readonly allocations: readonly CheckedAllocation[];
  readonly activePools: readonly string[];
  readonly nodeIps: number;
  readonly workloadIps: number;
  /** Address -> who uses it (`Node(n1)`, `Workload(ns/name)`). */
  readonly inUse: ReadonlyMap<string, readonly string[]>;
  readonly allocationsByNode: readonly (readonly [string, number])[];
  readonly notInUse: readonly LeakedAllocation[];
  readonly nonCalico: readonly { readonly ip: string; readonly owners: readonly string[] }[];
  readonly notAllocated: readonly { readonly ip: string; readonly owners: readonly string[] }[];
  readonly handlesWithoutIps: readonly {
    readonly handle: Versioned<HandleSpec>;
    readonly confirmed: boolean;
  }[];
  readonly handlesWithIps: number;
  /** Handle IDs allocations name that have no IPAMHandle. */
  readonly missingHandles: readonly string[];
  readonly handleCounts: readonly HandleCountFinding[];
  readonly invalidBlocks: readonly { readonly cidr: string; readonly problem: string }[];
  readonly affinityFindings: readonly AffinityFinding[];
  readonly blockFindings: readonly BlockFinding[];
  readonly problems: number;
}

const TUNNEL_TYPES = new Set([
  "ipipTunnelAddress",
  "vxlanTunnelAddress",
  "vxlanV6TunnelAddress",
  "wireguardTunnelAddress",
  "wireguardV6TunnelAddress",
]);

function age(nowMs: number, at: number | undefined): number {
  return at === undefined ? Number.POSITIVE_INFINITY : nowMs - at;
}

function minutes(ms: number): string {
  return Number.isFinite(ms) ? `${Math.floor(ms / 60_000)}m` : "an unknown time";
}

export function checkIpam(input: CheckInput): CheckReport {
  const { nowMs, graceMs } = input;
  const handleById = new Map(input.handles.filter((h) => !h.spec.deleted).map((h) => [h.spec.handleID, h]));
  const handleByName = new Map(input.handles.filter((h) => !h.spec.deleted).map((h) => [h.name, h]));
  // Who uses which address: node tunnel addresses and workload addresses (recordInUseIP).
  const inUse = new Map<string, string[]>();
  const use = (ip: string, owner: string) => {
    const a = parseAddr(ip.split("/")[0]!);
    if (a === undefined) return;
    const key = formatAddr(a);
    inUse.set(key, [...(inUse.get(key) ?? []), owner]);
  };
  let nodeIps = 0;
  for (const [node, ips] of [...input.nodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const ip of ips) {
      use(ip, `Node(${node})`);
      nodeIps++;
    }
  }
  let workloadIps = 0;
  for (const w of input.workloads) {
    for (const ip of w.addresses) {
      use(ip, `Workload(${w.namespace}/${w.name})`);
      workloadIps++;
    }
  }
  const workloadByPod = new Map(input.workloads.map((w) => [`${w.namespace}/${w.pod ?? w.name}`, w]));

  const blocks = input.blocks.filter((b) => !b.spec.deleted);
  const allocations: CheckedAllocation[] = [];
  const byNode = new Map<string, number>();
  const invalidBlocks: { cidr: string; problem: string }[] = [];
  const handleActual = new Map<string, Record<string, number>>();
  for (const b of blocks) {
    const problem = validateBlock(b.spec);
    if (problem !== undefined) {
      invalidBlocks.push({ cidr: b.spec.cidr, problem });
      continue;
    }
    const host = affinityHost(b.spec.affinity) ?? "";
    for (const a of allocationsOf(b.spec)) {
      if (a.handle?.toLowerCase() === WINDOWS_RESERVED_HANDLE) use(a.address, "Reserved for Windows");
      const node = a.attribute?.secondary?.[ATTR.node] || host;
      const checked: CheckedAllocation = {
        ...a,
        block: b.spec.cidr,
        blockAffinity: b.spec.affinity,
        node,
        owners: [],
        borrowed: node !== host,
      };
      allocations.push(checked);
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
      if (a.handle !== undefined && a.handle.toLowerCase() !== WINDOWS_RESERVED_HANDLE) {
        const counts = handleActual.get(a.handle) ?? {};
        counts[b.spec.cidr] = (counts[b.spec.cidr] ?? 0) + 1;
        handleActual.set(a.handle, counts);
      }
    }
  }
  const withOwners = allocations.map((a) => ({ ...a, owners: inUse.get(a.address) ?? [] }));
  const allocated = new Set(withOwners.map((a) => a.address));

  const notInUse: LeakedAllocation[] = [];
  for (const a of withOwners) {
    if (a.owners.length > 0) continue;
    if (a.attribute?.releasedAt !== undefined) continue; // cooling down: released already
    const attrs = a.attribute?.secondary ?? {};
    const handle = a.handle === undefined ? undefined : handleById.get(a.handle);
    const since = parseTime(attrs[ATTR.timestamp]) ?? parseTime(handle?.createdAt);
    let reason: string;
    let confirmed: boolean;
    if (a.node !== "" && !input.nodes.has(a.node)) {
      reason = `node ${a.node} no longer exists`;
      confirmed = true;
    } else {
      const kind = TUNNEL_TYPES.has(attrs[ATTR.type] ?? "")
        ? `tunnel address of node ${a.node} not in use by it`
        : attrs[ATTR.pod] !== undefined
          ? workloadByPod.has(`${attrs[ATTR.namespace] ?? ""}/${attrs[ATTR.pod]}`)
            ? `pod ${attrs[ATTR.namespace]}/${attrs[ATTR.pod]} does not use it`
            : `pod ${attrs[ATTR.namespace]}/${attrs[ATTR.pod]} no longer exists`
          : "no workload or node uses it";
      const elapsed = age(nowMs, since);
      confirmed = elapsed >= graceMs;
      reason = confirmed
        ? `${kind}; allocated ${minutes(elapsed)} ago`
        : `${kind}, but allocated ${minutes(elapsed)} ago, within the grace period of ${minutes(graceMs)}`;
    }
    notInUse.push({ allocation: a, reason, confirmed });
  }

  const activePools = input.pools.filter((p) => !p.disabled);
  const nonCalico: { ip: string; owners: string[] }[] = [];
  const notAllocated: { ip: string; owners: string[] }[] = [];
  for (const [ip, owners] of [...inUse].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (allocated.has(ip)) continue;
    const a = parseAddr(ip)!;
    if (poolOf(activePools, a) === undefined) nonCalico.push({ ip, owners });
    else notAllocated.push({ ip, owners });
  }

  const handlesWithoutIps: { handle: Versioned<HandleSpec>; confirmed: boolean }[] = [];
  let handlesWithIps = 0;
  const handleCounts: HandleCountFinding[] = [];
  for (const h of handleById.values()) {
    const actual = handleActual.get(h.spec.handleID);
    if (actual === undefined) {
      handlesWithoutIps.push({ handle: h, confirmed: age(nowMs, parseTime(h.createdAt)) >= graceMs });
      continue;
    }
    handlesWithIps++;
    if (!sameCounts(h.spec.block, actual)) handleCounts.push({ handle: h, actual });
  }
  const missingHandles = [...handleActual.keys()].filter((id) => !handleByName.has(handleName(id))).sort();

  const { affinityFindings, blockFindings } = checkAffinities(input, blocks);

  const problems =
    notInUse.length +
    nonCalico.length +
    notAllocated.length +
    handlesWithoutIps.length +
    missingHandles.length +
    invalidBlocks.length +
    handleCounts.length +
    affinityFindings.length +
    blockFindings.filter((f) => f.problem !== "orphaned").length;
  return {
    blocks: blocks.map((b) => ({ cidr: b.spec.cidr, affinity: b.spec.affinity ?? "<none>" })),
    allocations: withOwners,
    activePools: activePools.map((p) => p.cidrText),
    nodeIps,
    workloadIps,
    inUse,
    allocationsByNode: [...byNode].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
    notInUse,
    nonCalico,
    notAllocated,
    handlesWithoutIps,
    handlesWithIps,
    missingHandles,
    handleCounts,
    invalidBlocks,
    affinityFindings,
    blockFindings,
    problems,
  };
}

function sameCounts(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const ka = Object.keys(a).filter((k) => (a[k] ?? 0) > 0);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Affinities against blocks, both ways. */
function checkAffinities(
  input: CheckInput,
  blocks: readonly Versioned<BlockSpec>[],
): { affinityFindings: AffinityFinding[]; blockFindings: BlockFinding[] } {
  const { nowMs, graceMs } = input;
  const blockByCidr = new Map(blocks.map((b) => [b.spec.cidr, b]));
  const affinityFindings: AffinityFinding[] = [];
  const confirmedFor = new Set<string>();
  for (const a of input.affinities) {
    if (a.spec.deleted || (a.spec.type ?? "host") !== "host") continue;
    const cidr = parseCidr(a.spec.cidr);
    const block = blockByCidr.get(cidr === undefined ? a.spec.cidr : formatCidr(cidr));
    const old = age(nowMs, parseTime(a.createdAt)) >= graceMs;
    const state = a.spec.state === "" ? "confirmed" : a.spec.state;
    if (!input.nodes.has(a.spec.node)) {
      affinityFindings.push({
        affinity: a,
        problem: "node-gone",
        detail: `node ${a.spec.node} no longer exists`,
        confirmed: true,
      });
      continue;
    }
    if (block === undefined) {
      affinityFindings.push({
        affinity: a,
        problem: "no-block",
        detail: `${state} affinity of node ${a.spec.node} for ${a.spec.cidr} has no block`,
        confirmed: old,
      });
      continue;
    }
    if (block.spec.affinity !== `host:${a.spec.node}`) {
      affinityFindings.push({
        affinity: a,
        problem: "not-ours",
        detail: `affinity of node ${a.spec.node} for ${a.spec.cidr}, but the block is ${block.spec.affinity ?? "unaffine"}`,
        confirmed: true,
      });
      continue;
    }
    confirmedFor.add(a.spec.cidr);
    if (state !== "confirmed") {
      affinityFindings.push({
        affinity: a,
        problem: "unconfirmed",
        detail: `${state} affinity of node ${a.spec.node} for ${a.spec.cidr} whose block is the node's`,
        confirmed: old,
      });
    }
  }
  const blockFindings: BlockFinding[] = [];
  for (const b of blocks) {
    const host = affinityHost(b.spec.affinity);
    const claimedAge = age(nowMs, parseTime(b.spec.affinityClaimTime) ?? parseTime(b.createdAt));
    if (poolOf(input.pools, parseCidr(b.spec.cidr)!) === undefined) {
      blockFindings.push({
        block: b,
        problem: "orphaned",
        detail: `block ${b.spec.cidr} is in no IP pool`,
        confirmed: false,
      });
    }
    if (host === undefined) continue;
    if (!confirmedFor.has(b.spec.cidr)) {
      blockFindings.push({
        block: b,
        problem: "no-affinity",
        detail: `block ${b.spec.cidr} is affine to ${host} but has no affinity of that node`,
        confirmed: claimedAge >= graceMs,
      });
    } else if (isEmpty(b.spec) && claimedAge >= graceMs) {
      blockFindings.push({
        block: b,
        problem: "empty-affine",
        detail: `block ${b.spec.cidr} of node ${host} has been empty since its claim ${minutes(claimedAge)} ago`,
        confirmed: true,
      });
    }
  }
  return { affinityFindings, blockFindings };
}
