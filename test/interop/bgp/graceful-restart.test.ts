// Graceful restart (RFC 4724) in both roles, with BIRD:
// - tabby restarts (kill -9 of `tabby bgp run`): BIRD keeps tabby's routes as stale for the restart
//   time, tabby comes back, re-learns BIRD's routes, re-advertises its own, and BIRD's stale marks go.
// - BIRD restarts: tabby keeps BIRD's routes as stale, then after BIRD's End-of-RIB drops the ones
//   BIRD no longer announces and keeps the rest, fresh.
import { expect, it } from "vitest";
import type { PeerStatus, RibPath } from "../../../bgp/speaker/speaker.js";
import { statusGet } from "../../../src/bgp/status-server.js";
import { isAlive } from "../../harness/exec.js";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { pair, runTabbyProcess, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const birdGr = (prefixes: string[]) => `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol static s4 { ipv4; ${prefixes.map((p) => `route ${p} blackhole;`).join(" ")} }
protocol bgp tabby {
  local 10.0.0.2 as 65002;
  neighbor 10.0.0.1 as 65001;
  graceful restart on;
  graceful restart time 120;
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export all; };
}
`;

describeWith(["root", "iproute2", "bird"], "graceful restart with BIRD", () => {
  it("tabby killed with -9 and restarted: BIRD keeps its routes meanwhile, then everything is fresh again", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const bird = await Bird.start(scope, b, { config: birdGr(["203.0.113.0/24"]) });
    const cfg = {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      gracefulRestart: { restartTimeSec: 120 },
      peers: [
        {
          address: "10.0.0.2",
          asn: 65002,
          importPolicy: "ACCEPT_ALL",
          exportPolicy: "ACCEPT_ALL",
          connectRetrySec: 1,
        },
      ],
      originate: [{ prefix: "192.0.2.0/24" }],
    };
    const first = await runTabbyProcess(scope, a, cfg);
    await bird.waitForRoute("ipv4", "192.0.2.0/24");
    await eventually(
      async () =>
        (await statusGet<RibPath[]>(first.socket, "/rib?family=ipv4&prefix=203.0.113.0/24")).length === 1,
      { what: "tabby to learn BIRD's route" },
    );

    first.proc.child.kill("SIGKILL");
    await first.proc.exited;
    expect(isAlive(first.proc.pid)).toBe(false);
    // BIRD (the helper) runs its restart timer and keeps tabby's route while tabby is gone.
    await eventually(
      async () =>
        (await bird.birdc("show", "protocols", "all", "tabby")).includes("Neighbor graceful restart active"),
      {
        what: "BIRD to start graceful restart for tabby",
      },
    );
    expect((await bird.routes("ipv4")).map((r) => r.prefix)).toContain("192.0.2.0/24");

    const second = await runTabbyProcess(scope, a, cfg);
    await eventually(
      async () => (await statusGet<PeerStatus[]>(second.socket, "/peers"))[0]?.state === "Established",
      { what: "the new tabby's session" },
    );
    await eventually(
      async () =>
        (await statusGet<RibPath[]>(second.socket, "/rib?family=ipv4&prefix=203.0.113.0/24")).length === 1,
      { what: "tabby to re-learn BIRD's route" },
    );
    // After tabby's End-of-RIB, BIRD ends the graceful restart with the route fresh.
    await eventually(
      async () =>
        !(await bird.birdc("show", "protocols", "all", "tabby")).includes("graceful restart active"),
      {
        what: "BIRD to end graceful restart",
      },
    );
    expect(await bird.waitForRoute("ipv4", "192.0.2.0/24")).toMatchObject({
      nextHop: "10.0.0.1",
      asPath: [65001],
    });
  });

  it("BIRD killed with -9 and restarted: tabby keeps BIRD's routes as stale, then sweeps what BIRD no longer sends after End-of-RIB", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const tabby = await startTabby(scope, a, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      gracefulRestart: { restartTimeSec: 120 },
      peers: [
        {
          address: "10.0.0.2",
          asn: 65002,
          importPolicy: "ACCEPT_ALL",
          exportPolicy: "ACCEPT_ALL",
          connectRetrySec: 1,
        },
      ],
    });
    const bird1 = await Bird.start(scope, b, { config: birdGr(["203.0.113.0/24", "198.51.100.0/24"]) });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "198.51.100.0/24");
    await waitTabbyRoute(tabby, "203.0.113.0/24");

    process.kill(bird1.pid, "SIGKILL");
    await eventually(() => tabby.peerStatus()[0]!.state !== "Established", {
      what: "tabby to notice BIRD is gone",
    });
    // Helper role: both routes stay, marked stale.
    await eventually(() => tabby.peerStatus()[0]!.stale === 2, { what: "BIRD's routes kept as stale" });
    expect(tabby.ribEntries("ipv4", "203.0.113.0/24")[0]).toMatchObject({ best: true, stale: true });

    // BIRD comes back announcing only one of them.
    await Bird.start(scope, b, { config: birdGr(["203.0.113.0/24"]) });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "198.51.100.0/24", { gone: true });
    await eventually(() => tabby.ribEntries("ipv4", "203.0.113.0/24")[0]?.stale === false, {
      what: "the re-announced route to be fresh",
    });
    expect(tabby.peerStatus()[0]!.stale).toBe(0);
  });
});
