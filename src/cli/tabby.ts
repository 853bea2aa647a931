#!/usr/bin/env node
/**
 * `tabby`: the node agent, the standalone BGP speaker, the embedded datastore server and the lab.
 * A command that is only planned prints the usage and says so (see README).
 */
import { runDecode, runEncode } from "./bgp-codec.js";
import { runReload } from "./bgp-reload.js";
import { runSpeaker } from "./bgp-run.js";
import { runPeers, runRib } from "./bgp-status.js";
import { runCniInstall } from "./cni-install.js";
import { runDatastoreServe } from "./datastore-serve.js";
import { type CliIo, runMain } from "./io.js";
import { runLab } from "./lab.js";
import { runNode } from "./node-run.js";
import { type CommandSpec, dispatchPending, renderUsage } from "./usage.js";

export const tabbyCommands: readonly CommandSpec[] = [
  { name: "node run", summary: "run the per-node agent (calico-node's environment; docs/agent.md)" },
  { name: "bgp run --config FILE", summary: "run a standalone BGP speaker" },
  { name: "bgp peers", summary: "show a running speaker's sessions" },
  { name: "bgp reload", summary: "make a running speaker re-read its configuration (as SIGHUP)" },
  { name: "bgp rib [PREFIX]", summary: "show a running speaker's Loc-RIB" },
  { name: "bgp decode FILE [PEER_FILE]", summary: "BGP messages from raw bytes to JSON lines" },
  { name: "bgp encode", summary: "JSON lines back to BGP bytes" },
  {
    name: "datastore serve",
    summary: "serve the embedded datastore as a Kubernetes API (--listen, --data-dir, --kubeconfig-out)",
  },
  {
    name: "cni install",
    summary: "install the CNI plugin and its network config on this node (docs/cni.md)",
  },
  {
    name: "lab up|status|exec|down",
    summary: "a whole cluster on this machine: nodes, a ToR, pods, in network namespaces (docs/lab.md)",
  },
];

const usage = renderUsage("tabby", "tabby: Calico-compatible node networking agent", tabbyCommands);

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === "bgp" && argv[1] === "decode") return runDecode(argv.slice(2), io);
  if (argv[0] === "bgp" && argv[1] === "encode") return runEncode(argv.slice(2), io);
  if (argv[0] === "node" && argv[1] === "run") return runNode(argv.slice(2), io);
  if (argv[0] === "cni" && argv[1] === "install") return runCniInstall(argv.slice(2), io);
  if (argv[0] === "datastore" && argv[1] === "serve") return runDatastoreServe(argv.slice(2), io);
  if (argv[0] === "bgp" && argv[1] === "run") return runSpeaker(argv.slice(2), io);
  if (argv[0] === "bgp" && argv[1] === "peers") return runPeers(argv.slice(2), io);
  if (argv[0] === "bgp" && argv[1] === "rib") return runRib(argv.slice(2), io);
  if (argv[0] === "bgp" && argv[1] === "reload") return runReload(argv.slice(2), io);
  if (argv[0] === "lab") return runLab(argv.slice(1), io);
  return dispatchPending("tabby", usage, tabbyCommands, argv, io);
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(main);
