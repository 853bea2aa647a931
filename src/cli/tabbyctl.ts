#!/usr/bin/env node
/**
 * `tabbyctl`: the operator's CLI, shaped like calicoctl. The resource commands (apply, create, replace,
 * delete, get) work against the datastore chosen as calicoctl chooses it (see src/datastore/choose.ts);
 * `ipam` works on IPAM (ctl/ipam-commands.ts); a command not built yet says so and exits 2.
 */
import { parseCtlArgs } from "./ctl/args.js";
import { runExplain } from "./ctl/explain-run.js";
import { runIpam } from "./ctl/ipam-commands.js";
import { hostNodeStatusDeps, type NodeStatusDeps, runNodeStatus } from "./ctl/node-status.js";
import { type CtlDeps, processDeps, runGet, runWrite } from "./ctl/resource-commands.js";
import { type CliIo, runMain } from "./io.js";
import { type CommandSpec, dispatchPending, renderUsage } from "./usage.js";

export const tabbyctlCommands: readonly CommandSpec[] = [
  {
    name: "node status",
    summary: "BGP sessions of this node, as calicoctl node status (-o json|yaml); --all: every node",
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
  {
    name: "explain POD|IP|CIDR",
    summary:
      "the whole path of one address: pool, block, endpoint, node, encapsulation, BGP and kernel routes",
  },
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

const FILE_FLAGS = `  -f, --filename FILE   a YAML or JSON file (several documents, a List), a directory of them, or - for stdin
`;
const DATASTORE_NOTE = `
The datastore: DATASTORE_TYPE (kubernetes, etcdv3), KUBECONFIG, ETCD_ENDPOINTS, as calicoctl; with
none set, the embedded store in TABBY_DATA_DIR. Every document is checked before anything is written:
one invalid document and nothing is.
`;

/** Each resource command's own usage, in calicoctl's terms. */
const COMMAND_USAGE: Readonly<Record<string, string>> = {
  apply: `Usage: tabbyctl apply -f FILE

Creates the resources of FILE that do not exist and updates those that do.

${FILE_FLAGS}${DATASTORE_NOTE}`,
  create: `Usage: tabbyctl create -f FILE [--skip-exists]

Creates the resources of FILE; an existing one refuses the whole file unless --skip-exists.

${FILE_FLAGS}  --skip-exists         leave resources that already exist as they are
${DATASTORE_NOTE}`,
  replace: `Usage: tabbyctl replace -f FILE

Replaces resources that exist (a resourceVersion in FILE must still be current).

${FILE_FLAGS}${DATASTORE_NOTE}`,
  get: `Usage: tabbyctl get KIND [NAME...] [-o ps|wide|yaml|json] [-n NS | -A]

Lists resources of KIND (ippool, bgppeer, node, workloadendpoint, ipamblock, ...), or the named ones.

  -o, --output FORMAT   ps (default), wide, yaml or json
  -n, --namespace NS    namespaced kinds: only NS (default: default)
  -A, --all-namespaces  namespaced kinds: every namespace
${DATASTORE_NOTE}`,
  delete: `Usage: tabbyctl delete KIND NAME... [--skip-not-exists]
       tabbyctl delete -f FILE [--skip-not-exists]

Deletes the named resources, or those of FILE.

${FILE_FLAGS}  --skip-not-exists     a resource that does not exist is not an error
  -n, --namespace NS    namespaced kinds: the namespace (default: default)
${DATASTORE_NOTE}`,
};

const WRITE_ACTIONS = new Set(["apply", "create", "replace", "delete"]);

export function main(
  argv: readonly string[],
  io: CliIo,
  deps: CtlDeps = processDeps,
  statusDeps: NodeStatusDeps = hostNodeStatusDeps,
): number | Promise<number> {
  const command = argv[0];
  if (command === "node" && argv[1] === "status") return runNodeStatus(argv.slice(2), io, statusDeps, deps);
  if (command === "ipam") return runIpam(argv.slice(1), io, deps);
  if (command === "explain") return runExplain(argv.slice(1), io, deps);
  if (command !== undefined && (WRITE_ACTIONS.has(command) || command === "get")) {
    const args = parseCtlArgs(argv);
    if ("error" in args) {
      io.stderr(`tabbyctl ${command}: ${args.error}\n\n${usage}`);
      return 2;
    }
    if (args.help) {
      io.stdout(COMMAND_USAGE[command] ?? usage);
      return 0;
    }
    if (command === "get") return runGet(args, io, deps);
    return runWrite(command as "apply" | "create" | "replace" | "delete", args, io, deps);
  }
  return dispatchPending("tabbyctl", usage, tabbyctlCommands, argv, io);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(main);
