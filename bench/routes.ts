/**
 * Route programming benchmark (design.md "Performance"): programs 10,000 and 100,000 routes into a fresh
 * network namespace with felix's route table (dump, diff, batched netlink writes), with `ip -batch`, and
 * with one `ip route add` per route, in the same run on the same machine; then times a resync of 100,000
 * unchanged routes (a restarted route table: full dump + diff, zero writes) against `ip route show`.
 * Ends with `ratio: <measure> <size> tabby/<other> = x.xx` lines. Needs root and iproute2.
 * Per-route `ip` at 100k takes minutes; it runs only with BENCH_PER_ROUTE_100K=1. One untimed warm-up
 * round of each tool comes first (felix is a long-lived, JIT-warm process in production).
 * Usage: npm run bench:routes [-- --runs 3]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { systemClock } from "../felix/clock.js";
import { Rtnetlink } from "../felix/netlink/rtnetlink.js";
import { RouteTable } from "../felix/routes/route-table.js";
import { syntheticIpArgs, syntheticIpBatch, syntheticRoutes } from "./routes-synthetic.js";

const logger = pino({ level: "silent" });
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 3) || 3;
const namespaces = new Set<string>();
let nsCounter = 0;

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/** A namespace with eth0 (10.0.0.1/24, up) whose veth peer is up too, so 10.0.0.2 is a valid gateway. */
function freshNamespace(): string {
  const name = `tabbyb-${process.pid}-${++nsCounter}`;
  ip("netns", "add", name);
  namespaces.add(name);
  ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
  ip("-n", name, "link", "set", "eth0", "up");
  ip("-n", name, "link", "set", "eth1", "up");
  ip("-n", name, "addr", "add", "10.0.0.1/24", "dev", "eth0");
  return name;
}

function dropNamespace(name: string): void {
  try {
    ip("netns", "del", name);
  } catch {
    // already gone
  }
  namespaces.delete(name);
}

