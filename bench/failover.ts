/**
 * `npm run bench:failover`: how long a silently dead upstream link keeps a route alive downstream, with
 * tabby and with BIRD 2 as the router in the middle, in one run on this machine. Three network
 * namespaces in a line:
 *
 *   U (BIRD, AS 65010, announces 203.0.113.0/24) --veth-- D (device under test, AS 65020) --veth-- R
 *   (BIRD, AS 65030, `protocol kernel` export all: the route lands in R's kernel)
 *
 * The failure: nft in U's namespace drops everything in and out of U's end of the link, so nothing tells
 * D; its BFD (300 ms × 3, case "bfd") or its hold timer (9 s, keepalive 3 s, no BFD, case "hold") must
 * notice. Measured from the cut (the nft command returned) to
 *   locrib  = the route gone from D's Loc-RIB (tabby: GET /rib on its status socket; BIRD: `birdc show
 *             route`; both polled every 10 ms), and
 *   kernel  = the route gone from R's kernel (`ip monitor route` in R, timestamped on arrival),
 * and, to take out the phase of U's last packet before the cut, silence = from the last BFD packet (case
 * bfd) or BGP message (case hold) D received from U (tshark in D) to the route gone from R's kernel. Median of BENCH_FAILOVER_BFD_TRIALS
 * (5) and BENCH_FAILOVER_HOLD_TRIALS (3) cuts per daemon and case; ends with
 * `ratio: failover <case> tabby/bird = x` (kernel medians). Needs root, iproute2, bird2, nft, tshark.
 * Not measured: convergence onto a backup path (there is none), the data plane.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, release, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { statusGet } from "../src/bgp/status-server.js";
import { run } from "../test/harness/exec.js";
import { connectVeth, Netns } from "../test/harness/netns.js";
import { Bird } from "../test/harness/peers/bird.js";
import { unmet } from "../test/harness/requirements.js";
import { Scope } from "../test/harness/scope.js";
import { eventually } from "../test/harness/wait.js";

type Dut = "tabby" | "bird";
type Case = "bfd" | "hold";
const PREFIX = "203.0.113.0/24";
const TRIALS: Record<Case, number> = {
  bfd: Number(process.env.BENCH_FAILOVER_BFD_TRIALS ?? 5),
  hold: Number(process.env.BENCH_FAILOVER_HOLD_TRIALS ?? 3),
};
/** Hold / keepalive per case; with BFD the hold timer is left long so that only BFD can fire. */
const TIMERS: Record<Case, { hold: number; keepalive: number }> = {
  bfd: { hold: 90, keepalive: 30 },
  hold: { hold: 9, keepalive: 3 },
};
const POLL_MS = 10;
/**
 * Capture filter for what U sends D that restarts D's detection: BFD packets with BFD, BGP messages (TCP
 * segments with payload, not bare ACKs) without.
 */
const FROM_U: Record<Case, string> = {
  bfd: "src host 10.0.1.1 and udp port 3784",
  hold: "src host 10.0.1.1 and tcp port 179 and (ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2)) != 0",
};

