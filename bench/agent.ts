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
 * runs it. A trial rewrites the static route file A's BIRD includes and runs `birdc configure` (what
 * confd does on a block change), and ends when BIRD's kernel protocol on B' has put the route in the
 * kernel. Calico's confd adds its own watch-to-render delay on top; it is not counted here, so the
 * BIRD figure is a lower bound for calico-node.
 *
 * BENCH_AGENT_TRIALS sets the trials per path (default 100). Ends with
 * `ratio: converge p50 tabby/bird = x.xx` and the p99 line. Needs root, iproute2 and bird2.
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
    writer.close();
    tabbyRoutes.close();

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
    const bird: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const cidr = blockCidr("10.90", i);
      const seen = birdRoutes.next(cidr);
      const t0 = now();
      await writeFile(blocksFile, `route ${cidr} blackhole;\n`);
      await birdA.birdc("configure");
      bird.push((await seen) - t0);
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
    console.log(`tabby (agent, embedded API server)  p50 ${fmt(pct(tabby, 50))}  p99 ${fmt(pct(tabby, 99))}`);
    console.log(`bird (config rewrite + birdc)       p50 ${fmt(pct(bird, 50))}  p99 ${fmt(pct(bird, 99))}`);
    console.log(`ratio: converge p50 tabby/bird = ${(pct(tabby, 50) / pct(bird, 50)).toFixed(2)}`);
    console.log(`ratio: converge p99 tabby/bird = ${(pct(tabby, 99) / pct(bird, 99)).toFixed(2)}`);
  } finally {
    await scope.close();
  }
}

await main();
