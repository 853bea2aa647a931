/**
 * Mesh-scale benchmark: one node agent in a node-to-node mesh with N simulated nodes, each a Node resource in the datastore (real etcd) and a live iBGP session from a
 * light speaker (bench/mesh-sim.ts, one process for all of them, dialing from its own address) that
 * announces the node's block. Measured from the agent's start: every session Established, and every
 * block's route in the agent's kernel; then the agent's RSS and CPU time.
 *
 * Against the tool calico-node runs for this, in the same run: BIRD 2 with the same N peers (the
 * configuration confd renders for a mesh: one `protocol bgp` per node, passive, as the lower address
 * side is) and its kernel protocol, fed by the same simulated speakers.
 *
 * BENCH_MESH_SIZES (default "100,500"); BENCH_MESH_DEBUG=1 prints the sessions while waiting. Ends with `ratio: mesh-ready <N> tabby/bird = x.xx` and
 * `ratio: rss <N> tabby/bird = x.xx` lines. Needs root, iproute2, etcd and bird2.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Resource } from "../src/api/meta.js";
import { AgentLab, type LabNode } from "../test/agent/agent-lab.js";
import { run } from "../test/harness/exec.js";
import { makeTempDir } from "../test/harness/naming.js";
import { connectToBridge, Netns } from "../test/harness/netns.js";
import { Bird } from "../test/harness/peers/bird.js";
import { Scope } from "../test/harness/scope.js";

const SIZES = (process.env.BENCH_MESH_SIZES ?? "100,500").split(",").map(Number);
const SIM = fileURLToPath(new URL("./mesh-sim.ts", import.meta.url));
const AS = 64512;
const TICKS_PER_SECOND = 100;

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

/** Simulated node i: its address (on-link through 10.2.0.0/16) and its block. */
const simAddress = (i: number) => `10.2.${Math.floor((i + 10) / 250)}.${((i + 10) % 250) + 1}`;
const simBlock = (i: number) => `10.128.${Math.floor(i / 4)}.${(i % 4) * 64}/26`;

interface Figures {
  readonly establishedMs: number;
  readonly routedMs: number;
  readonly rssMb: number;
  readonly cpuS: number;
}

function procFigures(pid: number): { rssMb: number; cpuS: number } {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return { rssMb: rss, cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND };
}

async function countRoutes(ns: Netns, protocol: string): Promise<number> {
  const out = (await ns.ip("-4", "route", "show", "proto", protocol)).stdout;
  return out.split("\n").filter((l) => l.startsWith("10.128.")).length;
}