interface Trial {
  readonly locRibMs: number;
  readonly kernelMs: number;
  readonly silenceMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const retry = "connect retry time 1; connect delay time 1; error wait time 1, 5;";
const bfdProto = (ifname: string) =>
  `protocol bfd { interface "${ifname}" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; }; }\n`;

function upstreamBird(c: Case): string {
  const t = TIMERS[c];
  return `router id 10.0.1.1;
protocol device { }
protocol static s4 { ipv4; route ${PREFIX} blackhole; }
${c === "bfd" ? bfdProto("eth0") : ""}protocol bgp d {
  local 10.0.1.1 as 65010; neighbor 10.0.1.2 as 65020;
  ${c === "bfd" ? "bfd on; " : ""}hold time ${t.hold}; keepalive time ${t.keepalive}; ${retry}
  ipv4 { import none; export all; };
}
`;
}

function dutBird(c: Case): string {
  const t = TIMERS[c];
  return `router id 10.0.1.2;
protocol device { }
${c === "bfd" ? bfdProto("up0") : ""}protocol bgp u {
  local 10.0.1.2 as 65020; neighbor 10.0.1.1 as 65010;
  ${c === "bfd" ? "bfd on; " : ""}hold time ${t.hold}; keepalive time ${t.keepalive}; ${retry}
  ipv4 { import all; export none; };
}
protocol bgp r {
  local 10.0.2.1 as 65020; neighbor 10.0.2.2 as 65030; ${retry}
  ipv4 { import none; export all; };
}
`;
}

const downstreamBird = `router id 10.0.2.2;
protocol device { }
protocol kernel { ipv4 { import none; export all; }; }
protocol bgp d {
  local 10.0.2.2 as 65030; neighbor 10.0.2.1 as 65020; ${retry}
  ipv4 { import all; export none; };
}
`;

function dutTabby(c: Case, socket: string): Record<string, unknown> {
  const t = TIMERS[c];
  return {
    routerId: "10.0.1.2",
    asn: 65020,
    listen: { address: "::" },
    status: { socket },
    logLevel: "warn",
    idleHoldSec: { initial: 1, max: 1 },
    peers: [
      {
        address: "10.0.1.1",
        asn: 65010,
        localAddress: "10.0.1.2",
        importPolicy: "ACCEPT_ALL",
        exportPolicy: "REJECT_ALL",
        holdTimeSec: t.hold,
        keepaliveSec: t.keepalive,
        ...(c === "bfd" ? { bfd: { minRxMs: 300, minTxMs: 300, multiplier: 3 } } : {}),
      },
      {
        address: "10.0.2.2",
        asn: 65030,
        localAddress: "10.0.2.1",
        importPolicy: "REJECT_ALL",
        exportPolicy: "ACCEPT_ALL",
      },
    ],
  };
}

/** A long-running command whose stdout lines are handed over with their arrival time (Date.now()). */
function watchLines(scope: Scope, cmd: string, args: string[], onLine: (line: string, at: number) => void) {
  const child: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    const at = Date.now();
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const l of lines) onLine(l, at);
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  scope.defer(`stop ${cmd} ${args.join(" ")}`, () => {
    child.kill("SIGKILL");
  });
  return { stderr: () => err };
}

interface Dataplane {
  /** D's session to U Established (and BFD Up at 300 ms), the route in D and in R's kernel. */
  ready(): Promise<void>;
  locRibHas(): Promise<boolean>;
}

