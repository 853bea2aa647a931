/**
 * `npm run demo:rr`: a real route-reflector demo on this machine. Three network
 * namespaces on one bridge: tabby (`tabby bgp run`) as the route reflector, BIRD 2 and FRR as its
 * clients, each announcing a prefix. Prints `tabby bgp peers`, `tabby bgp rib` and what each client
 * learned through the reflector, then removes everything (or keeps running with --keep until Ctrl-C).
 * Needs root, bird2 and frr (see README).
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { statusGet } from "../src/bgp/status-server.js";
import { makeTempDir } from "../test/harness/naming.js";
import { connectToBridge, Netns } from "../test/harness/netns.js";
import { Bird } from "../test/harness/peers/bird.js";
import { Frr } from "../test/harness/peers/frr.js";
import { unmet } from "../test/harness/requirements.js";
import { Scope } from "../test/harness/scope.js";
import { eventually } from "../test/harness/wait.js";

const keep = process.argv.includes("--keep");
const missing = unmet(["root", "iproute2", "bird", "frr"]);
if (missing.length > 0) {
  console.error(
    `the demo needs ${missing.join("; ")}.\nOn Debian: apt-get install -y bird2 frr iproute2 (as root)`,
  );
  process.exit(1);
}

const root = new URL("..", import.meta.url).pathname;
const built = join(root, "dist/src/cli/tabby.js");
const tabbyCmd = (args: string[]) =>
  existsSync(built)
    ? [process.execPath, built, ...args]
    : [process.execPath, "--import", "tsx", join(root, "src/cli/tabby.ts"), ...args];
const say = (s: string) => process.stdout.write(`\n== ${s}\n`);

const scope = new Scope();
const cleanup = async () => {
  await scope.close();
};
process.on("SIGINT", () => {
  void cleanup().then(() => process.exit(0));
});

try {
  say("building the lab: a bridge and three namespaces on 10.0.0.0/24");
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const hosts: Netns[] = [];
  for (let i = 1; i <= 3; i++) {
    const ns = await Netns.create(scope);
    await connectToBridge(sw, "br0", `p${i}`, {
      ns,
      name: "eth0",
      addresses: [`10.0.0.${i}/24`, `fd00::${i}/64`],
    });
    hosts.push(ns);
  }
  const [birdNs, rrNs, frrNs] = hosts as [Netns, Netns, Netns];

  say("starting tabby bgp run as the route reflector (10.0.0.2, AS 65000, cluster 10.0.0.2)");
  const dir = await makeTempDir(scope);
  const socket = join(dir, "bgp.sock");
  const config = join(dir, "speaker.yaml");
  writeFileSync(
    config,
    stringify({
      routerId: "10.0.0.2",
      asn: 65000,
      listen: { address: "::" },
      status: { socket },
      logLevel: "warn",
      peers: [
        {
          name: "bird",
          address: "10.0.0.1",
          asn: 65000,
          routeReflectorClient: true,
          nextHopSelf: { ipv6: "fd00::2" },
        },
        {
          name: "frr",
          address: "10.0.0.3",
          asn: 65000,
          routeReflectorClient: true,
          nextHopSelf: { ipv6: "fd00::2" },
        },
      ],
    }),
  );
  const [cmd, ...args] = tabbyCmd(["bgp", "run", "--config", config]);
  rrNs.spawn(cmd!, args, { logFile: join(dir, "tabby.log") });
  await eventually(() => statusGet(socket, "/summary").then(() => true), {
    what: "tabby to serve its status",
    timeoutMs: 30_000,
  });

  say(
    "starting BIRD 2 (10.0.0.1, announces 192.0.2.0/24 and 2001:db8:1::/48) and FRR (10.0.0.3, announces 203.0.113.0/24)",
  );
  const bird = await Bird.start(scope, birdNs, {
    config: `router id 10.0.0.1;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
protocol static s6 { ipv6; route 2001:db8:1::/48 blackhole; }
protocol bgp rr1 {
  local 10.0.0.1 as 65000; neighbor 10.0.0.2 as 65000; direct;
  connect retry time 2; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export where source = RTS_STATIC; };
  ipv6 { import all; export where source = RTS_STATIC; next hop address fd00::1; };
}
`,
  });
  const frr = await Frr.start(scope, frrNs, {
    spec: {
      routerId: "10.0.0.3",
      as: 65000,
      neighbors: [{ address: "10.0.0.2", as: 65000 }],
      originate: ["203.0.113.0/24"],
    },
  });
  await eventually(
    async () =>
      (await statusGet<{ state: string }[]>(socket, "/peers")).every((p) => p.state === "Established"),
    { what: "both sessions with tabby to be Established", timeoutMs: 60_000 },
  );
  await bird.waitForRoute("ipv4", "203.0.113.0/24");
  await frr.waitForRoute("ipv4", "192.0.2.0/24");

  say("tabby bgp peers");
  process.stdout.write(
    execFileSync(tabbyCmd([])[0]!, [...tabbyCmd(["bgp", "peers", "--socket", socket]).slice(1)], {
      encoding: "utf8",
    }),
  );
  say("tabby bgp rib (IPv4), then IPv6");
  process.stdout.write(
    execFileSync(tabbyCmd([])[0]!, [...tabbyCmd(["bgp", "rib", "--socket", socket]).slice(1)], {
      encoding: "utf8",
    }),
  );
  process.stdout.write(
    execFileSync(
      tabbyCmd([])[0]!,
      [...tabbyCmd(["bgp", "rib", "--family", "ipv6", "--socket", socket]).slice(1)],
      { encoding: "utf8" },
    ),
  );

  say("BIRD learned FRR's prefix through tabby (birdc show route all 203.0.113.0/24)");
  process.stdout.write(await bird.birdc("show", "route", "all", "203.0.113.0/24"));
  say("FRR learned BIRD's prefix through tabby (vtysh: show bgp ipv4 unicast 192.0.2.0/24)");
  process.stdout.write(await frr.vtysh("show bgp ipv4 unicast 192.0.2.0/24"));

  if (keep) {
    say(
      `running; try: ${tabbyCmd(["bgp", "peers", "--socket", socket]).join(" ")}   (Ctrl-C to stop and clean up)`,
    );
    await new Promise(() => {});
  }
  say("done: removing the namespaces and daemons");
} finally {
  if (!keep) await cleanup();
}
