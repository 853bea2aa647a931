#!/usr/bin/env node
/**
 * `tabbyctl`: the operator's CLI, shaped like calicoctl (`node status`, `get/apply/delete`, `ipam ...`).
 * Until each part lands, its command prints the usage and says it is not implemented (see README).
 */
import { type CliIo, runMain } from "./io.js";
import { type CommandSpec, dispatchPending, renderUsage } from "./usage.js";

export const tabbyctlCommands: readonly CommandSpec[] = [
  {
    name: "node status",
    summary: "BGP sessions of this node, as calicoctl node status",
    pending: "node agent issue",
  },
  { name: "apply -f FILE", summary: "create or update resources", pending: "issue #7" },
  { name: "create -f FILE", summary: "create resources", pending: "issue #7" },
  { name: "replace -f FILE", summary: "replace resources", pending: "issue #7" },
  { name: "get KIND [NAME]", summary: "list or show resources", pending: "issue #7" },
  { name: "delete KIND NAME", summary: "delete a resource", pending: "issue #7" },
  { name: "ipam show", summary: "IP pool usage and blocks", pending: "issue #9" },
  { name: "ipam check", summary: "find (and --fix) leaked addresses and blocks", pending: "issue #9" },
  { name: "ipam release --ip=ADDR", summary: "release one address", pending: "issue #9" },
];

const usage = renderUsage(
  "tabbyctl",
  "tabbyctl: operate a tabby (Calico-compatible) cluster",
  tabbyctlCommands,
);

export function main(argv: readonly string[], io: CliIo): number {
  return dispatchPending("tabbyctl", usage, tabbyctlCommands, argv, io);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(main);
