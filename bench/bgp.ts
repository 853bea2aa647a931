/**
 * `npm run bench:bgp`: BGP ingest and fan-out of tabby against BIRD 2, FRR and GoBGP, in one run on
 * this machine, by the method of ../shared/reference/peer-performance.md: a feeder (bench/feeder.ts)
 * sends N IPv4 /24s (one shared attribute set, ~1000 per UPDATE) over one eBGP session to the daemon,
 * which runs alone in a network namespace with both neighbors passive; a receiver session (bench/
 * receiver.ts, export all) is already up and counts what the daemon passes on.
 *   ingest  = first UPDATE written -> the daemon reports all N in its Loc-RIB (polled)
 *   fanout  = first UPDATE written -> the receiver has all N (timestamped by the receiver, no polling)
 *   rss     = VmHWM (peak RSS) of the daemon's processes at the end
 * Ends with `ratio: <measure> <size> tabby/<daemon> = x` lines (tabby's cost over the other's).
 * Needs root, bird2, frr and gobgpd. Env: BENCH_SIZES=100000,1000000 BENCH_DAEMONS=tabby,bird,frr,gobgp.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { PathAttribute } from "../bgp/codec/attributes.js";
import { packAnnouncements } from "../bgp/codec/update-pack.js";
import { statusGet } from "../src/bgp/status-server.js";
import { connectVeth, Netns } from "../test/harness/netns.js";
import { Bird } from "../test/harness/peers/bird.js";
import { Frr } from "../test/harness/peers/frr.js";
import { Gobgp } from "../test/harness/peers/gobgp.js";
import { unmet } from "../test/harness/requirements.js";
import { Scope } from "../test/harness/scope.js";
import { eventually } from "../test/harness/wait.js";
import { ipv4Slash24 } from "./prefixes.js";

type Daemon = "tabby" | "bird" | "frr" | "gobgp";
const SIZES = (process.env.BENCH_SIZES ?? "100000,1000000").split(",").map(Number);
const DAEMONS = (process.env.BENCH_DAEMONS ?? "tabby,bird,frr,gobgp").split(",") as Daemon[];
const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);

interface Result {
  ingestMs: number;
  fanoutMs: number;
  rssMb: number;
}

function writeStream(n: number): string {
  const attrs: PathAttribute[] = [
    { kind: "origin", code: 1, flags: 0x40, origin: 0 },
    { kind: "as-path", code: 2, flags: 0x40, segments: [{ type: 2, asns: [65001] }] },
    { kind: "next-hop", code: 3, flags: 0x40, nextHop: "10.0.0.1" },
  ];
  const msgs = packAnnouncements(attrs, ipv4Slash24(n), { fourOctetAs: true });
  const file = join(tmpdir(), `tabby-bench-bgp-${n}-${process.pid}.bin`);
  writeFileSync(file, Buffer.concat(msgs.map((m) => Buffer.from(m))));
  return file;
}

function vmHwmMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** JSON lines of a helper process's log. */
function events(logFile: string): { event: string; t: number; [k: string]: unknown }[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

async function waitEvent(logFile: string, name: string, timeoutMs: number): Promise<number> {
  return eventually(
    () => {
      const all = events(logFile);
      const bad = all.find((e) => e.event === "error" || e.event === "notification");
      if (bad) throw new Error(`${logFile}: ${JSON.stringify(bad)}`);
      return all.find((e) => e.event === name)?.t;
    },
    { what: `${name} in ${logFile}`, timeoutMs, intervalMs: 20 },
  );
}

const tabbyEntry = existsSync(new URL("../dist/src/cli/tabby.js", import.meta.url))
  ? new URL("../dist/src/cli/tabby.js", import.meta.url)
  : new URL("../src/cli/tabby.ts", import.meta.url);

/** The scope of the run in progress, closed on Ctrl-C so no namespace or daemon outlives the bench. */
let current: Scope | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function runOne(daemon: Daemon, n: number, stream: string): Promise<Result> {
  const scope = new Scope();
  current = scope;
  try {
    const a = await Netns.create(scope);
    const b = await Netns.create(scope);
    await connectVeth(
      { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "10.0.0.3/24"] },
      { ns: b, name: "eth0", addresses: ["10.0.0.2/24"] },
    );
    const dir = join(tmpdir(), `tabby-bench-bgp-${process.pid}-${daemon}-${n}`);
    await (await import("node:fs/promises")).mkdir(dir, { recursive: true });
    scope.defer("remove bench dir", () =>
      import("node:fs/promises").then((fs) => fs.rm(dir, { recursive: true, force: true })),
    );
    let count: () => Promise<number>;
    let pids: () => number[];
    let pollMs = 100;
    switch (daemon) {
      case "tabby": {
        const socket = join(dir, "bgp.sock");
        const config = join(dir, "speaker.yaml");
        writeFileSync(
          config,
          stringify({
            routerId: "10.0.0.2",
            asn: 65002,
            listen: { address: "10.0.0.2" },
            status: { socket },
            logLevel: "warn",
            peers: [
              {
                address: "10.0.0.1",
                asn: 65001,
                passive: true,
                families: ["ipv4"],
                importPolicy: "ACCEPT_ALL",
                exportPolicy: "REJECT_ALL",
                holdTimeSec: 240,
              },
              {
                address: "10.0.0.3",
                asn: 65003,
                passive: true,
                families: ["ipv4"],
                importPolicy: "REJECT_ALL",
                exportPolicy: "ACCEPT_ALL",
                holdTimeSec: 240,
              },
            ],
          }),
        );
        const args = ["bgp", "run", "--config", config];
        const proc = tabbyEntry.pathname.endsWith(".js")
          ? b.spawn(
              process.execPath,
              // BENCH_TABBY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", for profiling runs.
              [
                ...(process.env.BENCH_TABBY_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
                "--max-old-space-size=4096",
                tabbyEntry.pathname,
                ...args,
              ],
              { logFile: join(dir, "tabby.log") },
            )
          : b.spawnNode(tabbyEntry, args, { logFile: join(dir, "tabby.log") });
        await eventually(() => statusGet(socket, "/summary").then(() => true), {
          what: "tabby status",
          timeoutMs: 30_000,
        });
        count = async () => (await statusGet<{ routes: { ipv4: number } }>(socket, "/summary")).routes.ipv4;
        pids = () => [proc.pid];
        // A clean shutdown (so that --cpu-prof and friends can write their files) before the scope kills it.
        scope.defer("stop tabby", async () => {
          const t = Date.now();
          proc.child.kill("SIGTERM");
          await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 30_000))]);
          process.stderr.write(`  tabby shut down in ${Date.now() - t} ms\n`);
          (await import("node:fs")).copyFileSync(
            join(dir, "tabby.log"),
            join(tmpdir(), "tabby-bench-last.log"),
          );
        });
        pollMs = 50;
        break;
      }
      case "bird": {
        const bird = await Bird.start(scope, b, {
          config: `router id 10.0.0.2;
protocol device { }
protocol bgp feeder { local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 65001; passive on; hold time 240; ipv4 { import all; export none; }; }
protocol bgp recv { local 10.0.0.2 as 65002; neighbor 10.0.0.3 as 65003; passive on; hold time 240; ipv4 { import none; export all; }; }
`,
        });
        count = async () =>
          Number(/(\d+) of \d+ routes/.exec(await bird.birdc("show", "route", "count"))?.[1] ?? 0);
        pids = () => [bird.pid];
        break;
      }
      case "frr": {
        const frr = await Frr.start(scope, b, {
          bgpdArgs: ["-n"],
          config: `frr defaults traditional
hostname bench
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 passive
 neighbor 10.0.0.1 timers 80 240
 neighbor 10.0.0.3 remote-as 65003
 neighbor 10.0.0.3 passive
 neighbor 10.0.0.3 timers 80 240
`,
        });
        count = async () => {
          const j = JSON.parse(await frr.vtysh("show bgp ipv4 unicast summary json")) as {
            peers?: Record<string, { pfxRcd?: number }>;
          };
          return j.peers?.["10.0.0.1"]?.pfxRcd ?? 0;
        };
        const zebraPid = Number(readFileSync(join(frr.dir, "zebra.pid"), "utf8"));
        pids = () => [frr.pid, zebraPid];
        break;
      }
      case "gobgp": {
        const g = await Gobgp.start(scope, b, {
          spec: {
            routerId: "10.0.0.2",
            as: 65002,
            neighbors: [
              { address: "10.0.0.1", as: 65001, passive: true, holdTimeSec: 240 },
              { address: "10.0.0.3", as: 65003, passive: true, holdTimeSec: 240 },
            ],
          },
        });
        count = async () =>
          Number(
            /Destination:\s*(\d+)/.exec(
              (await g.gobgp("global", "rib", "summary", "-a", "ipv4")).stdout,
            )?.[1] ?? 0,
          );
        pids = () => [g.pid];
        pollMs = n >= 1_000_000 ? 1000 : 250; // each poll is a Go process plus gRPC (peer-performance.md)
        break;
      }
    }
    const receiverLog = join(dir, "receiver.log");
    a.spawnNode(
      new URL("./receiver.ts", import.meta.url),
      ["10.0.0.2", "10.0.0.3", "65003", "10.0.0.3", String(n)],
      { logFile: receiverLog },
    );
    await waitEvent(receiverLog, "established", 60_000);
    const feederLog = join(dir, "feeder.log");
    a.spawnNode(new URL("./feeder.ts", import.meta.url), ["10.0.0.2", "65001", "65002", "10.0.0.1", stream], {
      logFile: feederLog,
      env: { ...process.env, FEEDER_LOCAL: "10.0.0.1" },
    });
    const t0 = await waitEvent(feederLog, "first-update", 60_000);
    const tIngest = await eventually(async () => ((await count!()) >= n ? Date.now() : undefined), {
      what: `${daemon} to hold ${n} routes`,
      timeoutMs: 600_000,
      intervalMs: pollMs,
    });
    const tFan = await waitEvent(receiverLog, "done", 600_000);
    const rss = pids!().reduce((s, p) => s + vmHwmMb(p), 0);
    return { ingestMs: tIngest - t0, fanoutMs: tFan - t0, rssMb: rss };
  } finally {
    await scope.close();
  }
}

