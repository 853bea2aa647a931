// BFD (RFC 5880/5881) bound to BGP (RFC 5882) against BIRD 2 (`protocol bfd` + `bfd on`): BFD Up and
// BGP Established; BIRD's UDP 3784 packets dropped on their way out takes tabby's BGP session down and the peer's
// route out of the Loc-RIB within the detection time (3 × 300 ms) plus margin, measured; BGP comes back
// while BFD stays down, without a flap loop; with the filter gone BFD is Up again.
import { expect, it } from "vitest";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { oneSessionConfig, pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const birdConfig = `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol direct { ipv4; interface "eth0"; }
protocol static s4 { ipv4; route 203.0.113.0/24 blackhole; }
protocol bfd {
  interface "eth0" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };
}
protocol bgp tabby {
  local 10.0.0.2 as 65002;
  neighbor 10.0.0.1 as 65001;
  bfd on;
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export all; };
}
`;

describeWith(["root", "iproute2", "bird", "nft"], "BFD: tabby <-> BIRD 2", () => {
  it("BFD Up, a cut BFD path takes BGP down within the detection time, no flap loop, back when restored", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const bird = await Bird.start(scope, b, { config: birdConfig });
    const base = oneSessionConfig(65002, "ebgp");
    const tabby = await startTabby(scope, a, {
      ...base,
      peers: base.peers.map((p) => ({ ...p, localAddress: "10.0.0.1", bfd: {} })),
    });
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "203.0.113.0/24");
    const st = () => tabby.peerStatus()[0]!;
    await eventually(
      () => st().bfd?.state === "Up" && st().bfd?.polling === false && st().bfd?.txIntervalMs === 300,
      {
        what: `tabby's BFD Up at 300 ms (now ${JSON.stringify(st().bfd)})`,
      },
    );
    expect(st().bfd).toMatchObject({
      detectTimeMs: 900,
      remote: { minTxMs: 300, minRxMs: 300, multiplier: 3 },
    });
    await eventually(
      async () => /10\.0\.0\.1\s+eth0\s+Up/.test(await bird.birdc("show", "bfd", "sessions")),
      {
        what: "BIRD's BFD session Up",
      },
    );

    // When the peer's route leaves the Loc-RIB (the speaker tells its listeners at once). Only BIRD's
    // packets are dropped: cut both ways, BIRD's detection races ours and its Cease may come first.
    let goneAt: number | undefined;
    tabby.onBestChange((_f, _k, best) => {
      if (best === undefined && goneAt === undefined) goneAt = Date.now();
    });
    const flapsBefore = st().flaps;
    await b.exec("nft", ["add table inet bfdcut"]);
    await b.exec("nft", ["add chain inet bfdcut out { type filter hook output priority 0 ; }"]);
    const cutAt = Date.now();
    await b.exec("nft", ["add rule inet bfdcut out udp dport 3784 drop"]);
    await eventually(() => goneAt !== undefined, {
      what: "the peer's route to leave tabby's Loc-RIB",
      timeoutMs: 5000,
    });
    const took = goneAt! - cutAt;
    console.log(`BFD detection: BGP down and route gone ${took} ms after the cut (detect time 900 ms)`);
    expect(took).toBeLessThanOrEqual(1000);
    expect(st().bfd?.lastDown).toBe("BFD: detection time expired (3 × 300 ms)");
    expect(st().lastError ?? "").toContain("BFD: detection time expired (3 × 300 ms)");
    expect(st().flaps).toBe(flapsBefore + 1);

    // BGP comes back although BFD stays down, and stays up: not a flap loop.
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "203.0.113.0/24");
    const flapsAfter = st().flaps;
    const settle = Date.now();
    await eventually(() => Date.now() - settle > 4000 || undefined, {
      what: "4 s with BFD down",
      timeoutMs: 6000,
    });
    expect(st()).toMatchObject({ state: "Established", flaps: flapsAfter });
    expect(st().bfd?.state).not.toBe("Up");

    // Restored: BFD Up again, BGP not reset by it.
    await b.exec("nft", ["delete table inet bfdcut"]);
    await eventually(() => st().bfd?.state === "Up", { what: `BFD Up again (now ${st().bfd?.state})` });
    expect(st()).toMatchObject({ state: "Established", flaps: flapsAfter });
  }, 90_000);
});
