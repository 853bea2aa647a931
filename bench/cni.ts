/**
 * CNI benchmark: ADD and DEL latency (p50/p99 over sequential calls) and ADD throughput with 8 parallel
 * callers, for tabby-cni with the node's agent running (the shim's fast path), tabby-cni on a node
 * without an agent (the Node fallback under the host lock), and, in the same run on the same node, the
 * reference pair a user would otherwise pick: Debian's `ptp` + `host-local`. Every call is exec'd as a
 * runtime does it: the plugin binary with the CNI_* environment and the config on stdin, inside the
 * node's network namespace (through `nsenter --net`, whose own cost is printed as a baseline and is in
 * every figure alike), each ADD into a fresh sandbox namespace made beforehand. tabby's datastore is the
 * embedded Kubernetes API server of the agent lab.
 *
 * BENCH_CNI_CALLS sets the sequential calls per variant (default 200); BENCH_CNI_FALLBACK_CALLS those
 * of the fallback, which starts a Node process per call (default 20). Ends with
 * `ratio: add p50 tabby/ptp-host-local = x.xx` lines. Needs root, iproute2, nsenter and
 * containernetworking-plugins, and `npm run build` first (the shim).
 */
import { cpus, release } from "node:os";
import { join } from "node:path";
import type { LabNode } from "../test/agent/agent-lab.js";
import { CniLab } from "../test/cni/cni-lab.js";
import { run } from "../test/harness/exec.js";
import { makeTempDir } from "../test/harness/naming.js";
import { Netns } from "../test/harness/netns.js";
import { Scope } from "../test/harness/scope.js";

const CALLS = Number(process.env.BENCH_CNI_CALLS ?? 200);
const FALLBACK_CALLS = Number(process.env.BENCH_CNI_FALLBACK_CALLS ?? 20);
const PARALLEL = 8;

interface Variant {
  readonly name: string;
  readonly node: LabNode;
  readonly plugin: string;
  readonly conf: Record<string, unknown>;
  readonly calls: number;
  readonly path: string;
}

interface Figures {
  readonly add: number[];
  readonly del: number[];
  readonly addPerSecond: number;
}

let seq = 0;