const missing = unmet(["root", "iproute2", "bird", "frr", "gobgp"]);
if (missing.length > 0) {
  console.error(`bench:bgp needs ${missing.join(", ")}`);
  process.exit(1);
}
const results = new Map<string, Result>();
for (const n of SIZES) {
  const stream = writeStream(n);
  for (const d of DAEMONS) {
    process.stderr.write(`running ${d} ${label(n)}...\n`);
    const r = await runOne(d, n, stream);
    results.set(`${d}|${n}`, r);
    process.stderr.write(
      `  ingest ${r.ingestMs} ms, fanout ${r.fanoutMs} ms, rss ${r.rssMb.toFixed(0)} MB\n`,
    );
  }
  (await import("node:fs")).rmSync(stream, { force: true });
}

console.log(
  `BGP ingest and fan-out, IPv4 /24, one feeding eBGP peer and one receiver (node ${process.version})`,
);
const header = ["daemon", "N", "ingest s", "fan-out s", "peak RSS MB"];
const rows = [...results.entries()].map(([k, r]) => {
  const [d, n] = k.split("|");
  return [
    d!,
    label(Number(n)),
    (r.ingestMs / 1000).toFixed(2),
    (r.fanoutMs / 1000).toFixed(2),
    r.rssMb.toFixed(0),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
console.log("");
for (const n of SIZES) {
  const t = results.get(`tabby|${n}`);
  if (t === undefined) continue;
  for (const d of DAEMONS.filter((x) => x !== "tabby")) {
    const o = results.get(`${d}|${n}`);
    if (o === undefined) continue;
    console.log(`ratio: ingest ${label(n)} tabby/${d} = ${(t.ingestMs / o.ingestMs).toFixed(2)}`);
    console.log(`ratio: fanout ${label(n)} tabby/${d} = ${(t.fanoutMs / o.fanoutMs).toFixed(2)}`);
    console.log(`ratio: rss ${label(n)} tabby/${d} = ${(t.rssMb / o.rssMb).toFixed(2)}`);
  }
}
