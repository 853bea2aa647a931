/**
 * `npm run bench:codec`: how fast tabby's BGP codec encodes and decodes UPDATE streams of 1,000,000
 * IPv4 /24 and 1,000,000 IPv6 /48 prefixes (issue #4 target: >= 3,000,000 prefixes/s each way), how
 * much garbage collection that causes, and, in the same run, how long BIRD 2 takes to ingest the same
 * IPv4 stream as a whole daemon (fed by bench/feeder.ts over a veth in network namespaces; needs root
 * and bird). The codec must never be the bottleneck: the ratio lines compare the codec's time with
 * BIRD's whole-daemon ingest (below 0.5 means at least twice BIRD's rate).
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import type { PathAttribute } from "../bgp/codec/attributes.js";
import { MAX_MESSAGE_LEN } from "../bgp/codec/constants.js";
import { MessageFramer } from "../bgp/codec/framing.js";
import { decodeMessage } from "../bgp/codec/message.js";
import type { PrefixList } from "../bgp/codec/prefix-list.js";
import { packAnnouncements } from "../bgp/codec/update-pack.js";
import { ipv4Slash24, ipv6Slash48 } from "./prefixes.js";

const N = Number(process.env.BENCH_N ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const label = N >= 1_000_000 ? `${N / 1_000_000}M` : `${N / 1000}k`;
const ctx = { fourOctetAs: true, maxMessageLen: MAX_MESSAGE_LEN };

const shared = (v6: boolean): PathAttribute[] => [
  { kind: "origin", code: 1, flags: 0x40, origin: 0 },
  { kind: "as-path", code: 2, flags: 0x40, segments: [{ type: 2, asns: [65001, 65010] }] },
  ...(v6 ? [] : [{ kind: "next-hop", code: 3, flags: 0x40, nextHop: "10.0.0.1" } as PathAttribute]),
  { kind: "med", code: 4, flags: 0x80, med: 10 },
  { kind: "communities", code: 8, flags: 0xc0, communities: [0xfde90064] },
];

let gcCount = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
}).observe({ entryTypes: ["gc"] });

/** GC entries reach the observer asynchronously: let them arrive. */
const settle = () => new Promise((r) => setTimeout(r, 50));

function concat(msgs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let p = 0;
  for (const m of msgs) {
    out.set(m, p);
    p += m.length;
  }
  return out;
}

function encodeAll(list: PrefixList): Uint8Array[] {
  return packAnnouncements(
    shared(list.afi === 2),
    list,
    ctx,
    list.afi === 2 ? { nextHop: ["fd00::1", "fe80::1"] } : {},
  );
}

/** Frames a stream in 64 KiB chunks (as a socket delivers it) and decodes every message. */
function decodeAll(stream: Uint8Array): number {
  const framer = new MessageFramer();
  let prefixes = 0;
  for (let off = 0; off < stream.length; off += 65536) {
    for (const m of framer.push(stream.subarray(off, off + 65536))) {
      const u = decodeMessage(m.bytes, ctx);
      if (u.type !== "UPDATE") continue;
      prefixes += u.nlri.count;
      for (const a of u.attributes) if (a.kind === "mp-reach") prefixes += a.nlri.count;
    }
  }
  return prefixes;
}

interface Timing {
  bestMs: number;
  medianMs: number;
  gc: number;
  gcMs: number;
}

async function time(fn: () => void): Promise<Timing> {
  fn(); // warm-up
  const ms: number[] = [];
  await settle();
  const gc0 = gcCount;
  const gcMs0 = gcMs;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    fn();
    ms.push(performance.now() - t);
  }
  await settle();
  ms.sort((a, b) => a - b);
  return {
    bestMs: ms[0]!,
    medianMs: ms[Math.floor(ms.length / 2)]!,
    gc: (gcCount - gc0) / RUNS,
    gcMs: (gcMs - gcMs0) / RUNS,
  };
}

