/**
 * `tabby lab up|down|status|exec`: the command line of the lab (src/lab/lab.ts, docs/lab.md).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { AgentStatus } from "../agent/node-agent.js";
import { statusGet } from "../bgp/status-server.js";
import { labDown, labPlace, labUp, nodeDir, readState, selfCommand } from "../lab/lab.js";
import { LabOptionError, parseUpArgs } from "../lab/plan.js";
import { type NodeSummary, renderNodeSummary } from "../lab/report.js";
import { kubeconfigFile } from "../lab/state.js";
import { systemClock } from "../util/clock.js";
import type { CliIo } from "./io.js";

export const LAB_USAGE = `Usage:
  tabby lab up [--nodes N] [--encap none|ipip|vxlan|crosssubnet|vxlan-backend]
               [--tor bird|frr|none] [--datastore kubernetes|etcdv3] [--pods-per-node N]
               [--web 127.0.0.1:PORT]
  tabby lab status
  tabby lab exec NODE -- COMMAND [ARGS...]
  tabby lab down

up      builds a cluster on this machine (as root) and stays in the foreground until Ctrl-C:
        the datastore, a ToR router peering with every node, N nodes each running
        tabby node run, pods through the CNI plugin; prints the ping matrix of every pod to
        every pod and the ToR's routes, and serves a live topology page on loopback
        (--web, default a free port). Defaults: 3 nodes, --encap none, --tor bird,
        --datastore kubernetes, 2 pods per node.
status  the nodes, their agents and BGP sessions, the pods
exec    runs COMMAND inside NODE's network namespace with that node's environment, so
        \`tabby lab exec node1 -- tabbyctl node status\` reads node1's agent
down    stops and removes everything a lab made, also after up was killed

--encap: none routes pod addresses natively over BGP; ipip and vxlan encapsulate always;
crosssubnet puts half the nodes on a second subnet behind the ToR and encapsulates only across it;
vxlan-backend runs no BGP at all (CALICO_NETWORKING_BACKEND=vxlan). Where the kernel has no
IP-in-IP, ipip and crosssubnet use VXLAN instead and say so.
`;

function onStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}

async function labStatus(io: CliIo): Promise<number> {
  const place = labPlace(io.env);
  const state = readState(place);
  if (state?.plan === undefined) {
    io.stderr("tabby lab status: no lab is up (tabby lab up starts one)\n");
    return 1;
  }
  const plan = state.plan;
  const nodes: NodeSummary[] = [];
  for (const n of plan.nodes) {
    const pods = state.pods.filter((p) => p.node === n.name).map((p) => `${p.name}=${p.ip}`);
    try {
      const s = await statusGet<AgentStatus>(join(nodeDir(place, n.name), "node.sock"), "/status");
      nodes.push({
        name: n.name,
        ip: n.ip,
        agent: s.ready ? "ready" : `not ready: ${s.notReady.join("; ")}`,
        sessions: s.peers.map((p) => ({
          name: p.name,
          state: p.state,
          ...(p.lastError ? { info: p.lastError } : {}),
        })),
        pods,
      });
    } catch {
      nodes.push({ name: n.name, ip: n.ip, agent: "not running", sessions: [], pods });
    }
  }
  io.stdout(
    `lab (${state.phase}, up pid ${state.pid}, since ${state.startedAt}): encap ${plan.options.encap}, ToR ${plan.tor ?? "none"}, datastore ${plan.options.datastore}\n`,
  );
  io.stdout(renderNodeSummary(nodes));
  if (plan.options.datastore === "kubernetes") io.stdout(`KUBECONFIG=${kubeconfigFile(place)}\n`);
  if (state.webUrl !== undefined) io.stdout(`topology page: ${state.webUrl}\n`);
  return 0;
}

async function labExec(argv: readonly string[], io: CliIo): Promise<number> {
  const sep = argv.indexOf("--");
  const node = argv[0];
  const command = sep >= 0 ? argv.slice(sep + 1) : argv.slice(1);
  if (node === undefined || node === "--" || command.length === 0) {
    io.stderr(`tabby lab exec: needs NODE and a command\n\n${LAB_USAGE}`);
    return 2;
  }
  const place = labPlace(io.env);
  const state = readState(place);
  const planned = state?.plan?.nodes.find((n) => n.name === node);
  if (state?.plan === undefined || planned === undefined) {
    const names = state?.plan?.nodes.map((n) => n.name).join(", ");
    io.stderr(
      `tabby lab exec: ${state?.plan ? `no node ${JSON.stringify(node)} in the lab (nodes: ${names})` : "no lab is up"}\n`,
    );
    return 1;
  }
  const dir = nodeDir(place, node);
  const [cmd, ...args] = command as [string, ...string[]];
  const own = cmd === "tabbyctl" || cmd === "tabby" ? selfCommand(cmd) : [cmd];
  const env = {
    ...process.env,
    ...state.datastoreEnv,
    NODENAME: node,
    TABBY_STATUS_SOCKET: join(dir, "node.sock"),
    TABBY_BIRD_SOCKET_DIR: join(dir, "bird"),
    TABBY_CNI_SOCKET: join(dir, "cni.sock"),
  };
  const child = spawn("ip", ["netns", "exec", planned.netns, ...own, ...args], { stdio: "inherit", env });
  return new Promise((resolve) => {
    child.once("error", (e) => {
      io.stderr(`tabby lab exec: ${e.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export async function runLab(argv: readonly string[], io: CliIo): Promise<number> {
  const labIo = { out: io.stdout, err: io.stderr, env: io.env, clock: systemClock };
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === "-h" || verb === "--help" || verb === "help") {
    (verb === undefined ? io.stderr : io.stdout)(LAB_USAGE);
    return verb === undefined ? 2 : 0;
  }
  switch (verb) {
    case "up": {
      if (rest.includes("-h") || rest.includes("--help")) {
        io.stdout(LAB_USAGE);
        return 0;
      }
      let options: ReturnType<typeof parseUpArgs>;
      try {
        options = parseUpArgs(rest);
      } catch (e) {
        if (!(e instanceof LabOptionError)) throw e;
        io.stderr(`tabby lab up: ${e.message}\n\n${LAB_USAGE}`);
        return 2;
      }
      return labUp(options, labIo, onStopSignal());
    }
    case "down":
      if (process.getuid?.() !== 0) {
        io.stderr("tabby lab: needs root (it removes network namespaces): run it as root or with sudo\n");
        return 1;
      }
      return labDown(labPlace(io.env), labIo);
    case "status":
      return labStatus(io);
    case "exec":
      return labExec(rest, io);
    default:
      io.stderr(`tabby lab: unknown command ${JSON.stringify(verb)}\n\n${LAB_USAGE}`);
      return 2;
  }
}
