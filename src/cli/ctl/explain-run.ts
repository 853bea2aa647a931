/**
 * The shell of `tabbyctl explain` (explain.ts is the logic): reads pools, blocks, affinities, endpoints
 * and nodes from the datastore, and, when run on a node, the agent's BGP routes (its status socket)
 * and the kernel's routes and interfaces, then prints the explanation. Exit status 0 when nothing is
 * wrong, 3 when a problem was found, 1 when the datastore cannot be read, 2 for usage errors.
 */
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { statusGet } from "../../bgp/status-server.js";
import type { CliIo } from "../io.js";
import { explain, type KernelRoute, parseTarget, type RibRoute, renderExplanation } from "./explain.js";
import { type CtlDeps, withDatastore } from "./resource-commands.js";

export const EXPLAIN_USAGE = `Usage:
  tabbyctl explain (NAMESPACE/POD | POD | IP | CIDR) [-o json]

Description:
  The whole path of one address: its IPPool (and why that pool), its IPAM block and the block's
  affinity (or that the address is borrowed), the WorkloadEndpoint and its veth, the owning node,
  the encapsulation this node uses towards it and why, the BGP route the agent learned (or why there
  is none), and this node's kernel route against the one it should have. Every mismatch is said in
  words. Run on a node (NODENAME, or the agent's /var/lib/calico/nodename) to include the agent's and
  the kernel's view; elsewhere it shows the datastore's.

  Exit status: 0 when no problem was found, 3 when one was, 1 when the datastore cannot be read.
`;

async function thisNode(env: CliIo["env"]): Promise<string | undefined> {
  if (env.NODENAME) return env.NODENAME;
  for (const f of [env.CALICO_NODENAME_FILE, "/var/lib/calico/nodename"])
    if (f) {
      const text = await readFile(f, "utf8").catch(() => "");
      if (text.trim() !== "") return text.trim();
    }
  return undefined;
}

async function kernelRoutes(): Promise<KernelRoute[] | string> {
  try {
    const { stdout } = await promisify(execFile)("ip", ["-j", "-4", "route", "show", "table", "main"]);
    return JSON.parse(stdout || "[]") as KernelRoute[];
  } catch (e) {
    return (e as Error).message;
  }
}

async function agentRib(socket: string): Promise<RibRoute[] | string> {
  try {
    return await statusGet<RibRoute[]>(socket, "/rib?family=ipv4");
  } catch (e) {
    return `the agent does not answer at ${socket} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

export async function runExplain(argv: readonly string[], io: CliIo, deps: CtlDeps): Promise<number> {
  let json = false;
  const rest: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === "-h" || a === "--help") {
      io.stdout(EXPLAIN_USAGE);
      return 0;
    }
    if (a === "-o" || a === "--output" || a.startsWith("-o") || a.startsWith("--output=")) {
      const v = a === "-o" || a === "--output" ? argv[++k] : a.replace(/^(-o|--output=)/, "");
      if (v !== "json") {
        io.stderr(
          `tabbyctl explain: output format must be json, not ${JSON.stringify(v ?? "")}\n\n${EXPLAIN_USAGE}`,
        );
        return 2;
      }
      json = true;
    } else if (a.startsWith("-")) {
      io.stderr(`tabbyctl explain: unknown option ${JSON.stringify(a)}\n\n${EXPLAIN_USAGE}`);
      return 2;
    } else rest.push(a);
  }
  if (rest.length !== 1) {
    io.stderr(`tabbyctl explain: needs one pod, address or CIDR\n\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const target = parseTarget(rest[0]!);
  const node = await thisNode(io.env);
  return withDatastore(io, deps, { readOnly: true }, async (ds) => {
    const [pools, blocks, affinities, endpoints, nodes] = await Promise.all(
      ["IPPool", "IPAMBlock", "BlockAffinity", "WorkloadEndpoint", "Node"].map(
        async (k) => (await ds.list(k)).items,
      ),
    );
    const onNode =
      node === undefined
        ? {}
        : {
            thisNode: node,
            rib: await agentRib(io.env.TABBY_STATUS_SOCKET || "/var/run/tabby/node.sock"),
            kernel: await kernelRoutes(),
            interfaces: await readdir("/sys/class/net").catch(() => []),
          };
    const e = explain({
      target,
      pools: pools!,
      blocks: blocks!,
      affinities: affinities!,
      endpoints: endpoints!,
      nodes: nodes!,
      ...onNode,
    });
    io.stdout(json ? `${JSON.stringify(e, null, 2)}\n` : renderExplanation(e));
    return e.problems === 0 ? 0 : 3;
  }).catch((e: Error) => {
    io.stderr(`tabbyctl explain: ${e.message}\n`);
    return 1;
  });
}
