/**
 * `tabbyctl ipam check` output: the progress report `calicoctl ipam check` prints, in its order and words
 * (calicoctl/commands/ipam/check.go; calico-bgp-cni.md §2.3), with `--show-problem-ips` and
 * `--show-all-ips` detail lines and the `-o FILE` JSON report; then tabby's own findings about block
 * affinities and handle counts, and with `--fix` what the repair did. Pure: data in, text out.
 */
import type { CheckedAllocation, CheckReport } from "../../../ipam/check.js";
import type { RepairOutcome } from "../../../ipam/repair.js";

export interface CheckPrintOptions {
  readonly showAllIps: boolean;
  readonly showProblemIps: boolean;
}

/** `Main:<handle> Extra:k=v,...` (check.go formatAttrs). */
function attrString(a: CheckedAllocation): string {
  const kv = (m: Readonly<Record<string, string>> | undefined) =>
    Object.keys(m ?? {})
      .sort()
      .map((k) => `${k}=${m![k]}`)
      .join(",");
  let s = `Main:${a.attribute?.handle_id ?? "<none>"} Extra:${kv(a.attribute?.secondary)}`;
  if (Object.keys(a.attribute?.alternateOwnerAttrs ?? {}).length > 0)
    s += ` Alternate:${kv(a.attribute?.alternateOwnerAttrs)}`;
  return s;
}

export function renderCheck(r: CheckReport, o: CheckPrintOptions): string {
  const problems = o.showProblemIps || o.showAllIps;
  const lines: string[] = ["Checking IPAM for inconsistencies...", "", "Loading all IPAM blocks..."];
  lines.push(`Found ${r.blocks.length + r.invalidBlocks.length} IPAM blocks.`);
  for (const b of r.blocks) {
    lines.push(` IPAM block ${b.cidr} affinity=${b.affinity}:`);
    if (o.showAllIps) {
      for (const a of r.allocations)
        if (a.block === b.cidr) lines.push(`  ${a.address} allocated; attrs ${attrString(a)}`);
    }
  }
  lines.push(`IPAM blocks record ${r.allocations.length} allocations.`, "");
  lines.push(
    "Loading all IPAM pools...",
    ...r.activePools.map((p) => `  ${p}`),
    `Found ${r.activePools.length} active IP pools.`,
    "",
  );
  const owned = [...r.inUse].flatMap(([ip, owners]) => owners.map((owner) => ({ ip, owner })));
  lines.push("Loading all nodes.");
  if (o.showAllIps)
    for (const x of owned.filter((x) => x.owner.startsWith("Node(")))
      lines.push(`  ${x.ip} belongs to ${x.owner}`);
  lines.push(`Found ${r.nodeIps} node tunnel IPs.`, "");
  lines.push(
    "Loading all service load balancer IPs.",
    "No configuration for LoadBalancer kubecontroller found, skipping service check",
    "",
  );
  lines.push("Loading all workload endpoints.");
  if (o.showAllIps)
    for (const x of owned.filter((x) => x.owner.startsWith("Workload(")))
      lines.push(`  ${x.ip} belongs to ${x.owner}`);
  lines.push(
    `Found ${r.workloadIps} workload IPs.`,
    `Workloads and nodes are using ${r.inUse.size} IPs.`,
    "",
  );
  lines.push("Loading all handles", "Looking for top (up to 20) nodes by allocations...");
  for (const [node, n] of r.allocationsByNode.slice(0, 20)) lines.push(`  ${node} has ${n} allocations`);
  if (r.allocationsByNode.length > 0) {
    const max = r.allocationsByNode[0]![1];
    const median = r.allocationsByNode[Math.floor(r.allocationsByNode.length / 2)]![1];
    lines.push(`Node with most allocations has ${max}; median is ${median}`);
  }
  lines.push("", "Scanning for IPs that are allocated but not actually in use...");
  if (problems)
    for (const l of r.notInUse)
      lines.push(`  ${l.allocation.address} leaked; attrs ${attrString(l.allocation)}`);
  lines.push(
    `Found ${new Set(r.notInUse.map((l) => l.allocation.address)).size} IPs that are allocated in IPAM but not actually in use.`,
  );
  lines.push("Scanning for IPs that are in use by a workload or node but not allocated in IPAM...");
  if (problems) {
    for (const [ip, owners] of r.inUse) if (owners.length > 1) lines.push(`  ${ip} has multiple owners.`);
    for (const x of r.nonCalico)
      for (const owner of x.owners) lines.push(`  ${x.ip} in use by ${owner} is not in any active IP pool.`);
    for (const x of r.notAllocated) {
      for (const owner of x.owners)
        lines.push(`  ${x.ip} in use by ${owner} and in active IPAM pool but has no IPAM allocation.`);
    }
  }
  lines.push(`Found ${r.nonCalico.length} in-use IPs that are not in active IP pools.`);
  lines.push(
    `Found ${r.notAllocated.length} in-use IPs that are in active IP pools but have no corresponding IPAM allocation.`,
    "",
  );
  lines.push("Scanning for IPAM handles with no matching IPs...");
  if (o.showAllIps)
    for (const h of r.handlesWithoutIps)
      lines.push(`  ${h.handle.spec.handleID} doesn't have any active IPs.`);
  lines.push(
    `Found ${r.handlesWithoutIps.length} handles with no matching IPs (and ${r.handlesWithIps} handles with matches).`,
  );
  lines.push("Scanning for IPs with missing handle...");
  if (problems)
    for (const h of r.missingHandles) lines.push(`  ${h} is in use in a block but doesn't exist.`);
  lines.push(
    `Found ${r.missingHandles.length} handles mentioned in blocks with no matching handle resource.`,
  );
  lines.push("Validating IPAMBlock structures...");
  for (const b of r.invalidBlocks)
    lines.push(`  IPAMBlock BlockKey(cidr=${b.cidr}) is invalid: ${b.problem}`);
  lines.push(`Found ${r.invalidBlocks.length} invalid IPAMBlocks.`);
  // tabby's additions.
  lines.push("Scanning block affinities and handle counts...");
  if (problems) {
    for (const f of r.affinityFindings)
      lines.push(`  ${f.detail}${f.confirmed ? "" : " (within the grace period)"}`);
    for (const f of r.blockFindings)
      lines.push(
        `  ${f.detail}${f.confirmed || f.problem === "orphaned" ? "" : " (within the grace period)"}`,
      );
    for (const f of r.handleCounts)
      lines.push(
        `  handle ${f.handle.spec.handleID} counts ${counts(f.handle.spec.block)}, its blocks hold ${counts(f.actual)}`,
      );
  }
  const count = (p: string) => r.affinityFindings.filter((f) => f.problem === p).length;
  const blocks = (p: string) => r.blockFindings.filter((f) => f.problem === p).length;
  lines.push(
    `Found ${count("no-block")} affinities without a block, ${count("not-ours")} of another node's block, ${count("unconfirmed")} not confirmed, ${count("node-gone")} of deleted nodes.`,
  );
  lines.push(
    `Found ${blocks("no-affinity")} blocks affine to a node without its affinity, ${blocks("empty-affine")} empty affine blocks, ${blocks("orphaned")} blocks in no IP pool.`,
  );
  lines.push(`Found ${r.handleCounts.length} handles whose counts disagree with their blocks.`);
  lines.push(`Check complete; found ${r.problems} problems.`);
  return `${lines.join("\n")}\n`;
}

