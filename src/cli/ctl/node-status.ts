/**
 * `tabbyctl node status`: calicoctl's `node status`, byte for byte in its released shape
 * (calicoctl/commands/node/status.go, tablewriter v0.0.5): the root check, the process check, then per
 * family the BGP sessions read from BIRD's control socket with `show protocols`, parsed as calicoctl
 * parses them (the 1.6 header, `BGP` rows named `Mesh_` / `Global_` / `Node_`). It reads the socket
 * the agent serves (bird-control.ts) and, the same way, a real calico-node's BIRD, so one command works
 * on both. The INFO column is whatever the daemon says; tabby's agent says why in words.
 *
 * `-o json` / `-o yaml` print the same rows as fields, plus what the agent's status socket adds per
 * session (AS, router ID, prefixes, flaps, the last error) when it answers. Exit status as calicoctl's:
 * 0 when the status could be shown, 1 when not root or no agent runs, 2 for usage errors.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { statusGet } from "../../bgp/status-server.js";
import type { CliIo } from "../io.js";
import { renderTable } from "./ipam-table.js";
import { allUp, nodeReports, renderNodeReports, reportsDocument } from "./node-status-all.js";
import { type CtlDeps, processDeps, withDatastore } from "./resource-commands.js";

export interface NodeStatusDeps {
  uid(): number;
  /** The argv of every process. */
  processes(): Promise<string[][]>;
  /** Sends one command to a BIRD control socket and gives the reply up to its last line. */
  birdCommand(path: string, command: string): Promise<string>;
  exists(path: string): Promise<boolean>;
  /** The agent's per-session details (GET /peers on its status socket); undefined when it does not answer. */
  agentPeers(socket: string): Promise<unknown[] | undefined>;
}

export interface BgpRow {
  readonly peerAddress: string;
  readonly peerType: "node-to-node mesh" | "global" | "node specific";
  readonly state: string;
  readonly since: string;
  readonly bgpState: string;
  readonly info: string;
}

const TYPES = { Mesh: "node-to-node mesh", Global: "global", Node: "node specific" } as const;
const HEADINGS = "name proto table state since info";

/** calicoctl's scanBIRDPeers: the BGP rows of a `show protocols` reply. Throws its two errors. Pure. */
export function parseBirdProtocols(reply: string, family: 4 | 6): BgpRow[] {
  const sep = family === 4 ? "." : ":";
  const rows: BgpRow[] = [];
  for (const str of reply.split("\n")) {
    if (str === "") continue;
    if (str.startsWith("0000")) break;
    if (str.startsWith("0001")) continue;
    let line: string;
    if (str.startsWith("2002")) {
      if (str.slice(5).trim().split(/\s+/).join(" ") !== HEADINGS)
        throw new Error("unknown BIRD table output format");
      continue;
    }
    if (str.startsWith("1002")) line = str.slice(5);
    else if (str.startsWith(" ")) line = str.slice(1);
    else throw new Error("unexpected output line from BIRD");
    const c = line.trim().split(/\s+/);
    const m = /^(Global|Node|Mesh)_(.+)$/.exec(c[0] ?? "");
    if (c.length < 6 || c[1] !== "BGP" || m === null) continue;
    rows.push({
      peerAddress: m[2]!.replaceAll("_", sep),
      peerType: TYPES[m[1] as keyof typeof TYPES],
      state: c[3]!,
      since: c[4]!,
      bgpState: c[5]!,
      info: c.slice(6).join(" "),
    });
  }
  return rows;
}

/** The table calicoctl prints for the rows of one family. Pure. */
export function renderPeers(rows: readonly BgpRow[]): string {
  return renderTable(
    ["PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO"],
    rows.map((r) => [
      r.peerAddress,
      r.peerType,
      r.state,
      r.since,
      r.info === "" ? r.bgpState : `${r.bgpState} ${r.info}`,
    ]),
  );
}

