/**
 * Lab benchmark: `tabby lab up --nodes N` (the built CLI, as a user runs it) from the command to the
 * full ping matrix, for N = 3, 10, 30 (BENCH_LAB_SIZES="3,10,30"), and the resident memory of each
 * node's agent once the lab is up.
 *
 * The comparison in the same run: the lab's ToR is a real BIRD 2 holding a session to every node and
 * every block, so its RSS is printed beside the agents'. BIRD is only calico-node's BGP part (felix and
 * confd come on top in Calico), where a tabby agent is the whole node job, so `rss-per-node
 * tabby/bird` says how much more one agent costs than the BGP daemon alone; it is not a like-for-like
 * calico-node figure. Needs root, iproute2, ping, bird2 and `npm run build` (bench:lab runs it).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";

const SIZES = (process.env.BENCH_LAB_SIZES ?? "3,10,30").split(",").map(Number);
const TABBY = new URL("../dist/src/cli/tabby.js", import.meta.url).pathname;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

interface Result {
  readonly nodes: number;
  readonly upSeconds: number;
  readonly pings: string;
  readonly agentMeanMiB: number;
  readonly agentMaxMiB: number;
  readonly birdMiB: number;
}

async function one(nodes: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), "tabby-bench-lab-"));
  const labDir = join(dir, "lab");
  const env = { ...process.env, TABBY_LAB_DIR: labDir };
  const started = performance.now();
  const child = spawn(process.execPath, [TABBY, "lab", "up", "--nodes", String(nodes)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  try {
    const upAt = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", () => {
        if (/\nlab is up in /.test(out)) resolve(performance.now());
      });
      void exited.then((c) => reject(new Error(`tabby lab up exited ${c}:\n${out}`)));
    });
    const state = JSON.parse(await readFile(join(labDir, "state.json"), "utf8")) as {
      daemons: { what: string; pid: number }[];
    };
    const agents = await Promise.all(
      state.daemons.filter((d) => d.what.startsWith("agent ")).map((d) => rssMiB(d.pid)),
    );
    const bird = state.daemons.find((d) => d.what === "ToR bird");
    return {
      nodes,
      upSeconds: (upAt - started) / 1000,
      pings: /(\d+\/\d+) pings answered/.exec(out)?.[1] ?? "?",
      agentMeanMiB: agents.reduce((a, b) => a + b, 0) / agents.length,
      agentMaxMiB: Math.max(...agents),
      birdMiB: bird ? await rssMiB(bird.pid) : Number.NaN,
    };
  } finally {
    child.kill("SIGINT");
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

const results: Result[] = [];
for (const n of SIZES) {
  process.stderr.write(`lab up --nodes ${n} ...\n`);
  results.push(await one(n));
}
console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Linux ${release()}, Node ${process.version}`,
);
console.log("nodes  up to full ping matrix  pings        agent RSS mean / max  ToR BIRD RSS");
for (const r of results)
  console.log(
    `${String(r.nodes).padEnd(5)}  ${`${r.upSeconds.toFixed(1)} s`.padEnd(22)}  ${r.pings.padEnd(11)}  ${`${r.agentMeanMiB.toFixed(1)} / ${r.agentMaxMiB.toFixed(1)} MiB`.padEnd(20)}  ${r.birdMiB.toFixed(1)} MiB`,
  );
for (const r of results)
  console.log(`ratio: rss-per-node ${r.nodes} tabby/bird = ${(r.agentMeanMiB / r.birdMiB).toFixed(2)}`);
