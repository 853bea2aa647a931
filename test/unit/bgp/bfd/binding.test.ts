// BFD bound to a BGP session (RFC 5882) in the speaker: a raw BGP peer on loopback, the peer's BFD
// played by a BfdSession on the same fake clock over an in-memory wire. BFD Up shows in status with
// the negotiated intervals; when the wire goes quiet the BGP session gets Cease / BFD Down (RFC 9384)
// exactly at the detection time, with the reason in words, and its routes leave the Loc-RIB; BGP comes
// back while BFD stays Down without flapping; BFD comes back Up when the wire does.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { bfdDownWords, checkBfdConfig } from "../../../../bgp/bfd/binding.js";
import { BfdSession } from "../../../../bgp/bfd/session.js";
import type { BfdTransport } from "../../../../bgp/bfd/transport.js";
import { MessageFramer } from "../../../../bgp/codec/framing.js";
import { type BgpMessage, decodeMessage, encodeKeepalive } from "../../../../bgp/codec/message.js";
import { encodeOpen } from "../../../../bgp/codec/open.js";
import { buildOpen } from "../../../../bgp/session/negotiate.js";
import type { PeerConfig, SpeakerConfig } from "../../../../bgp/speaker/config.js";
import { planReconfigure } from "../../../../bgp/speaker/reconfigure.js";
import { Speaker, validateSpeakerConfig } from "../../../../bgp/speaker/speaker.js";
import { FakeClock } from "../../../harness/clock.js";
import { eventually } from "../../../harness/wait.js";
import { attr, b, ORIGIN_IGP, update } from "../build.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A BGP peer (AS 65002) that answers OPEN and KEEPALIVE and announces 10.1.0.0/24 when asked. */
async function rawPeer(host: string) {
  let sock: Socket | undefined;
  const got: BgpMessage[] = [];
  const server: Server = createServer((s) => {
    sock = s;
    const f = new MessageFramer(65535);
    s.on("data", (c: Buffer) => {
      for (const m of f.push(new Uint8Array(c))) {
        const msg = decodeMessage(m.bytes, { fourOctetAs: true });
        got.push(msg);
        if (msg.type === "OPEN") {
          s.write(
            encodeOpen(buildOpen({ localAs: 65002, routerId: host, holdTimeSec: 0, families: ["ipv4"] })),
          );
          s.write(encodeKeepalive());
        }
      }
    });
    s.on("error", () => {});
    cleanups.push(() => s.destroy());
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return {
    port: (server.address() as { port: number }).port,
    got,
    announce() {
      const asPath = attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xea]);
      const nextHop = attr(0x40, 3, host.split(".").map(Number));
      sock!.write(update({ attrs: [ORIGIN_IGP, asPath, nextHop], nlri: b(24, 10, 1, 0) }));
    },
  };
}

const loopback = {
  connect: (o: { host: string; port?: number }) =>
    new Promise<Socket>((resolve, reject) => {
      const c = connect({ host: o.host, port: o.port ?? 179 });
      c.once("connect", () => resolve(c));
      c.once("error", (e: Error) => reject(Object.assign(e, { reason: "connection refused" })));
    }),
};

/** The peer's BFD: a BfdSession behind a wire that can be cut; 1 ms each way. */
function bfdWire(clock: FakeClock) {
  const wire = {
    up: true,
    toRemote: true,
    remote: undefined as BfdSession | undefined,
    opened: [] as string[],
  };
  const transport: BfdTransport = {
    async open(o) {
      wire.opened.push(`${o.local}->${o.peer}`);
      const remote = new BfdSession({
        clock,
        localDiscr: 0x7777,
        params: { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 },
        send: (bytes) => {
          if (wire.up) clock.setTimer(1, () => o.onPacket(bytes));
        },
        random: () => 0,
      });
      wire.remote = remote;
      remote.start();
      return {
        sourcePort: 49152,
        send: (bytes) => {
          if (wire.up && wire.toRemote) clock.setTimer(1, () => remote.receive(bytes));
        },
        close: () => remote.close(),
      };
    },
  };
  return { wire, transport };
}

async function start(clock: FakeClock, peerPort: number, bfd: PeerConfig["bfd"] = {}) {
  const { wire, transport } = bfdWire(clock);
  const cfg: SpeakerConfig = {
    routerId: "10.0.0.1",
    asn: 65001,
    peers: [
      {
        address: "127.0.0.2",
        port: peerPort,
        asn: 65002,
        localAddress: "127.0.0.1",
        importPolicy: "ACCEPT_ALL",
        exportPolicy: "ACCEPT_ALL",
        bfd,
      },
    ],
  };
  const s = new Speaker(cfg, {
    clock,
    transport: loopback,
    bfdTransport: transport,
    random: () => 0,
  } as never);
  cleanups.push(() => s.stop());
  await s.start();
  return { s, wire, cfg };
}

const status = (s: Speaker) => s.peerStatus()[0]!;
const established = (s: Speaker) =>
  eventually(() => status(s).state === "Established", { what: `BGP Established (now ${status(s).state})` });