/** Whether argv is a node agent: calico-node's felix, or `tabby node run`. */
export function isAgentProcess(argv: readonly string[]): boolean {
  if (argv[0] === "calico-felix") return true;
  if (argv[0] === "calico-node" && argv[1] === "-felix") return true;
  const i = argv.findIndex((a) => /(^|\/)tabby(\.[jt]s)?$/.test(a));
  return i >= 0 && argv[i + 1] === "node" && argv[i + 2] === "run";
}

const isBird = (argv: readonly string[], name: string) =>
  argv[0] === name || argv[0]?.endsWith(`/${name}`) === true;

interface FamilyStatus {
  readonly running: boolean;
  readonly error?: string;
  readonly peers: BgpRow[];
}

function socketsOf(env: CliIo["env"], family: 4 | 6): string[] {
  const file = family === 4 ? "bird.ctl" : "bird6.ctl";
  const dirs = env.TABBY_BIRD_SOCKET_DIR ? [env.TABBY_BIRD_SOCKET_DIR] : ["/var/run/calico", "/var/run/bird"];
  return dirs.map((d) => join(d, file));
}

async function familyStatus(
  deps: NodeStatusDeps,
  env: CliIo["env"],
  family: 4 | 6,
  birdRuns: boolean,
): Promise<FamilyStatus> {
  const candidates = socketsOf(env, family);
  const present: string[] = [];
  for (const p of candidates) if (await deps.exists(p)) present.push(p);
  if (present.length === 0 && !birdRuns) return { running: false, peers: [] };
  let lastError = "";
  for (const path of present.length > 0 ? present : candidates) {
    let reply: string;
    try {
      reply = await deps.birdCommand(path, "show protocols");
    } catch (e) {
      lastError = `dial unix ${path}: connect: ${(e as Error).message}`;
      continue;
    }
    return { running: true, peers: parseBirdProtocols(reply, family) };
  }
  return { running: true, error: `unable to connect to BIRDv${family} socket: ${lastError}`, peers: [] };
}

function parseArgs(
  argv: readonly string[],
): { output: "table" | "json" | "yaml"; all: boolean } | { error: string } | "help" {
  let output: "table" | "json" | "yaml" = "table";
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") return "help";
    if (a === "--allow-version-mismatch") continue;
    if (a === "--all" || a === "-a") {
      all = true;
      continue;
    }
    const v = a === "-o" || a === "--output" ? argv[++i] : /^(?:-o|--output=)(.+)$/.exec(a)?.[1];
    if (v === undefined) return { error: `unknown option ${JSON.stringify(a)}` };
    if (v !== "json" && v !== "yaml")
      return { error: `output format must be json or yaml, not ${JSON.stringify(v)}` };
    output = v;
  }
  return { output, all };
}

export const NODE_STATUS_USAGE = `Usage:
  tabbyctl node status [-o json|yaml]
  tabbyctl node status --all [-o json|yaml]

Options:
  -h --help          Show this screen.
  -o --output FMT    json or yaml: the same sessions as fields, with the agent's details.

Description:
  Check the status of the node agent (tabby, or calico-node) on this host, and the state of its BGP
  sessions, read from the BIRD control sockets (/var/run/calico/bird.ctl, bird6.ctl) as calicoctl
  reads them. Must run as root.

  --all reads every node's CalicoNodeStatus from the datastore instead (no root needed) and prints
  each node's BGP table from its agent's latest report, warns when a report is stale, and names the
  nodes that have none. Exit status 0 when every session of every node is Established, 3 when not.
`;

