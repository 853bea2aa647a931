// Long-lived graceful restart (RFC 9494) with BIRD 2, tabby as the helper: BIRD (restart time 2 s,
// long-lived stale time 4 s) is killed with SIGKILL; tabby keeps its route stale through the restart
// time, then marked LLGR_STALE, then drops it when the long-lived time ends. A second kill, and BIRD
// back inside the long-lived time: the route is fresh again (no LLGR_STALE, not stale). BIRD sees our
// own LLGR capability, so it can help us the same way.
import { expect, it } from "vitest";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
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

describeWith(["root", "iproute2", "bird"], "long-lived graceful restart: tabby <-> BIRD 2", () => {
  it("stale through the restart time, LLGR_STALE for the long-lived time, then gone; a restart inside it refreshes", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    let bird = await Bird.start(scope, b, { config: birdConfig });
    const tabby = await startTabby(scope, a, {
      ...oneSessionConfig(65002, "ebgp"),
      gracefulRestart: { restartTimeSec: 120, longLivedStaleTimeSec: 3600 },
    });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, P);
    const caps = await bird.birdc("show", "protocols", "all", "tabby");
    expect(caps).toMatch(/Neighbor capabilities[\s\S]*Long-lived graceful restart\s+LL stale time: 3600/);

    const path = () => tabby.ribEntries("ipv4", P).find((p) => p.best);
    const phases: { stale?: number; llgr?: number; gone?: number } = {};
    tabby.onBestChange((_f, _k, best) => {
      if (best === undefined) phases.gone ??= Date.now();
    });

    // Killed: no NOTIFICATION, so graceful restart applies.
    const killedAt = Date.now();
    process.kill(bird.pid, "SIGKILL");
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
    console.log(`LLGR: LLGR_STALE ${llgrAfter} ms after the kill, gone ${goneAfter} ms after (2 s + 4 s)`);
    // BIRD's restart time (2 s), then its long-lived stale time (4 s): with a second of slack.
    expect(llgrAfter).toBeGreaterThanOrEqual(1900);
    expect(llgrAfter).toBeLessThan(3500);
    expect(goneAfter).toBeGreaterThanOrEqual(5900);
    expect(goneAfter).toBeLessThan(8000);

    // Again, and BIRD comes back while the route is LLGR_STALE: it is fresh again.
    bird = await Bird.start(scope, b, { config: birdConfig });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, P);
    process.kill(bird.pid, "SIGKILL");
    await eventually(() => path()?.communities.includes("LLGR_STALE") || undefined, {
      what: "the route marked LLGR_STALE again",
      timeoutMs: 10_000,
    });
    bird = await Bird.start(scope, b, { config: birdConfig });
    await waitEstablished(tabby, "10.0.0.2");
    await eventually(() => (path() !== undefined && !path()!.stale) || undefined, {
      what: `the route refreshed by the restarted BIRD (now ${JSON.stringify(path())})`,
    });
    expect(path()!.communities).not.toContain("LLGR_STALE");
    expect(tabby.peerStatus()[0]!.stale).toBe(0);
  }, 90_000);
});
