/**
 * Agent convergence benchmark: how long from "node A owns a new block" to "node B's kernel routes it".
 *
 * tabby: two nodes running `tabby node run` in a BGP mesh over the lab segment, the embedded Kubernetes
 * API server as datastore. A trial creates A's confirmed BlockAffinity (what IPAM writes when it
 * claims a block; bench/agent-writer.ts, inside the datastore's namespace) and ends when the block's
 * route appears in B's kernel (`ip monitor route` in B). Then the affinity is deleted and the trial
 * waits for the route to go and 50 ms more, so every trial starts from the same quiet state.
 *
 * Calico's own path, in the same run on the same segment: BIRD on A' and B' in iBGP, as calico-node
 * runs it, BIRD's kernel protocol putting the route into B's kernel, measured two ways:
 * - "bird": from the same BlockAffinity write for A' in the same datastore; a confd stand-in in A'
 *   (bench/confd-sim.ts) watches BlockAffinity, rewrites the static route file A's BIRD includes and
 *   runs `birdc configure`. This is the path that matches tabby's from end to end (the ratio lines).
 *   The real confd debounces and renders all its templates on top, so it is a lower bound.
 * - "bird-no-datastore": the file rewrite and `birdc configure` alone, started by the benchmark
 *   itself: BIRD's part of the path without the datastore and the watch.
 * The tabby agents are stopped before the BIRD trials so both paths have the machine to themselves.
 *
 * BENCH_AGENT_TRIALS sets the trials per path (default 100). Ends with
 * `ratio: converge p50 tabby/bird = x.xx`, the p99 line, and the same against bird-no-datastore.
 * Needs root, iproute2 and bird2.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { cpus, release } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Resource } from "../src/api/meta.js";
import { AgentLab } from "../test/agent/agent-lab.js";
import { makeTempDir } from "../test/harness/naming.js";
import type { Netns } from "../test/harness/netns.js";
import { Bird } from "../test/harness/peers/bird.js";
import { Scope } from "../test/harness/scope.js";

const TRIALS = Number(process.env.BENCH_AGENT_TRIALS ?? 100);
const WRITER = fileURLToPath(new URL("./agent-writer.ts", import.meta.url));
const CONFD = fileURLToPath(new URL("./confd-sim.ts", import.meta.url));
const now = () => performance.timeOrigin + performance.now();

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

/** Route additions and deletions in one namespace's kernel, timestamped as they arrive. */
class RouteWatch {
  private readonly proc: ChildProcess;
  private readonly waiters: { prefix: string; deleted: boolean; resolve: (t: number) => void }[] = [];