export async function runNodeStatus(
  argv: readonly string[],
  io: CliIo,
  deps: NodeStatusDeps,
  ctl: CtlDeps = processDeps,
): Promise<number> {
  const args = parseArgs(argv);
  if (args === "help") {
    io.stdout(NODE_STATUS_USAGE);
    return 0;
  }
  if ("error" in args) {
    io.stderr(`tabbyctl node status: ${args.error}\n\n${NODE_STATUS_USAGE}`);
    return 2;
  }
  if (args.all) {
    const code = await withDatastore(io, ctl, { readOnly: true }, async (ds) => {
      const [nodes, statuses] = await Promise.all([ds.list("Node"), ds.list("CalicoNodeStatus")]);
      const reports = nodeReports(nodes.items, statuses.items, Date.now());
      if (args.output === "json") io.stdout(`${JSON.stringify(reportsDocument(reports), null, 2)}\n`);
      else if (args.output === "yaml") io.stdout(stringify(reportsDocument(reports)));
      else io.stdout(reports.length === 0 ? "No nodes found.\n" : renderNodeReports(reports));
      return allUp(reports) ? 0 : 3;
    }).catch((e: Error) => {
      io.stderr(`tabbyctl node status --all: ${e.message}\n`);
      return 1;
    });
    return code;
  }
  if (deps.uid() !== 0) {
    io.stdout("Need super user privileges: Operation not permitted\n");
    return 1;
  }
  const procs = await deps.processes();
  if (!procs.some(isAgentProcess)) {
    io.stderr("Calico process is not running.\n");
    return 1;
  }
  let v4: FamilyStatus;
  let v6: FamilyStatus;
  try {
    v4 = await familyStatus(
      deps,
      io.env,
      4,
      procs.some((p) => isBird(p, "bird")),
    );
    v6 = await familyStatus(
      deps,
      io.env,
      6,
      procs.some((p) => isBird(p, "bird6")),
    );
  } catch (e) {
    io.stderr(`Error executing command: ${(e as Error).message}\n`);
    return 1;
  }
  if (args.output !== "table") {
    const details = await deps.agentPeers(io.env.TABBY_STATUS_SOCKET || "/var/run/tabby/node.sock");
    const byAddress = new Map((details ?? []).map((d) => [String((d as { address?: unknown }).address), d]));
    const family = (f: FamilyStatus) => ({
      running: f.running,
      ...(f.error !== undefined ? { error: f.error } : {}),
      peers: f.peers.map((r) => ({
        ...r,
        ...(byAddress.has(r.peerAddress) ? { agent: byAddress.get(r.peerAddress) } : {}),
      })),
    });
    const doc = { agent: "running", ipv4: family(v4), ipv6: family(v6) };
    io.stdout(args.output === "json" ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
    return 0;
  }
  let out = "Calico process is running.\n";
  if (!v4.running && !v6.running) out += "\nThe BGP backend process (BIRD) is not running.\n";
  else {
    for (const [n, f] of [
      [4, v4],
      [6, v6],
    ] as const) {
      if (!f.running) {
        out += `\nINFO: BIRDv${n} process: '${n === 4 ? "bird" : "bird6"}' is not running.\n`;
        continue;
      }
      out += `\nIPv${n} BGP status\n`;
      if (f.error !== undefined) out += `Error querying BIRD: ${f.error}`;
      else if (f.peers.length === 0) out += `No IPv${n} peers found.\n`;
      else out += renderPeers(f.peers);
    }
  }
  io.stdout(`${out}\n`);
  return 0;
}

/** The real host: /proc, unix sockets, the agent's status socket. */
export const hostNodeStatusDeps: NodeStatusDeps = {
  uid: () => process.getuid?.() ?? 0,
  async processes() {
    const out: string[][] = [];
    for (const pid of await readdir("/proc").catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (cmdline !== "") out.push(cmdline.split("\0").filter((a) => a !== ""));
    }
    return out;
  },
  birdCommand: (path, command) =>
    new Promise((resolve, reject) => {
      const socket = connect(path);
      let text = "";
      let sent = false;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("i/o timeout"));
      }, 2000);
      socket.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          new Error(
            e.code === "ENOENT"
              ? "no such file or directory"
              : e.code === "ECONNREFUSED"
                ? "connection refused"
                : e.message,
          ),
        );
      });
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (!sent && text.includes("\n")) {
          sent = true;
          text = text.slice(text.indexOf("\n") + 1);
          socket.write(`${command}\n`);
          return;
        }
        // The reply ends with a line whose code is followed by a space.
        if (sent && /(^|\n)\d{4} [^\n]*\n$/.test(text)) {
          clearTimeout(timer);
          socket.end();
          resolve(text);
        }
      });
    }),
  exists: (path) =>
    stat(path).then(
      () => true,
      () => false,
    ),
  agentPeers: (socket) => statusGet<unknown[]>(socket, "/peers").catch(() => undefined),
};