function counts(m: Readonly<Record<string, number>>): string {
  const keys = Object.keys(m).sort();
  return keys.length === 0 ? "nothing" : keys.map((k) => `${k}=${m[k]}`).join(",");
}

export function renderRepair(out: RepairOutcome, graceText: string): string {
  const lines = ["", `Repairing what the check found (grace period ${graceText})...`];
  for (const a of out.actions)
    lines.push(a.done ? `  done: ${a.what}` : `  skipped: ${a.what}: ${a.why ?? ""}`);
  const done = out.actions.filter((a) => a.done).length;
  lines.push(
    `Repair complete: ${done} done, ${out.actions.length - done} skipped; ${out.after.problems} problems left.`,
  );
  return `${lines.join("\n")}\n`;
}

/** calicoctl's report file (check.go CheckReport), for `ipam release --from-report`-style tooling. */
export function checkReportJson(r: CheckReport, version: string): string {
  const allocations: Record<string, unknown[]> = {};
  for (const a of r.allocations) {
    const s = a.attribute?.secondary ?? {};
    const list = allocations[a.address] ?? [];
    allocations[a.address] = list;
    list.push({
      ip: a.address,
      ...(a.handle !== undefined ? { handle: a.handle } : {}),
      sequenceNumber: a.sequenceNumber,
      ...(s.pod ? { pod: s.pod } : {}),
      ...(s.namespace ? { namespace: s.namespace } : {}),
      ...(a.node ? { node: a.node } : {}),
      ...(s.type ? { type: s.type } : {}),
      ...(s.timestamp ? { creationTimestamp: s.timestamp } : {}),
      inUse: a.owners.length > 0,
      ...(a.borrowed ? { borrowed: true } : {}),
      owners: a.owners,
    });
  }
  const report = {
    version,
    clusterGUID: "",
    datastoreLocked: false,
    clusterInformationRevision: "",
    clusterType: "",
    allocations,
    ...(r.handlesWithoutIps.length > 0
      ? {
          leakedHandles: r.handlesWithoutIps.map((h) => ({
            ID: h.handle.spec.handleID,
            UID: null,
            Revision: h.handle.revision,
          })),
        }
      : {}),
  };
  return JSON.stringify(report, null, 2);
}