async function runCase(dut: Dut, c: Case): Promise<Trial[]> {
  const scope = new Scope();
  current = scope;
  try {
    const u = await Netns.create(scope);
    const d = await Netns.create(scope);
    const r = await Netns.create(scope);
    await connectVeth(
      { ns: u, name: "eth0", addresses: ["10.0.1.1/24"] },
      { ns: d, name: "up0", addresses: ["10.0.1.2/24"] },
    );
    await connectVeth(
      { ns: d, name: "down0", addresses: ["10.0.2.1/24"] },
      { ns: r, name: "eth0", addresses: ["10.0.2.2/24"] },
    );
    const dir = await mkdtemp(join(tmpdir(), "tabby-bench-failover-"));
    scope.defer("remove bench dir", () => rm(dir, { recursive: true, force: true }));

    // Before any daemon: R's kernel routes as they change, and every packet D gets from U.
    let kernelGoneAt: number | undefined;
    watchLines(scope, "ip", ["-n", r.name, "monitor", "route"], (l, at) => {
      if (kernelGoneAt === undefined && l.startsWith(`Deleted ${PREFIX}`)) kernelGoneAt = at;
    });
    let lastFromU = 0;
    const tshark = ["-i", "up0", "-l", "-n", "-Q", "-T", "fields", "-e", "frame.time_epoch", "-f", FROM_U[c]];
    const cap = watchLines(scope, "ip", ["netns", "exec", d.name, "tshark", ...tshark], (l) => {
      const t = Number(l) * 1000;
      if (Number.isFinite(t) && t > 0) lastFromU = Math.max(lastFromU, t);
    });

    await Bird.start(scope, r, { config: downstreamBird });
    await Bird.start(scope, u, { config: upstreamBird(c) });
    let plane: Dataplane;
    if (dut === "tabby") {
      const socket = join(dir, "bgp.sock");
      const configFile = join(dir, "speaker.yaml");
      await writeFile(configFile, stringify(dutTabby(c, socket)));
      d.spawnNode(new URL("../src/cli/tabby.ts", import.meta.url), ["bgp", "run", "--config", configFile], {
        logFile: join(dir, "tabby.log"),
      });
      await eventually(() => statusGet(socket, "/summary").then(() => true), {
        what: "tabby bgp run to serve status",
        timeoutMs: 30_000,
      });
      type Peer = {
        address: string;
        state: string;
        bfd?: { state: string; polling?: boolean; txIntervalMs?: number };
      };
      const upstream = async () =>
        (await statusGet<Peer[]>(socket, "/peers")).find((p) => p.address === "10.0.1.1");
      const locRibHas = async () =>
        (await statusGet<{ best?: boolean }[]>(socket, `/rib?family=ipv4&prefix=${PREFIX}`)).some(
          (p) => p.best,
        );
      plane = {
        locRibHas,
        ready: async () => {
          await eventually(
            async () => {
              const p = await upstream();
              if (p?.state !== "Established") return false;
              return (
                c === "hold" ||
                (p.bfd?.state === "Up" && p.bfd.polling === false && p.bfd.txIntervalMs === 300)
              );
            },
            {
              what: `tabby's session to U Established${c === "bfd" ? " with BFD Up" : ""}`,
              timeoutMs: 60_000,
            },
          );
          await eventually(locRibHas, { what: "the route in tabby's Loc-RIB", timeoutMs: 30_000 });
        },
      };
    } else {
      const bird = await Bird.start(scope, d, { config: dutBird(c) });
      // birdc exits 1 with "Network not found" once the route is gone.
      const locRibHas = async () =>
        (
          await run("birdc", ["-s", bird.ctl, "show", "route", PREFIX], { allowFailure: true })
        ).stdout.includes(PREFIX);
      plane = {
        locRibHas,
        ready: async () => {
          await eventually(
            async () => {
              if (!/BGP state:\s+Established/.test(await bird.birdc("show", "protocols", "all", "u")))
                return false;
              return (
                c === "hold" || /10\.0\.1\.1\s+up0\s+Up/.test(await bird.birdc("show", "bfd", "sessions"))
              );
            },
            {
              what: `BIRD's session to U Established${c === "bfd" ? " with BFD Up" : ""}`,
              timeoutMs: 60_000,
            },
          );
          await eventually(locRibHas, { what: "the route in BIRD's table", timeoutMs: 30_000 });
        },
      };
    }
    const kernelHas = async () =>
      (JSON.parse((await r.ip("-j", "route", "show", PREFIX)).stdout || "[]") as unknown[]).length > 0;
    await eventually(() => lastFromU > 0 || undefined, {
      what: `tshark in D to see U's packets (${cap.stderr().slice(-300)})`,
      timeoutMs: 30_000,
    });

    await u.exec("nft", ["add table inet cut"]);
    await u.exec("nft", ["add chain inet cut in { type filter hook input priority 0 ; }"]);
    await u.exec("nft", ["add chain inet cut out { type filter hook output priority 0 ; }"]);
    const rules = join(dir, "cut.nft");
    await writeFile(
      rules,
      'add rule inet cut in iifname "eth0" drop\nadd rule inet cut out oifname "eth0" drop\n',
    );

    const trials: Trial[] = [];
    for (let i = 0; i < TRIALS[c]; i++) {
      await plane.ready();
      await eventually(kernelHas, { what: "the route in R's kernel", timeoutMs: 30_000 });
      kernelGoneAt = undefined;
      await u.exec("nft", ["-f", rules]);
      // The rules are in force before nft exits; the few ms after that are its exit.
      const cutAt = Date.now();
      let locRibGoneAt: number | undefined;
      const deadline = cutAt + TIMERS[c].hold * 1000 + 20_000;
      while (locRibGoneAt === undefined && Date.now() < deadline) {
        if (!(await plane.locRibHas())) locRibGoneAt = Date.now();
        else await sleep(POLL_MS);
      }
      if (locRibGoneAt === undefined) throw new Error(`${dut}/${c}: the route stayed in D's Loc-RIB`);
      const goneAt = await eventually(() => kernelGoneAt, {
        what: "the route to leave R's kernel",
        timeoutMs: 20_000,
      });
      // Nothing of U's gets through after the cut, so its last packet seen is the one before it.
      const silenceFrom = lastFromU;
      const t: Trial = {
        locRibMs: locRibGoneAt - cutAt,
        kernelMs: goneAt - cutAt,
        silenceMs: Math.round(goneAt - silenceFrom),
      };
      trials.push(t);
      process.stderr.write(
        `  ${dut} ${c} #${i + 1}: Loc-RIB ${t.locRibMs} ms, R's kernel ${t.kernelMs} ms after the cut (${t.silenceMs} ms after U's last packet)\n`,
      );
      await run("ip", ["netns", "exec", u.name, "nft", "flush", "chain", "inet", "cut", "in"]);
      await run("ip", ["netns", "exec", u.name, "nft", "flush", "chain", "inet", "cut", "out"]);
    }
    return trials;
  } finally {
    await scope.close();
  }
}