async function until(what: string, timeoutMs: number, f: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The simulated speakers, dialing `peer` from their addresses in `sim`. */
function startSim(sim: Netns, peer: string, addressesFile: string): ChildProcess {
  return spawn(
    "ip",
    ["netns", "exec", sim.name, process.execPath, "--import", "tsx", SIM, peer, String(AS), addressesFile],
    { stdio: ["ignore", process.env.BENCH_MESH_DEBUG ? "inherit" : "ignore", "inherit"] },
  );
}

async function measureTabby(scope: Scope, n: number): Promise<Figures> {
  const lab = await AgentLab.create(scope, "etcdv3");
  const dir = await makeTempDir(scope);
  const nodes = Array.from({ length: n }, (_, i) =>
    v3("Node", `sim-${i}`, { bgp: { ipv4Address: `${simAddress(i)}/16` } }),
  );
  await lab.apply([
    v3("BGPConfiguration", "default", { nodeToNodeMeshEnabled: true, asNumber: AS }),
    v3("IPPool", "mesh-pool", { cidr: "10.128.0.0/9", blockSize: 26, ipipMode: "Never", vxlanMode: "Never" }),
    ...nodes,
  ]);
  const sim = await simNamespace(scope, lab, dir, n);
  const agent: LabNode = await lab.addHost("a", "10.0.0.11", { TABBY_LOG_LEVEL: "warn" });
  await agent.ns.ip("addr", "add", "10.2.0.1/16", "dev", "eth0");
  const t0 = Date.now();
  lab.start(agent);
  const simProc = startSim(sim.ns, "10.0.0.11", sim.file);
  let establishedMs = 0;
  try {
    await until(`${n} sessions Established`, 600_000, async () => {
      const s = await lab.status(agent).catch(() => undefined);
      if (process.env.BENCH_MESH_DEBUG)
        console.error(JSON.stringify(s?.peers.map((p) => [p.name, p.state, p.lastError])));
      return (s?.peers.filter((p) => p.state === "Established").length ?? 0) >= n;
    });
    establishedMs = Date.now() - t0;
    await until(
      `${n} routes in the agent's kernel`,
      600_000,
      async () => (await countRoutes(agent.ns, "12")) >= n,
    );
    const routedMs = Date.now() - t0;
    return { establishedMs, routedMs, ...procFigures(agent.proc!.pid) };
  } finally {
    simProc.kill();
  }
}

async function measureBird(scope: Scope, n: number): Promise<Figures> {
  const lab = await AgentLab.create(scope, "etcdv3");
  const dir = await makeTempDir(scope);
  const sim = await simNamespace(scope, lab, dir, n);
  const host = await lab.addHost("b", "10.0.0.11");
  await host.ns.ip("addr", "add", "10.2.0.1/16", "dev", "eth0");
  const peers = Array.from(
    { length: n },
    (_, i) => `protocol bgp Mesh_${i} {
  local 10.0.0.11 as ${AS};
  neighbor ${simAddress(i)} as ${AS};
  passive on;
  direct;
  ipv4 { gateway direct; import all; export none; };
}`,
  ).join("\n");
  const config = `router id 10.0.0.11;
protocol device {}
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
${peers}
`;
  const t0 = Date.now();
  const bird = await Bird.start(scope, host.ns, { config });
  const simProc = startSim(sim.ns, "10.0.0.11", sim.file);
  let establishedMs = 0;
  try {
    await until(`${n} BIRD sessions Established`, 600_000, async () => {
      const out = await bird.birdc("show", "protocols");
      return (out.match(/Established/g)?.length ?? 0) >= n;
    });
    establishedMs = Date.now() - t0;
    await until(
      `${n} routes in BIRD's kernel`,
      600_000,
      async () => (await countRoutes(host.ns, "bird")) >= n,
    );
    const routedMs = Date.now() - t0;
    return { establishedMs, routedMs, ...procFigures(bird.pid) };
  } finally {
    simProc.kill();
  }
}

/** A namespace on the lab segment holding every simulated node's address, and the sim's address file. */
async function simNamespace(scope: Scope, lab: AgentLab, dir: string, n: number) {
  const ns = await Netns.create(scope);
  await connectToBridge(lab.sw, "br0", "psim", { ns, name: "eth0", addresses: ["10.0.0.200/24"] });
  const batch = Array.from({ length: n }, (_, i) => `addr add ${simAddress(i)}/16 dev eth0`).join("\n");
  await writeFile(join(dir, "addrs.batch"), `${batch}\n`);
  await run("ip", ["-n", ns.name, "-batch", join(dir, "addrs.batch")]);
  const file = join(dir, "sim.txt");
  await writeFile(file, Array.from({ length: n }, (_, i) => `${simAddress(i)} ${simBlock(i)}`).join("\n"));
  return { ns, file };
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const ratios: string[] = [];
  for (const n of SIZES) {
    const figures: Record<string, Figures> = {};
    for (const [name, measure] of [
      ["tabby", measureTabby],
      ["bird", measureBird],
    ] as const) {
      const scope = new Scope();
      try {
        figures[name] = await measure(scope, n);
      } finally {
        await scope.close();
      }
      const f = figures[name]!;
      lines.push(
        `${String(n).padStart(4)} nodes  ${name.padEnd(5)}  established ${(f.establishedMs / 1000).toFixed(2)} s  ` +
          `routed ${(f.routedMs / 1000).toFixed(2)} s  rss ${f.rssMb.toFixed(1)} MB  cpu ${f.cpuS.toFixed(2)} s`,
      );
      console.error(lines.at(-1));
    }
    const t = figures.tabby!;
    const b = figures.bird!;
    ratios.push(`ratio: mesh-ready ${n} tabby/bird = ${(t.routedMs / b.routedMs).toFixed(2)}`);
    ratios.push(`ratio: rss ${n} tabby/bird = ${(t.rssMb / b.rssMb).toFixed(2)}`);
  }
  console.log(`# mesh scale: one node, N simulated mesh nodes; ${cpus().length} CPUs, Linux ${release()}`);
  console.log("# from start: all sessions Established, all N blocks routed in the kernel; RSS and CPU after");
  for (const l of lines) console.log(l);
  for (const r of ratios) console.log(r);
}

await main();