describe("BFD bound to BGP", () => {
  it("BFD Up with negotiated intervals; silence for 3 × 300 ms ends BGP with Cease / BFD Down, routes gone", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, wire } = await start(clock, peer.port);
    await established(s);
    await clock.advanceAsync(5000);
    expect(wire.opened).toEqual(["127.0.0.1->127.0.0.2"]);
    expect(status(s).bfd).toMatchObject({
      state: "Up",
      remoteState: "Up",
      txIntervalMs: 300,
      detectTimeMs: 900,
      local: { minTxMs: 300, minRxMs: 300, multiplier: 3 },
      remote: { minTxMs: 300, minRxMs: 300, multiplier: 3 },
      localAddress: "127.0.0.1",
    });
    peer.announce();
    await eventually(() => s.ribEntries("ipv4", "10.1.0.0/24").length === 1, { what: "the peer's route" });

    // The last packet from the peer's BFD has just arrived: cut the wire then.
    const received = () => status(s).bfd?.packets?.received ?? 0;
    const n = received();
    while (received() === n) clock.runNext();
    const lastRx = clock.now();
    wire.up = false;
    await clock.advanceAsync(899);
    expect(status(s).state).toBe("Established");
    await clock.advanceAsync(1);
    expect(clock.now() - lastRx).toBe(900);
    expect(status(s).state).toBe("Idle");
    expect(status(s).bfd).toMatchObject({
      state: "Down",
      lastDown: "BFD: detection time expired (3 × 300 ms)",
    });
    expect(status(s).lastError).toBe(
      "NOTIFICATION sent: Cease / BFD Down (BFD: detection time expired (3 × 300 ms))",
    );
    expect(s.ribEntries("ipv4", "10.1.0.0/24")).toEqual([]);
    await eventually(() => peer.got.some((m) => m.type === "NOTIFICATION"), { what: "the NOTIFICATION" });
    expect(peer.got.find((m) => m.type === "NOTIFICATION")).toMatchObject({ code: 6, subcode: 10 });

    // BGP restarts after 1 s and comes up although BFD stays Down: no flap loop.
    await clock.advanceAsync(1000);
    await established(s);
    await clock.advanceAsync(30_000);
    expect(status(s)).toMatchObject({ state: "Established", flaps: 1 });
    expect(status(s).bfd?.state).not.toBe("Up");

    // The wire is back: BFD comes Up again, BGP untouched.
    wire.up = true;
    await clock.advanceAsync(5000);
    expect(status(s).bfd?.state).toBe("Up");
    expect(status(s)).toMatchObject({ state: "Established", flaps: 1 });
  });

  it("the peer's BFD says Down: BGP ends with 'BFD: neighbour signalled down'; AdminDown keeps BGP", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, wire } = await start(clock, peer.port);
    await established(s);
    await clock.advanceAsync(5000);
    expect(status(s).bfd?.state).toBe("Up");
    // AdminDown first (RFC 5882 §3.2: not a failure), then back, then a real Down.
    wire.remote!.adminDown();
    await clock.advanceAsync(10);
    expect(status(s)).toMatchObject({ state: "Established" });
    expect(status(s).bfd?.lastDown).toBe("BFD: neighbour went AdminDown; BGP session kept (RFC 5882 §3.2)");
    wire.remote!.adminUp();
    await clock.advanceAsync(5000);
    expect(status(s).bfd?.state).toBe("Up");
    // The peer's own detection runs out (our packets stop reaching it) and it tells us Down.
    wire.toRemote = false;
    await clock.advanceAsync(905);
    expect(status(s).state).not.toBe("Established");
    expect(status(s).lastError).toBe("NOTIFICATION sent: Cease / BFD Down (BFD: neighbour signalled down)");
  });

  it("a BFD that never comes Up does not hold BGP back (RFC 5882 §4.2)", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, wire } = await start(clock, peer.port);
    wire.up = false;
    await established(s);
    await clock.advanceAsync(60_000);
    expect(status(s)).toMatchObject({ state: "Established", flaps: 0 });
    expect(status(s).bfd?.state).toBe("Down");
  });

  it("intervals change by reconfigure without a BGP reset", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, cfg } = await start(clock, peer.port);
    await established(s);
    await clock.advanceAsync(5000);
    const next = {
      ...cfg,
      peers: [{ ...cfg.peers[0]!, bfd: { minRxMs: 500, minTxMs: 500, multiplier: 4 } }],
    };
    expect(planReconfigure(cfg, next).peers).toMatchObject([{ action: "update", changed: ["bfd"] }]);
    const r = await s.reconfigure(next);
    expect(r.reset).toEqual([]);
    await clock.advanceAsync(5000);
    expect(status(s)).toMatchObject({ state: "Established", flaps: 0 });
    expect(status(s).bfd).toMatchObject({
      state: "Up",
      txIntervalMs: 500,
      local: { minRxMs: 500, multiplier: 4 },
    });
  });

  it("validation names the field and the value; the words for each cause", () => {
    const cfg = (bfd: Record<string, unknown>): SpeakerConfig => ({
      routerId: "10.0.0.1",
      asn: 65001,
      peers: [{ address: "10.0.0.2", asn: 65002, bfd: bfd as never }],
    });
    expect(() => validateSpeakerConfig(cfg({ multiplier: 0 }))).toThrow(
      "peers[0].bfd.multiplier: must be an integer in 1..255 (value 0)",
    );
    expect(() => validateSpeakerConfig(cfg({ minRxMs: 1.5 }))).toThrow(
      "peers[0].bfd.minRxMs: must be an integer in 1..4294967 (value 1.5)",
    );
    expect(checkBfdConfig({ interval: 3 } as never)).toEqual([
      "interval",
      "unknown field (minRxMs, minTxMs, multiplier)",
    ]);
    expect(bfdDownWords({ kind: "detect-expired", detectMult: 3, intervalUs: 300_000 })).toBe(
      "BFD: detection time expired (3 × 300 ms)",
    );
    expect(bfdDownWords({ kind: "neighbour-down" })).toBe("BFD: neighbour signalled down");
    expect(bfdDownWords({ kind: "neighbour-admin-down" })).toBeUndefined();
  });
});