async function call(v: Variant, command: string, containerId: string, sandbox: Netns): Promise<number> {
  const t0 = performance.now();
  const r = await run("nsenter", [`--net=/run/netns/${v.node.ns.name}`, v.plugin], {
    allowFailure: true,
    timeoutMs: 60_000,
    input: JSON.stringify(v.conf),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/run/netns/${sandbox.name}`,
      CNI_IFNAME: "eth0",
      CNI_ARGS: "",
      CNI_PATH: v.path,
    },
  });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`${v.name} ${command} exited ${r.code}: ${r.stdout} ${r.stderr}`);
  return ms;
}

async function measure(scope: Scope, v: Variant): Promise<Figures> {
  const sandboxes = await Promise.all(Array.from({ length: v.calls }, () => Netns.create(scope)));
  const ids = sandboxes.map(() => `b${(++seq).toString(16).padStart(10, "0")}${"c".repeat(22)}`);
  const add: number[] = [];
  const del: number[] = [];
  for (let i = 0; i < v.calls; i++) add.push(await call(v, "ADD", ids[i]!, sandboxes[i]!));
  for (let i = 0; i < v.calls; i++) del.push(await call(v, "DEL", ids[i]!, sandboxes[i]!));
  // Throughput: the same sandboxes again, PARALLEL callers taking the next one as each finishes.
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let i = next++; i < v.calls; i = next++) await call(v, "ADD", ids[i]!, sandboxes[i]!);
    }),
  );
  const addPerSecond = v.calls / ((performance.now() - t0) / 1000);
  for (let i = 0; i < v.calls; i++) await call(v, "DEL", ids[i]!, sandboxes[i]!);
  for (const s of sandboxes) await s.destroy();
  return { add, del, addPerSecond };
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const scope = new Scope();
  try {
    const cni = await CniLab.create(scope);
    await cni.createObjects(
      ["n1", "n0"].map((name) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: {} })),
    );
    const node = await cni.lab.addNode("n1", "10.0.0.11", { TABBY_LOG_LEVEL: "warn" });
    const bare = await cni.lab.addHost("n0", "10.0.0.10");
    await cni.lab.waitReady(node);
    await cni.apply([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "bench" },
        spec: { cidr: "10.70.0.0/16", blockSize: 26, ipipMode: "Never", vxlanMode: "Never" },
      },
    ]);
    const dataDir = join(await makeTempDir(scope), "host-local");
    const path = `${cni.binDir}:/usr/lib/cni`;
    const tabbyConf = (n: LabNode) => ({
      cniVersion: "1.0.0",
      name: "k8s-pod-network",
      ...cni.conflistPlugin(n, { log_level: "warn" }),
    });
    const variants: Variant[] = [
      {
        name: "ptp-host-local",
        node,
        plugin: "/usr/lib/cni/ptp",
        conf: {
          cniVersion: "1.0.0",
          name: "ref-net",
          type: "ptp",
          ipam: { type: "host-local", subnet: "10.90.0.0/16", dataDir },
        },
        calls: CALLS,
        path,
      },
      {
        name: "tabby (agent)",
        node,
        plugin: join(cni.binDir, "tabby-cni"),
        conf: tabbyConf(node),
        calls: CALLS,
        path,
      },
      {
        name: "tabby (no agent)",
        node: bare,
        plugin: join(cni.binDir, "tabby-cni"),
        conf: tabbyConf(bare),
        calls: FALLBACK_CALLS,
        path,
      },
    ];
    const base: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await run("nsenter", [`--net=/run/netns/${node.ns.name}`, "/bin/true"]);
      base.push(performance.now() - t0);
    }

    const results = new Map<string, Figures>();
    for (const v of variants) {
      // One warm-up ADD/DEL pair, not counted: the first call claims the block, the page cache fills.
      const warm = await Netns.create(scope);
      await call(v, "ADD", "warmup", warm);
      await call(v, "DEL", "warmup", warm);
      await warm.destroy();
      results.set(v.name, await measure(scope, v));
    }

    console.log(
      `CNI benchmark, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, kernel ${release()}, Node ${process.version}`,
    );
    console.log(
      `baseline: nsenter --net + exec /bin/true p50 ${pct(base, 50).toFixed(1)} ms (in every figure)`,
    );
    console.log("| plugin | calls | ADD p50 | ADD p99 | DEL p50 | DEL p99 | ADD/s, 8 parallel |");
    console.log("|---|---|---|---|---|---|---|");
    for (const v of variants) {
      const f = results.get(v.name)!;
      console.log(
        `| ${v.name} | ${v.calls} | ${pct(f.add, 50).toFixed(1)} ms | ${pct(f.add, 99).toFixed(1)} ms | ${pct(f.del, 50).toFixed(1)} ms | ${pct(f.del, 99).toFixed(1)} ms | ${f.addPerSecond.toFixed(1)} |`,
      );
    }
    const ref = results.get("ptp-host-local")!;
    for (const [label, name] of [
      ["tabby", "tabby (agent)"],
      ["tabby-no-agent", "tabby (no agent)"],
    ] as const) {
      const f = results.get(name)!;
      console.log(
        `ratio: add p50 ${label}/ptp-host-local = ${(pct(f.add, 50) / pct(ref.add, 50)).toFixed(2)}`,
      );
      console.log(
        `ratio: del p50 ${label}/ptp-host-local = ${(pct(f.del, 50) / pct(ref.del, 50)).toFixed(2)}`,
      );
      console.log(
        `ratio: add-time 8-parallel ${label}/ptp-host-local = ${(ref.addPerSecond / f.addPerSecond).toFixed(2)}`,
      );
    }
  } finally {
    await scope.close();
  }
}

await main();
