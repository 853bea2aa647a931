#!/usr/bin/env node
/**
 * `tabbyctl`: the operator's CLI, shaped like calicoctl. The resource commands (apply, create, replace,
 * delete, get) work against the datastore chosen as calicoctl chooses it (see src/datastore/choose.ts);
 * the others print the usage and say which issue brings them (see README).
 */
import { parseCtlArgs } from "./ctl/args.js";
import { runIpam } from "./ctl/ipam-commands.js";
import { type CtlDeps, processDeps, runGet, runWrite } from "./ctl/resource-commands.js";
import { type CliIo, runMain } from "./io.js";
import { type CommandSpec, dispatchPending, renderUsage } from "./usage.js";

export const tabbyctlCommands: readonly CommandSpec[] = [
  {
    name: "node status",
    summary: "BGP sessions of this node, as calicoctl node status",
    pending: "planned",
  },
  {
    name: "apply -f FILE",
    summary: "create or update resources (all documents checked before any is written)",
  },
  { name: "create -f FILE", summary: "create resources (--skip-exists to skip existing ones)" },
  { name: "replace -f FILE", summary: "replace existing resources" },
  { name: "get KIND [NAME...]", summary: "list or show resources (-o ps|wide|yaml|json, -n NS, -A)" },
  { name: "delete KIND NAME...", summary: "delete resources, or those in -f FILE (--skip-not-exists)" },
  { name: "ipam show", summary: "IP pool usage and blocks (--ip=ADDR, --show-blocks, --show-borrowed)" },
  { name: "ipam check", summary: "find (and --fix) leaked addresses and blocks" },
  { name: "ipam release --ip=ADDR", summary: "release one address" },
];

const usage = renderUsage(
  "tabbyctl",
  "tabbyctl: operate a tabby (Calico-compatible) cluster",
  tabbyctlCommands,
).replace(
  "Options:\n",
  "Datastore: DATASTORE_TYPE (kubernetes, etcdv3), KUBECONFIG, ETCD_ENDPOINTS, as calicoctl;\n" +
    "  with none set, the embedded store in TABBY_DATA_DIR (default /var/lib/tabby).\n\nOptions:\n",
);

const WRITE_ACTIONS = new Set(["apply", "create", "replace", "delete"]);

export function main(
  argv: readonly string[],
  io: CliIo,
  deps: CtlDeps = processDeps,
): number | Promise<number> {
  const command = argv[0];
  if (command === "ipam") return runIpam(argv.slice(1), io, deps);
  if (command !== undefined && (WRITE_ACTIONS.has(command) || command === "get")) {
    const args = parseCtlArgs(argv);
    if ("error" in args) {
      io.stderr(`tabbyctl ${command}: ${args.error}\n\n${usage}`);
      return 2;
    }
    if (args.help) {
      io.stdout(usage);
      return 0;
    }
    if (command === "get") return runGet(args, io, deps);
    return runWrite(command as "apply" | "create" | "replace" | "delete", args, io, deps);
  }
  return dispatchPending("tabbyctl", usage, tabbyctlCommands, argv, io);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(main);