/** The scope of the case in progress, closed on Ctrl-C so no namespace or daemon outlives the bench. */
let current: Scope | undefined;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

const missing = unmet(["root", "iproute2", "bird", "nft", "tshark"]);
if (missing.length > 0) {
  console.error(`bench:failover needs ${missing.join(", ")}`);
  process.exit(1);
}
const results = new Map<string, Trial[]>();
for (const c of ["bfd", "hold"] as const)
  for (const dut of ["tabby", "bird"] as const) {
    process.stderr.write(`${dut}, ${c === "bfd" ? "BFD 300 ms x 3" : "hold time 9 s, no BFD"}...\n`);
    results.set(`${dut}|${c}`, await runCase(dut, c));
  }

console.log(
  `failover after a silent upstream cut: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, Linux ${release()}, Node ${process.version}`,
);
const header = [
  "case",
  "D",
  "cuts",
  "Loc-RIB med",
  "R kernel med",
  "R kernel min-max",
  "after U's last packet",
];
const rows = [...results.entries()].map(([k, ts]) => {
  const [dut, c] = k.split("|");
  const ms = (x: number) => `${Math.round(x)} ms`;
  return [
    c === "bfd" ? "BFD 300 ms x 3" : "hold 9 s",
    dut === "tabby" ? "tabby" : "BIRD 2",
    String(ts.length),
    ms(median(ts.map((t) => t.locRibMs))),
    ms(median(ts.map((t) => t.kernelMs))),
    `${Math.min(...ts.map((t) => t.kernelMs))}-${Math.max(...ts.map((t) => t.kernelMs))} ms`,
    ms(median(ts.map((t) => t.silenceMs))),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) console.log(r.map((x, i) => x.padEnd(widths[i]!)).join("  "));
console.log("");
for (const c of ["bfd", "hold"] as const) {
  const t = median(results.get(`tabby|${c}`)!.map((x) => x.kernelMs));
  const b = median(results.get(`bird|${c}`)!.map((x) => x.kernelMs));
  console.log(`ratio: failover ${c} tabby/bird = ${(t / b).toFixed(2)}`);
}
