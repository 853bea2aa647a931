/**
 * `tabbyctl ipam show` output, line for line as `calicoctl ipam show` prints it
 * (calicoctl/commands/ipam/show.go, v3.30; calico-bgp-cni.md §2.2): the pool usage table (`--show-blocks`
 * adds a row per block under its pool; blocks in no pool appear as block rows only), what holds one
 * address (`--ip`), the borrowed addresses (`--show-borrowed`) and IPAMConfiguration
 * (`--show-configuration`, fields as Go's %#v prints them). Pure: data in, text out.
 */
import type { AddressInfo } from "../../../ipam/client.js";
import type { IpamConfig } from "../../../ipam/model.js";
import type { BorrowedAddress, PoolUsage } from "../../../ipam/usage.js";
import { formatFixed0, formatG5, renderTable } from "./ipam-table.js";

function usageRow(kind: string, cidr: string, inUse: number, capacity: number): string[] {
  const pct = (n: number) => formatFixed0((100 * n) / capacity);
  return [
    kind,
    cidr,
    formatG5(capacity),
    `${formatG5(inUse)} (${pct(inUse)}%)`,
    `${formatG5(capacity - inUse)} (${pct(capacity - inUse)}%)`,
  ];
}

export function renderPoolUsage(usage: readonly PoolUsage[], showBlocks: boolean): string {
  const rows: string[][] = [];
  for (const p of usage) {
    if (p.cidr !== undefined) rows.push(usageRow("IP Pool", p.cidr, p.inUse, p.capacity));
    if (showBlocks) for (const b of p.blocks) rows.push(usageRow("Block", b.cidr, b.inUse, b.capacity));
  }
  return renderTable(["GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"], rows);
}

function ownerAttrs(title: string, attrs: Readonly<Record<string, string>>): string {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return "";
  return `${title}:\n${keys.map((k) => `  ${k}: ${attrs[k]}\n`).join("")}`;
}

export function renderAddress(address: string, info: AddressInfo | undefined): string {
  if (info === undefined) return `${address} is not assigned\n`;
  let out = `IP ${address} is in use\nHandle ID: ${info.handle ?? "<none>"}\n`;
  out += ownerAttrs("Active Owner Attributes", info.attrs) || "No Active Owner attributes defined\n";
  out += ownerAttrs("Alternate Owner Attributes", info.alternateAttrs);
  return out;
}

export function renderBorrowed(borrowed: readonly BorrowedAddress[], unclassified: number): string {
  let out = renderTable(
    ["IP", "BORROWING-NODE", "BLOCK", "BLOCK OWNER", "TYPE", "ALLOCATED-TO"],
    borrowed.map((b) => [b.address, b.borrowingNode, b.block, b.blockOwner, b.type, b.allocatedTo]),
  );
  if (unclassified !== 0) {
    out += `\nNote: found ${unclassified} IP allocations without an explicit node association. Unable to determine if they are borrowed.\n`;
  }
  return out;
}

export function renderConfiguration(config: IpamConfig): string {
  return renderTable(
    ["PROPERTY", "VALUE"],
    [
      ["StrictAffinity", String(config.strictAffinity)],
      ["AutoAllocateBlocks", String(config.autoAllocateBlocks)],
      ["MaxBlocksPerHost", String(config.maxBlocksPerHost)],
    ],
  );
}
