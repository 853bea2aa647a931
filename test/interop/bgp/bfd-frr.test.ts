// BFD (RFC 5880/5881) bound to BGP (RFC 5882) against FRR 8.4 (bgpd `neighbor X bfd`, bfdd with a
// `bfd` / `peer X` block, 300 ms × 3): BFD Up on both ends with the negotiated intervals; FRR's UDP 3784
// packets dropped on their way out takes tabby's BGP session down and the peer's route out of the
// Loc-RIB within the detection time plus margin; BGP comes back while BFD stays down, without a flap
// loop; with the filter gone BFD is Up again and BGP is not reset by it.
// What FRR does here (seen in bfdd's debug log, and asserted below):
// - It discards tabby's Down packets after the cut: RFC 5880 §6.8.1 has tabby zero bfd.RemoteDiscr when
//   its detection time passes, and bfdd drops any packet with Your Discriminator 0 while its own session
//   is Init or Up ("'remote discriminator' is zero, not overridden"). So FRR learns of the failure from
//   its own timer (diagnostic "control detection time expired", not "neighbor signaled down"), and while
//   the path stays cut it cycles Down -> Init -> Down every ~3 s (Init on our first Down packet, then deaf).
// - bgpd does not hold BGP back while its BFD peer is Down: the session is re-established with
//   `peerBfdInfo.status` "Down", as RFC 5882 §4.2 allows and as tabby does.
import { expect, it } from "vitest";
import { Frr } from "../../harness/peers/frr.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { oneSessionConfig, pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const bgpdConfig = `frr defaults traditional
hostname frr
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers connect 1
 neighbor 10.0.0.1 bfd
 !
 address-family ipv4 unicast
  network 203.0.113.0/24
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv6 unicast
  no neighbor 10.0.0.1 activate
 exit-address-family
!
`;

const bfddConfig = `bfd
 peer 10.0.0.1 local-address 10.0.0.2 interface eth0
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
!
`;

/** One entry of `show bfd peers json` (FRR 8.4; intervals in ms). */
interface FrrBfdPeer {
  peer: string;
  local: string;
  id: number;
  "remote-id": number;
  status: string;
  diagnostic: string;
  "receive-interval": number;
  "transmit-interval": number;
  "detect-multiplier": number;
  "remote-receive-interval": number;
  "remote-transmit-interval": number;
  "remote-detect-multiplier": number;
}

/** What this test reads of FRR's `show bgp neighbors 10.0.0.1 json`. */
interface FrrBgpNeighbor {
  bgpState: string;
  connectionsEstablished: number;
  connectionsDropped: number;
  peerBfdInfo?: { status: string; detectMultiplier: number; rxMinInterval: number; txMinInterval: number };
}

describeWith(["root", "iproute2", "frr", "nft"], "BFD: tabby <-> FRR 8.4 bfdd", () => {
  it("BFD Up, a cut BFD path takes BGP down within the detection time, no flap loop, back when restored", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const frr = await Frr.start(scope, b, { config: bgpdConfig, bfdd: bfddConfig });
    const base = oneSessionConfig(65002, "ebgp");
    const tabby = await startTabby(scope, a, {
      ...base,
      peers: base.peers.map((p) => ({ ...p, localAddress: "10.0.0.1", bfd: {} })),
    });
    const bfdPeers = async () => JSON.parse(await frr.vtysh("show bfd peers json")) as FrrBfdPeer[];
    const frrPeer = async () =>
      (JSON.parse(await frr.vtysh("show bgp neighbors 10.0.0.1 json")) as Record<string, FrrBgpNeighbor>)[
        "10.0.0.1"
      ]!;
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "203.0.113.0/24");
    const st = () => tabby.peerStatus()[0]!;
    await eventually(
      () => st().bfd?.state === "Up" && st().bfd?.polling === false && st().bfd?.txIntervalMs === 300,
      { what: `tabby's BFD Up at 300 ms (now ${JSON.stringify(st().bfd)})` },
    );
    expect(st().bfd).toMatchObject({
      detectTimeMs: 900,
      remote: { minTxMs: 300, minRxMs: 300, multiplier: 3 },
    });

    // FRR's view: one session, the configured one (not one bgpd made up with defaults), up, the same
    // discriminators and 300 ms × 3 both ways; bgpd sees it Up.
    const [up] = await eventually(
      async () => {
        const peers = await bfdPeers();
        return peers.length === 1 && peers[0]!.status === "up" && peers;
      },
      { what: "FRR's BFD peer up" },
    );
    expect(up).toMatchObject({
      peer: "10.0.0.1",
      local: "10.0.0.2",
      id: st().bfd?.remoteDiscriminator,
      "remote-id": st().bfd?.localDiscriminator,
      "receive-interval": 300,
      "transmit-interval": 300,
      "detect-multiplier": 3,
      "remote-receive-interval": 300,
      "remote-transmit-interval": 300,
      "remote-detect-multiplier": 3,
    });
    expect(await frr.vtysh("show bfd peers")).toMatch(/Status: up[\s\S]*Peer Type: configured/);
    await eventually(async () => (await frrPeer()).peerBfdInfo?.status === "Up", {
      what: "FRR's bgpd to see its BFD peer Up",
    });

    // When the peer's route leaves the Loc-RIB (the speaker tells its listeners at once). Only FRR's
    // packets are dropped, so tabby's detection is the one that fires.
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
    // FRR finds out by its own timer: our Down carries Your Discriminator 0, which bfdd ignores (header).
    await eventually(
      async () => {
        const [p] = await bfdPeers();
        return p !== undefined && p.status !== "up" && p.diagnostic === "control detection time expired";
      },
      { what: "FRR's BFD peer down by its own detection timer", timeoutMs: 5000 },
    );

    // BGP comes back although BFD stays down on both ends (FRR's bgpd does not wait for it), and stays up.
    await waitEstablished(tabby, "10.0.0.2");
    await waitTabbyRoute(tabby, "203.0.113.0/24");
    await frr.waitForSession("10.0.0.1");
    const flapsAfter = st().flaps;
    const frrAfter = await frrPeer();
    const settle = Date.now();
    await eventually(() => Date.now() - settle > 4000 || undefined, {
      what: "4 s with BFD down",
      timeoutMs: 6000,
    });
    expect(st()).toMatchObject({ state: "Established", flaps: flapsAfter });
    expect(st().bfd?.state).not.toBe("Up");
    expect(await frrPeer()).toMatchObject({
      bgpState: "Established",
      connectionsDropped: frrAfter.connectionsDropped,
      peerBfdInfo: { status: "Down" },
    });
    expect((await bfdPeers())[0]?.status).not.toBe("up");

    // Restored: BFD Up again on both ends, BGP not reset by it.
    await b.exec("nft", ["delete table inet bfdcut"]);
    await eventually(() => st().bfd?.state === "Up", { what: `BFD Up again (now ${st().bfd?.state})` });
    await eventually(async () => (await bfdPeers())[0]?.status === "up", { what: "FRR's BFD peer up again" });
    await eventually(async () => (await frrPeer()).peerBfdInfo?.status === "Up", {
      what: "FRR's bgpd to see its BFD peer Up again",
    });
    expect(st()).toMatchObject({ state: "Established", flaps: flapsAfter });
    expect(await frrPeer()).toMatchObject({
      bgpState: "Established",
      connectionsDropped: frrAfter.connectionsDropped,
    });
  }, 90_000);
});
