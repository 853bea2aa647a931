/**
 * Regenerates the golden BGP captures in this folder (`npm run golden:bgp`, root, with bird2, frr,
 * gobgpd and tshark installed): real sessions between BIRD 2, FRR and GoBGP in network namespaces,
 * configured to send every capability and attribute they can (4-octet AS and AS4_PATH through a
 * 2-octet peer, ADD-PATH, graceful restart, LLGR, extended messages, extended next hop, route
 * reflection, communities of all three kinds, MED, LOCAL_PREF, aggregation), then a route refresh and an
 * administrative shutdown with a message. Each scenario writes <name>.pcap (tcpdump on one veth end).
 * The tests (bgp/codec/golden.test.ts) decode them with tabby and with tshark and compare.
 */
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectVeth, Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { Frr } from "../../harness/peers/frr.js";
import { Gobgp } from "../../harness/peers/gobgp.js";
import { Scope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";

const here = new URL(".", import.meta.url).pathname;

async function pair(scope: Scope) {
  const a = await Netns.create(scope);
  const b = await Netns.create(scope);
  await connectVeth(
    { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
  );
  return { a, b };
}

async function startCapture(ns: Netns, file: string) {
  const p = ns.spawn(
    "tcpdump",
    ["-i", "eth0", "--immediate-mode", "-U", "-s", "0", "-w", file, "tcp port 179"],
    {
      logFile: `${file}.log`,
    },
  );
  await eventually(async () => (await ns.exec("test", ["-s", file], { allowFailure: true })).code === 0, {
    what: "tcpdump to start",
    timeoutMs: 5000,
  });
  return {
    /** Waits until nothing new was written for 500 ms (tcpdump drained the ring), then stops it. */
    async stop(): Promise<void> {
      let last = -1;
      await eventually(
        async () => {
          const size = statSync(file).size;
          const quiet = size === last;
          last = size;
          return quiet;
        },
        { what: "capture to go quiet", timeoutMs: 10_000, intervalMs: 500 },
      );
      await p.stop();
    },
  };
}

const BIRD_ATTRS = (peerAs4: number, opts: { as4?: boolean; frrV6?: boolean } = {}) => `
router id 10.0.0.1;
log stderr all;
protocol device { }
protocol direct { ipv4; ipv6; interface "eth0"; }
protocol static st4 { ipv4; route 192.0.2.0/24 blackhole; route 198.51.100.0/25 blackhole; route 198.51.100.128/25 blackhole; }
protocol static st6 { ipv6; route 2001:db8:a::/48 blackhole; route 2001:db8:a:1::/64 blackhole; }
filter tag_out {
  if source != RTS_STATIC then reject;
  bgp_community.add((65001,100));
  bgp_community.add((65535,65281));
  bgp_large_community.add((4200000001,1,2));
  bgp_ext_community.add((rt,65001,7));
  bgp_ext_community.add((ro,10.0.0.1,9));
  if net ~ [ 198.51.100.0/25 ] then bgp_med = 50;
  accept;
}
template bgp peer {
  local as 4200000001;
  hold time 90;
  connect retry time 2;
  connect delay time 1;
  error wait time 1, 5;
  graceful restart on;
  long lived graceful restart on;
  enable extended messages on;
  ${opts.as4 === false ? "enable as4 off;" : ""}
}
protocol bgp b4 from peer {
  local 10.0.0.1;
  neighbor 10.0.0.2 as ${peerAs4};
  ipv4 { import all; export filter tag_out; add paths on; };
  ipv6 { import all; export filter tag_out; next hop address fd00::1; };
}
protocol bgp b6 from peer {
  local fd00::1;
  neighbor fd00::2 as ${peerAs4};
  ipv6 { import all; export filter tag_out; add paths on; };
  ipv4 { import all; export filter tag_out; extended next hop on; };
}
`;

async function birdFrr(scope: Scope): Promise<void> {
  const { a, b } = await pair(scope);
  const pcap = join(here, "bird-frr.pcap");
  const cap = await startCapture(a, pcap);
  const bird = await Bird.start(scope, a, { config: BIRD_ATTRS(65002) });
  const frr = await Frr.start(scope, b, {
    config: `frr defaults traditional
hostname frr-b
ip prefix-list P1 seq 5 permit 203.0.113.0/24
route-map OUT permit 10
 match ip address prefix-list P1
 set community 65002:200 no-export additive
 set large-community 65002:3:4
 set metric 20
route-map OUT permit 20
 set community 65002:300
 set local-preference 150
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 neighbor 10.0.0.1 remote-as 4200000001
 neighbor 10.0.0.1 timers connect 1
 neighbor fd00::1 remote-as 4200000001
 neighbor fd00::1 timers connect 1
 neighbor fd00::1 capability extended-nexthop
 address-family ipv4 unicast
  network 203.0.113.0/24
  network 100.64.0.0/24
  aggregate-address 100.64.0.0/16
  neighbor 10.0.0.1 route-map OUT out
  neighbor 10.0.0.1 addpath-tx-all-paths
  neighbor fd00::1 activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:b::/48
  neighbor 10.0.0.1 activate
  neighbor fd00::1 activate
  neighbor fd00::1 route-map OUT out
 exit-address-family
`,
  });
  await frr.waitForSession("10.0.0.1");
  await frr.waitForSession("fd00::1");
  await bird.waitForRoute("ipv4", "100.64.0.0/16");
  await frr.waitForRoute("ipv6", "2001:db8:a::/48");
  await bird.birdc("reload", "in", "b4");
  await frr.vtysh("clear bgp ipv4 unicast 10.0.0.1 soft in");
  await frr.withdraw("203.0.113.0/24");
  await bird.waitForRoute("ipv4", "203.0.113.0/24", { gone: true });
  await bird.birdc("disable", "b4", '"maintenance window 42"');
  await frr
    .waitForSession("10.0.0.1", { state: "Idle" })
    .catch(() => frr.waitForSession("10.0.0.1", { state: "Active" }));
  await cap.stop();
}

async function birdGobgp(scope: Scope): Promise<void> {
  const { a, b } = await pair(scope);
  const pcap = join(here, "bird-gobgp.pcap");
  const cap = await startCapture(a, pcap);
  const bird = await Bird.start(scope, a, { config: BIRD_ATTRS(4200000002) });
  const gobgp = await Gobgp.start(scope, b, {
    config: `[global.config]
  as = 4200000002
  router-id = "10.0.0.2"
  local-address-list = ["10.0.0.2", "fd00::2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 4200000001
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.add-paths.config]
      receive = true
      send-max = 4
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "fd00::1"
    peer-as = 4200000001
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
  });
  await gobgp.waitForSession("10.0.0.1");
  await gobgp.announce("203.0.113.0/24", [
    "origin",
    "egp",
    "med",
    "20",
    "community",
    "65002:200,no-advertise",
    "large-community",
    "4200000002:5:6",
  ]);
  await gobgp.announce("100.64.0.0/24", ["aspath", "65010,65011", "community", "65002:300"]);
  await gobgp.announce("2001:db8:c::/48", ["community", "65002:400"]);
  await bird.waitForRoute("ipv4", "100.64.0.0/24");
  await bird.waitForRoute("ipv6", "2001:db8:c::/48");
  await gobgp.withdraw("100.64.0.0/24");
  await bird.waitForRoute("ipv4", "100.64.0.0/24", { gone: true });
  await gobgp.gobgp("neighbor", "10.0.0.1", "shutdown", "--reason", "going down for upgrade");
  await bird
    .waitForSession("10.0.0.2", { state: "Active" })
    .catch(() => bird.waitForSession("10.0.0.2", { state: "Idle" }));
  await cap.stop();
}

/** FRR with a 4-octet AS and no capabilities towards BIRD: AS_TRANS, AS4_PATH, AS4_AGGREGATOR on the wire. */
async function as2(scope: Scope): Promise<void> {
  const { a, b } = await pair(scope);
  const pcap = join(here, "as2-as4.pcap");
  const cap = await startCapture(a, pcap);
  const bird = await Bird.start(scope, a, {
    config: `router id 10.0.0.1;
log stderr all;
protocol device { }
protocol static st4 { ipv4; route 192.0.2.0/24 blackhole; }
protocol bgp b4 {
  local 10.0.0.1 as 65001;
  neighbor 10.0.0.2 as 23456;
  connect retry time 2; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export all; };
}
`,
  });
  const frr = await Frr.start(scope, b, {
    config: `frr defaults traditional
hostname frr-as4
router bgp 4200000002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers connect 1
 ! No capabilities: FRR speaks to BIRD as a 2-octet ("OLD") speaker would see a NEW one.
 neighbor 10.0.0.1 dont-capability-negotiate
 address-family ipv4 unicast
  network 203.0.113.0/24
  network 100.64.1.0/24
  network 100.64.2.0/24
  aggregate-address 100.64.0.0/16 as-set
 exit-address-family
`,
  });
  await frr.waitForSession("10.0.0.1");
  await bird.waitForRoute("ipv4", "100.64.0.0/16");
  await frr.waitForRoute("ipv4", "192.0.2.0/24");
  await cap.stop();
}

/** BIRD route reflector between an FRR client and a BIRD client: ORIGINATOR_ID, CLUSTER_LIST, LOCAL_PREF. */
async function routeReflector(scope: Scope): Promise<void> {
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const rr = await Netns.create(scope);
  const c1 = await Netns.create(scope);
  const c2 = await Netns.create(scope);
  const { connectToBridge } = await import("../../harness/netns.js");
  await connectToBridge(sw, "br0", "p1", { ns: rr, name: "eth0", addresses: ["10.0.0.2/24"] });
  await connectToBridge(sw, "br0", "p2", { ns: c1, name: "eth0", addresses: ["10.0.0.1/24"] });
  await connectToBridge(sw, "br0", "p3", { ns: c2, name: "eth0", addresses: ["10.0.0.3/24"] });
  const pcap = join(here, "route-reflector.pcap");
  const cap = await startCapture(rr, pcap);
  await Bird.start(scope, rr, {
    config: `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol direct { ipv4; interface "eth0"; }
template bgp rrclient {
  local 10.0.0.2 as 65000;
  rr client; rr cluster id 10.0.0.100;
  direct;
  connect retry time 2; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export where source = RTS_BGP; };
}
protocol bgp c1 from rrclient { neighbor 10.0.0.1 as 65000; }
protocol bgp c3 from rrclient { neighbor 10.0.0.3 as 65000; }
`,
  });
  const frr = await Frr.start(scope, c1, {
    config: `frr defaults traditional
hostname c1
route-map LP permit 10
 set local-preference 250
 set community 65000:1
router bgp 65000
 bgp router-id 10.0.0.1
 no bgp network import-check
 neighbor 10.0.0.2 remote-as 65000
 neighbor 10.0.0.2 timers connect 1
 address-family ipv4 unicast
  network 192.0.2.0/24 route-map LP
 exit-address-family
`,
  });
  const bird3 = await Bird.start(scope, c2, {
    spec: {
      routerId: "10.0.0.3",
      as: 65000,
      neighbors: [{ address: "10.0.0.2", as: 65000 }],
      originate: ["203.0.113.0/24"],
    },
  });
  await bird3.waitForRoute("ipv4", "192.0.2.0/24");
  await frr.waitForRoute("ipv4", "203.0.113.0/24");
  await cap.stop();
}

const scenarios: Record<string, (s: Scope) => Promise<void>> = {
  "bird-frr": birdFrr,
  "bird-gobgp": birdGobgp,
  "as2-as4": as2,
  "route-reflector": routeReflector,
};

const only = process.argv.slice(2);
for (const [name, run] of Object.entries(scenarios)) {
  if (only.length > 0 && !only.includes(name)) continue;
  const scope = new Scope();
  const t0 = Date.now();
  try {
    await run(scope);
    process.stdout.write(`${name}: captured in ${Date.now() - t0} ms\n`);
  } finally {
    await scope.close();
  }
}
writeFileSync(
  join(here, "CAPTURED.txt"),
  `captured ${new Date().toISOString()} with bird2 2.0.12, frr 8.4.4, gobgpd 3.10.0\n`,
);