  constructor(ns: Netns) {
    this.proc = spawn("ip", ["-n", ns.name, "monitor", "route"], { stdio: ["ignore", "pipe", "ignore"] });
    const lines = createInterface({ input: this.proc.stdout! });
    lines.on("line", (line) => {
      const t = now();
      const deleted = line.startsWith("Deleted ");
      const prefix = (deleted ? line.slice(8) : line).split(" ")[0];
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.prefix === prefix && w.deleted === deleted) {
          this.waiters.splice(i, 1);
          w.resolve(t);
        }
      }
    });
  }

  /** Resolves with the arrival time of the next add (or delete) of `prefix`. */
  next(prefix: string, deleted = false, timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no route ${deleted ? "delete" : "add"} of ${prefix}`)),
        timeoutMs,
      );
      this.waiters.push({
        prefix,
        deleted,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  }

  close(): void {
    this.proc.kill();
  }
}

/** bench/agent-writer.ts in the datastore namespace: one line in, `<t0> <t1>` out. */
class AffinityWriter {
  private readonly proc: ChildProcess;
  private readonly replies: ((line: string) => void)[] = [];

  constructor(lab: AgentLab) {
    this.proc = spawn("ip", ["netns", "exec", lab.api.name, process.execPath, "--import", "tsx", WRITER], {
      stdio: ["pipe", "pipe", "inherit"],
      env: { ...process.env, ...lab.dsEnv },
    });
    createInterface({ input: this.proc.stdout! }).on("line", (l) => this.replies.shift()?.(l));
  }

  private reply(): Promise<string> {
    return new Promise((resolve) => this.replies.push(resolve));
  }

  ready(): Promise<string> {
    return this.reply();
  }

  /** Sends one write; resolves with the time just before it was made. */
  async write(op: "add" | "del", node: string, cidr: string): Promise<number> {
    const r = this.reply();
    this.proc.stdin!.write(`${op} ${node} ${cidr}\n`);
    return Number((await r).split(" ")[0]);
  }

  close(): void {
    this.proc.stdin!.end();
  }
}

/** A quiet spell between trials: each one measures a change arriving at an idle cluster. */
const settle = () => new Promise((r) => setTimeout(r, 50));

const blockCidr = (base: string, i: number) => `${base}.${Math.floor(i / 4)}.${(i % 4) * 64}/26`;

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const BIRD_A = (dir: string) => `router id 10.0.0.21;
protocol device {}
protocol static blocks {
  ipv4;
  include "${join(dir, "blocks.conf")}";
}
protocol bgp mesh {
  local 10.0.0.21 as 64512;
  neighbor 10.0.0.22 as 64512;
  ipv4 { import none; export where proto = "blocks"; next hop self; };
}
`;

const BIRD_B = `router id 10.0.0.22;
protocol device {}
protocol kernel {
  ipv4 { import none; export where proto ~ "mesh*"; };
}
protocol bgp mesh {
  local 10.0.0.22 as 64512;
  neighbor 10.0.0.21 as 64512;
  direct;
  ipv4 { gateway direct; import all; export none; };
}
`;

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const lab = await AgentLab.create(scope);
    await lab.apply([
      v3("BGPConfiguration", "default", { nodeToNodeMeshEnabled: true, asNumber: 64512 }),
      v3("IPPool", "bench-pool", {
        cidr: "10.80.0.0/16",
        blockSize: 26,
        ipipMode: "Never",
        vxlanMode: "Never",
      }),
    ]);
    const a = await lab.addNode("a", "10.0.0.11", { TABBY_LOG_LEVEL: "warn" });
    const b = await lab.addNode("b", "10.0.0.12", { TABBY_LOG_LEVEL: "warn" });
    await lab.waitReady(a);
    await lab.waitReady(b);

    const writer = new AffinityWriter(lab);
    await writer.ready();
    const tabbyRoutes = new RouteWatch(b.ns);
    const tabby: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const cidr = blockCidr("10.80", i);
      const seen = tabbyRoutes.next(cidr);
      const t0 = await writer.write("add", "a", cidr);
      tabby.push((await seen) - t0);
      const gone = tabbyRoutes.next(cidr, true);
      await writer.write("del", "a", cidr);
      await gone;
      await settle();
    }
    tabbyRoutes.close();
    await lab.kill9(a);
    await lab.kill9(b);

    const ba = await lab.addHost("ba", "10.0.0.21");
    const bb = await lab.addHost("bb", "10.0.0.22");
    const dir = await makeTempDir(scope);
    const blocksFile = join(dir, "blocks.conf");
    await writeFile(blocksFile, "");
    const birdA = await Bird.start(scope, ba.ns, { config: BIRD_A(dir) });
    await Bird.start(scope, bb.ns, { config: BIRD_B });
    for (let i = 0; i < 300 && !(await birdA.birdc("show", "protocols", "mesh")).includes("Established"); i++)
      await new Promise((r) => setTimeout(r, 100));
    const birdRoutes = new RouteWatch(bb.ns);

    // Calico's path from the datastore write: the confd stand-in in A' turns the affinity into BIRD's config.
    const confd = spawn(
      "ip",
      ["netns", "exec", ba.ns.name, process.execPath, "--import", "tsx", CONFD, "ba", blocksFile, birdA.ctl],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...lab.dsEnv } },
    );
    scope.defer("stop confd-sim", () => {
      confd.kill();
    });
    await new Promise<void>((resolve) =>
      createInterface({ input: confd.stdout! }).once("line", () => resolve()),
    );
    const bird: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const cidr = blockCidr("10.90", i);
      const seen = birdRoutes.next(cidr);
      const t0 = await writer.write("add", "ba", cidr);
      bird.push((await seen) - t0);
      const gone = birdRoutes.next(cidr, true);
      await writer.write("del", "ba", cidr);
      await gone;
      await settle();
    }
    confd.kill();
    writer.close();

    // BIRD's part alone: the benchmark rewrites the file and reloads.
    const birdOnly: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const cidr = blockCidr("10.91", i);
      const seen = birdRoutes.next(cidr);
      const t0 = now();
      await writeFile(blocksFile, `route ${cidr} blackhole;\n`);
      await birdA.birdc("configure");
      birdOnly.push((await seen) - t0);
      const gone = birdRoutes.next(cidr, true);
      await writeFile(blocksFile, "");
      await birdA.birdc("configure");
      await gone;
      await settle();
    }
    birdRoutes.close();

    const fmt = (x: number) => x.toFixed(1);
    console.log(`# agent convergence, ${TRIALS} trials per path; ${cpus().length} CPUs, Linux ${release()}`);
    console.log("# block affinity written for A -> the block's route in B's kernel (ms)");
    const row = (name: string, xs: number[]) =>
      console.log(`${name.padEnd(52)} p50 ${fmt(pct(xs, 50))}  p99 ${fmt(pct(xs, 99))}`);
    row("tabby (datastore write, agent, BGP, felix)", tabby);
    row("bird (datastore write, confd stand-in, BIRD, kernel)", bird);
    row("bird-no-datastore (config rewrite + birdc configure)", birdOnly);
    const ratio = (other: string, xs: number[]) => {
      for (const p of [50, 99])
        console.log(`ratio: converge p${p} tabby/${other} = ${(pct(tabby, p) / pct(xs, p)).toFixed(2)}`);
    };
    ratio("bird", bird);
    ratio("bird-no-datastore", birdOnly);
  } finally {
    await scope.close();
  }
}

await main();