const rows: string[][] = [];
const results: Record<string, { encode: Timing; decode: Timing; bytes: number }> = {};
for (const [name, list] of [
  ["ipv4 /24", ipv4Slash24(N)],
  ["ipv6 /48", ipv6Slash48(N)],
] as const) {
  let msgs: Uint8Array[] = [];
  const encode = await time(() => {
    msgs = encodeAll(list);
  });
  const stream = concat(msgs);
  let got = 0;
  const decode = await time(() => {
    got = decodeAll(stream);
  });
  if (got !== N) throw new Error(`${name}: decoded ${got} prefixes, expected ${N}`);
  results[name] = { encode, decode, bytes: stream.length };
  for (const [what, t] of [
    ["encode", encode],
    ["decode", decode],
  ] as const) {
    rows.push([
      name,
      what,
      `${msgs.length}`,
      `${(stream.length / 1e6).toFixed(1)} MB`,
      `${t.medianMs.toFixed(0)} ms`,
      `${(((N / t.medianMs) * 1000) / 1e6).toFixed(2)} M/s`,
      `${t.gc.toFixed(1)} (${t.gcMs.toFixed(1)} ms)`,
    ]);
  }
  if (name === "ipv4 /24") writeFileSync(join(tmpdir(), `tabby-bench-codec-v4-${process.pid}.bin`), stream);
}

const header = ["table", "op", "updates", "stream", `median of ${RUNS}`, "prefixes/s", "GCs per run"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(`BGP codec, ${label} prefixes per table, Node ${process.version}`);
console.log(fmt(header));
for (const r of rows) console.log(fmt(r));

// BIRD 2 ingesting the same IPv4 stream, whole daemon, in the same run.
const birdMs = await birdIngest(join(tmpdir(), `tabby-bench-codec-v4-${process.pid}.bin`));
if (birdMs === undefined) {
  console.log("\nBIRD ingest: skipped (needs root and bird2); no ratio lines against BIRD");
} else {
  console.log(
    `\nBIRD 2 whole-daemon ingest of the same ${label} IPv4 stream: ${birdMs.toFixed(0)} ms (${(((N / birdMs) * 1000) / 1e6).toFixed(2)} M/s)`,
  );
  const v4 = results["ipv4 /24"]!;
  console.log(`ratio: decode ${label} tabby/bird = ${(v4.decode.medianMs / birdMs).toFixed(2)}`);
  console.log(`ratio: encode ${label} tabby/bird = ${(v4.encode.medianMs / birdMs).toFixed(2)}`);
}
(await import("node:fs")).rmSync(join(tmpdir(), `tabby-bench-codec-v4-${process.pid}.bin`), { force: true });
(await import("node:fs")).rmSync(join(tmpdir(), `tabby-bench-codec-v4-${process.pid}.bin.feeder.log`), {
  force: true,
});
process.exit(0);

async function birdIngest(streamFile: string): Promise<number | undefined> {
  const { unmet } = await import("../test/harness/requirements.js");
  if (unmet(["root", "iproute2", "bird"]).length > 0) return undefined;
  const { Scope } = await import("../test/harness/scope.js");
  const { Netns, connectVeth } = await import("../test/harness/netns.js");
  const { Bird } = await import("../test/harness/peers/bird.js");
  const { eventually } = await import("../test/harness/wait.js");
  const scope = new Scope();
  try {
    const a = await Netns.create(scope);
    const b = await Netns.create(scope);
    await connectVeth(
      { ns: a, name: "eth0", addresses: ["10.0.0.1/24"] },
      { ns: b, name: "eth0", addresses: ["10.0.0.2/24"] },
    );
    const bird = await Bird.start(scope, b, {
      config: `router id 10.0.0.2;
protocol device { }
protocol bgp feeder {
  local 10.0.0.2 as 65002;
  neighbor 10.0.0.1 as 65001;
  passive on;
  hold time 240;
  ipv4 { import all; export none; };
}
`,
    });
    const feeder = a.spawnNode(
      new URL("./feeder.ts", import.meta.url),
      ["10.0.0.2", "65001", "65002", "10.0.0.1", streamFile],
      {
        logFile: `${streamFile}.feeder.log`,
      },
    );
    void feeder;
    const { readFile } = await import("node:fs/promises");
    const start = await eventually(
      async () => {
        const log = await readFile(`${streamFile}.feeder.log`, "utf8").catch(() => "");
        const line = log.split("\n").find((l) => l.includes('"established"'));
        return line ? (JSON.parse(line) as { t: number }).t : undefined;
      },
      { what: "the feeder's session with BIRD", timeoutMs: 30_000 },
    );
    const done = await eventually(
      async () => {
        const out = await bird.birdc("show", "route", "count");
        return new RegExp(`^${N} of ${N} routes`, "m").test(out) ? Date.now() : undefined;
      },
      { what: `BIRD to hold ${N} routes`, timeoutMs: 120_000, intervalMs: 20 },
    );
    return done - start;
  } finally {
    await scope.close();
  }
}