function cleanup(): void {
  for (const n of [...namespaces]) dropNamespace(n);
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function countRoutes(ns: string): number {
  return ip("-n", ns, "route", "show", "proto", "80")
    .split("\n")
    .filter((l) => l !== "").length;
}

function spawnWait(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    c.on("error", reject);
    c.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}`)),
    );
  });
}

async function timeTabby(n: number): Promise<{ ms: number; ns: string; writes: number }> {
  const ns = freshNamespace();
  const desired = syntheticRoutes(n);
  const nl = Rtnetlink.open({ netnsPath: `/run/netns/${ns}` });
  try {
    const table = new RouteTable({ nl, clock: systemClock, logger });
    const t0 = performance.now();
    table.setDesired(desired);
    const r = await table.apply();
    const ms = performance.now() - t0;
    if (r.errors.length > 0 || r.replaced !== n)
      throw new Error(`tabby: ${r.replaced} written, ${r.errors[0]?.message}`);
    return { ms, ns, writes: r.replaced };
  } finally {
    nl.close();
  }
}

async function timeIpBatch(n: number, dir: string): Promise<{ ms: number; ns: string }> {
  const ns = freshNamespace();
  const file = join(dir, `batch-${n}.txt`);
  writeFileSync(file, syntheticIpBatch(n));
  const t0 = performance.now();
  await spawnWait("ip", ["-n", ns, "-batch", file]);
  return { ms: performance.now() - t0, ns };
}

async function timeIpPerRoute(n: number): Promise<{ ms: number; ns: string }> {
  const ns = freshNamespace();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await spawnWait("ip", ["-n", ns, ...syntheticIpArgs(i)]);
  return { ms: performance.now() - t0, ns };
}

async function timeResync(ns: string, n: number): Promise<{ ms: number; writes: number }> {
  const nl = Rtnetlink.open({ netnsPath: `/run/netns/${ns}` });
  try {
    const table = new RouteTable({ nl, clock: systemClock, logger });
    const t0 = performance.now();
    table.setDesired(syntheticRoutes(n));
    const r = await table.apply();
    const ms = performance.now() - t0;
    if (r.errors.length > 0) throw new Error(r.errors[0]!.message);
    return { ms, writes: r.replaced + r.deleted };
  } finally {
    nl.close();
  }
}

async function timeIpShow(ns: string): Promise<number> {
  const t0 = performance.now();
  await spawnWait("sh", ["-c", `ip -n ${ns} route show proto 80 > /dev/null`]);
  return performance.now() - t0;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:routes needs root (network namespaces)");
  const dir = mkdtempSync(join(tmpdir(), "tabbyb-routes-"));
  const rows: string[][] = [];
  const ratios: string[] = [];
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  const label = (n: number) => `${n / 1000}k`;
  try {
    // Warm-up, not timed: felix runs as a long-lived agent, so its code is JIT-compiled when it programs;
    // `ip` starts cold every time by nature. One round of each at 10k, then the measured runs.
    for (const w of [await timeTabby(10_000), await timeIpBatch(10_000, dir)]) dropNamespace(w.ns);
    for (const n of [10_000, 100_000]) {
      const tabby: number[] = [];
      const batch: number[] = [];
      let resync: { ms: number; writes: number }[] = [];
      let show: number[] = [];
      for (let r = 0; r < runs; r++) {
        // Alternate the order so neither tool always runs on a warmer kernel.
        const first = r % 2 === 0;
        const a = first ? await timeTabby(n) : undefined;
        const b = await timeIpBatch(n, dir);
        const c = first ? undefined : await timeTabby(n);
        const t = (a ?? c)!;
        if (countRoutes(t.ns) !== n || countRoutes(b.ns) !== n) throw new Error("route count mismatch");
        tabby.push(t.ms);
        batch.push(b.ms);
        if (n === 100_000) {
          resync = [...resync, await timeResync(t.ns, n)];
          show = [...show, await timeIpShow(t.ns)];
        }
        dropNamespace(t.ns);
        dropNamespace(b.ns);
      }
      const tm = median(tabby);
      const bm = median(batch);
      rows.push([`program ${label(n)}`, "tabby", fmt(tm), `${Math.round(n / (tm / 1000))}/s`]);
      rows.push([`program ${label(n)}`, "ip -batch", fmt(bm), `${Math.round(n / (bm / 1000))}/s`]);
      ratios.push(`ratio: program ${label(n)} tabby/ip-batch = ${(tm / bm).toFixed(2)}`);
      if (n === 10_000 || process.env.BENCH_PER_ROUTE_100K === "1") {
        const p = await timeIpPerRoute(n);
        dropNamespace(p.ns);
        rows.push([
          `program ${label(n)}`,
          "ip route add (per route)",
          fmt(p.ms),
          `${Math.round(n / (p.ms / 1000))}/s`,
        ]);
        ratios.push(`ratio: program ${label(n)} tabby/ip-per-route = ${(tm / p.ms).toFixed(2)}`);
      }
      if (resync.length > 0) {
        const rm = median(resync.map((x) => x.ms));
        const writes = Math.max(...resync.map((x) => x.writes));
        if (writes !== 0) throw new Error(`resync of unchanged routes wrote ${writes} routes`);
        const sm = median(show);
        rows.push([`resync ${label(n)} unchanged`, "tabby (dump + diff)", fmt(rm), `writes ${writes}`]);
        rows.push([`resync ${label(n)} unchanged`, "ip route show", fmt(sm), "read only"]);
        ratios.push(`ratio: resync ${label(n)} tabby/ip-route-show = ${(rm / sm).toFixed(2)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    cleanup();
  }
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `route programming, ${runs} run(s) each (median); Linux ${release()}, ${ip("-V")
      .trim()
      .replace(/^ip utility, /, "")}, node ${process.version}, ${cpus().length} x ${cpu}`,
  );
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  for (const line of ratios) console.log(line);
}

await main();
