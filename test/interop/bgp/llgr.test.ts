// Long-lived graceful restart (RFC 9494) with BIRD 2 and GoBGP, tabby as the helper: the peer (restart
// time 2 s, long-lived stale time 4 s) is killed with SIGKILL; tabby keeps its route stale through the
// restart time, then marked LLGR_STALE, then drops it when the long-lived time ends. A second kill, and
// the peer back inside the long-lived time: the route is fresh again (no LLGR_STALE, not stale). The
// peer sees our own LLGR capability, so it can help us the same way.
import { expect, it } from "vitest";
import type { Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { Gobgp } from "../../harness/peers/gobgp.js";
import { describeWith } from "../../harness/requirements.js";
import { type Scope, testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { oneSessionConfig, pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const P = "203.0.113.0/24";
const birdConfig = `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol static s4 { ipv4; route ${P} blackhole; }
protocol bgp tabby {
  local 10.0.0.2 as 65002;
  neighbor 10.0.0.1 as 65001;
  graceful restart on;
  graceful restart time 2;
  long lived graceful restart on;
  long lived stale time 4;
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export all; };
}
`;

const gobgpConfig = `[global.config]
  as = 65002
  router-id = "10.0.0.2"
  local-address-list = ["10.0.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 2
    long-lived-enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
    [neighbors.afi-safis.long-lived-graceful-restart.config]
      enabled = true
      restart-time = 4
`;

/** A peer we can start (announcing P), kill -9, and ask whether it sees our LLGR capability. */
interface Restartable {
  start(): Promise<{ pid: number }>;
  seesOurLlgr(): Promise<void>;
}

const birdPeer = (scope: Scope, ns: Netns): Restartable => {
  let bird: Bird | undefined;
  return {
    start: async () => {
      bird = await Bird.start(scope, ns, { config: birdConfig });
      return bird;
    },
    seesOurLlgr: async () => {
      const caps = await bird!.birdc("show", "protocols", "all", "tabby");
      expect(caps).toMatch(/Neighbor capabilities[\s\S]*Long-lived graceful restart\s+LL stale time: 3600/);
    },
  };
};

const gobgpPeer = (scope: Scope, ns: Netns): Restartable => {
  let gobgp: Gobgp | undefined;
  return {
    start: async () => {
      gobgp = await Gobgp.start(scope, ns, { config: gobgpConfig });
      await gobgp.announce(P);
      return gobgp;
    },
    seesOurLlgr: async () => {
      const out = (await gobgp!.gobgp("neighbor", "10.0.0.1")).stdout;
      expect(out).toMatch(/long-lived-graceful-restart:\s+advertised and received/);
    },
  };
};

async function scenario(which: string, make: (scope: Scope, ns: Netns) => Restartable): Promise<void> {
  {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const peer = make(scope, b);
    let daemon = await peer.start();
    const tabby = await startTabby(scope, a, {
      ...oneSessionConfig(65002, "ebgp"),
      gracefulRestart: { restartTimeSec: 120, longLivedStaleTimeSec: 3600 },
    });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, P);
    await peer.seesOurLlgr();

    const path = () => tabby.ribEntries("ipv4", P).find((p) => p.best);
    const phases: { stale?: number; llgr?: number; gone?: number } = {};
    tabby.onBestChange((_f, _k, best) => {
      if (best === undefined) phases.gone ??= Date.now();
    });

    // Killed: no NOTIFICATION, so graceful restart applies.
    const killedAt = Date.now();
    process.kill(daemon.pid, "SIGKILL");
    await eventually(() => path()?.stale === true || undefined, { what: "the route kept as stale" });
    phases.stale = Date.now();
    expect(path()?.communities ?? []).not.toContain("LLGR_STALE");
    await eventually(() => path()?.communities.includes("LLGR_STALE") || undefined, {
      what: `the route marked LLGR_STALE (now ${JSON.stringify(path())})`,
      timeoutMs: 10_000,
    });
    phases.llgr = Date.now();
    expect(path()?.stale).toBe(true);
    await waitTabbyRoute(tabby, P, { gone: true, timeoutMs: 15_000 });
    const llgrAfter = phases.llgr - killedAt;
    const goneAfter = (phases.gone ?? Date.now()) - killedAt;
    console.log(
      `LLGR (${which}): LLGR_STALE ${llgrAfter} ms after the kill, gone ${goneAfter} ms after (2 s + 4 s)`,
    );
    // BIRD's restart time (2 s), then its long-lived stale time (4 s): with a second of slack.
    expect(llgrAfter).toBeGreaterThanOrEqual(1900);
    expect(llgrAfter).toBeLessThan(3500);
    expect(goneAfter).toBeGreaterThanOrEqual(5900);
    expect(goneAfter).toBeLessThan(8000);

    // Again, and BIRD comes back while the route is LLGR_STALE: it is fresh again.
    daemon = await peer.start();
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, P);
    process.kill(daemon.pid, "SIGKILL");
    await eventually(() => path()?.communities.includes("LLGR_STALE") || undefined, {
      what: "the route marked LLGR_STALE again",
      timeoutMs: 10_000,
    });
    daemon = await peer.start();
    await waitEstablished(tabby, "10.0.0.2");
    await eventually(() => (path() !== undefined && !path()!.stale) || undefined, {
      what: `the route refreshed by the restarted BIRD (now ${JSON.stringify(path())})`,
    });
    expect(path()!.communities).not.toContain("LLGR_STALE");
    expect(tabby.peerStatus()[0]!.stale).toBe(0);
  }
}

describeWith(["root", "iproute2", "bird"], "long-lived graceful restart: tabby <-> BIRD 2", () => {
  it(
    "stale through the restart time, LLGR_STALE for the long-lived time, then gone; a restart inside it refreshes",
    () => scenario("BIRD", birdPeer),
    90_000,
  );
});

describeWith(["root", "iproute2", "gobgp"], "long-lived graceful restart: tabby <-> GoBGP", () => {
  it(
    "stale through the restart time, LLGR_STALE for the long-lived time, then gone; a restart inside it refreshes",
    () => scenario("GoBGP", gobgpPeer),
    90_000,
  );
});
