// The BFD state machine (RFC 5880 §6.8) through its driver, two sessions joined by a wire on the
// fake clock: the three-way handshake, the Poll Sequence that takes the rate from 1 s to 300 ms, the
// detection time to the millisecond, a neighbour that says Down or AdminDown, a parameter change by
// Poll/Final, and our own AdminDown. Nothing sleeps.
import { describe, expect, it } from "vitest";
import { type BfdControlPacket, decodeControl, encodeControl } from "../../../../bgp/bfd/codec.js";
import { jitteredMs, SLOW_TX_US } from "../../../../bgp/bfd/fsm.js";
import { BfdSession, type BfdStateChange } from "../../../../bgp/bfd/session.js";
import { FakeClock } from "../../../harness/clock.js";

const params = (txMs = 300, rxMs = 300, mult = 3) => ({
  desiredMinTxUs: txMs * 1000,
  requiredMinRxUs: rxMs * 1000,
  detectMult: mult,
});

/** a and b, each packet delivered after `latencyMs` unless the wire is cut. */
function pair(clock: FakeClock, opts: { latencyMs?: number; a?: ReturnType<typeof params> } = {}) {
  const wire = { up: true, aToB: [] as BfdControlPacket[], bToA: [] as BfdControlPacket[] };
  const changes = { a: [] as BfdStateChange[], b: [] as BfdStateChange[] };
  const lat = opts.latencyMs ?? 1;
  let a: BfdSession;
  let b: BfdSession;
  const deliver = (to: () => BfdSession, log: BfdControlPacket[]) => (bytes: Uint8Array) => {
    log.push(decodeControl(bytes));
    if (!wire.up) return;
    const copy = bytes.slice();
    clock.setTimer(lat, () => to().receive(copy));
  };
  a = new BfdSession({
    clock,
    localDiscr: 0x1111,
    params: opts.a ?? params(),
    send: deliver(() => b, wire.aToB),
    onStateChange: (c) => changes.a.push(c),
    random: () => 0, // no jitter: exact times
  });
  b = new BfdSession({
    clock,
    localDiscr: 0x2222,
    params: params(),
    send: deliver(() => a, wire.bToA),
    onStateChange: (c) => changes.b.push(c),
    random: () => 0,
  });
  return { a, b, wire, changes };
}

describe("BFD state machine", () => {
  it("three-way handshake Down -> Init -> Up, slow (1 s) until Up, then 300 ms after Poll/Final", () => {
    const clock = new FakeClock();
    const { a, b, wire, changes } = pair(clock);
    a.start();
    expect(wire.aToB[0]).toMatchObject({ state: "Down", yourDiscr: 0, desiredMinTxUs: SLOW_TX_US });
    clock.advance(500);
    b.start();
    clock.advance(10);
    expect(a.state).toBe("Up");
    expect(b.state).toBe("Up");
    expect(changes.b.map((c) => `${c.from}>${c.to}`)).toEqual(["Down>Init", "Init>Up"]);
    expect(changes.a.map((c) => `${c.from}>${c.to}`)).toEqual(["Down>Up"]);
    // Going Up lowered DesiredMinTx from 1 s to 300 ms: a Poll Sequence, answered with Final.
    expect(wire.aToB.some((p) => p.poll && p.state === "Up" && p.desiredMinTxUs === 300_000)).toBe(true);
    expect(wire.bToA.some((p) => p.final)).toBe(true);
    clock.advance(2000);
    for (const s of [a, b]) {
      const st = s.status();
      expect(st).toMatchObject({
        state: "Up",
        remoteState: "Up",
        polling: false,
        txIntervalMs: 300,
        detectTimeMs: 900,
      });
      expect(st.remote).toEqual({ minTxMs: 300, minRxMs: 300, multiplier: 3 });
    }
    // Steady state: one packet per 300 ms each way.
    const before = wire.aToB.length;
    clock.advance(3000);
    expect(wire.aToB.length - before).toBe(10);
  });

  it("goes Down exactly one detection time (3 × 300 ms) after the last packet, with diag 1", () => {
    const clock = new FakeClock();
    const { a, b, wire, changes } = pair(clock, { latencyMs: 0 });
    a.start();
    b.start();
    clock.advance(5000);
    expect(a.state).toBe("Up");
    // Cut right after b's packet arrived at a.
    const received = () => a.status().packets.received;
    const n = received();
    while (received() === n) clock.runNext();
    const lastRx = clock.now();
    wire.up = false;
    clock.advance(899);
    expect(a.state).toBe("Up");
    clock.advance(1);
    expect(a.state).toBe("Down");
    expect(clock.now() - lastRx).toBe(900);
    const down = changes.a.at(-1)!;
    expect(down).toEqual({
      from: "Up",
      to: "Down",
      diag: 1,
      cause: { kind: "detect-expired", detectMult: 3, intervalUs: 300_000 },
    });
    expect(a.status()).toMatchObject({ localDiag: "Control Detection Time Expired", remoteDiscriminator: 0 });
    // Back to the slow rate and Your Discriminator 0 while Down.
    const sent = wire.aToB.length;
    clock.advance(1000);
    expect(wire.aToB.slice(sent)).toEqual([
      expect.objectContaining({ state: "Down", yourDiscr: 0, desiredMinTxUs: SLOW_TX_US, diag: 1 }),
    ]);
    void b;
  });

  it("comes back Up when the wire is restored", () => {
    const clock = new FakeClock();
    const { a, b, wire } = pair(clock);
    a.start();
    b.start();
    clock.advance(5000);
    wire.up = false;
    clock.advance(2000);
    expect([a.state, b.state]).toEqual(["Down", "Down"]);
    wire.up = true;
    clock.advance(5000);
    expect([a.state, b.state]).toEqual(["Up", "Up"]);
  });

  it("neighbour signals Down: Down at once with diag 3 (Neighbor Signaled Session Down)", () => {
    const clock = new FakeClock();
    const { a, b, changes } = pair(clock);
    a.start();
    b.start();
    clock.advance(5000);
    // What b sends once its own detection time ran out: Down, diag 1, still knowing a's discriminator.
    const last = b.fsmState;
    a.receive(
      encodeControl({
        diag: 1,
        state: "Down",
        poll: false,
        final: false,
        cpi: false,
        auth: false,
        demand: false,
        multipoint: false,
        detectMult: 3,
        myDiscr: last.localDiscr,
        yourDiscr: 0x1111,
        desiredMinTxUs: 1_000_000,
        requiredMinRxUs: 300_000,
        requiredMinEchoRxUs: 0,
      }),
    );
    expect(a.state).not.toBe("Up");
    expect(changes.a.find((c) => c.from === "Up")).toEqual({
      from: "Up",
      to: "Down",
      diag: 3,
      cause: { kind: "neighbour-down" },
    });
  });

  it("neighbour AdminDown: Down with diag 3, marked as administrative (RFC 5882 §3.2)", () => {
    const clock = new FakeClock();
    const { a, b, changes } = pair(clock);
    a.start();
    b.start();
    clock.advance(5000);
    b.adminDown();
    clock.advance(2);
    expect(b.state).toBe("AdminDown");
    expect(a.state).toBe("Down");
    expect(changes.a.at(-1)).toEqual({
      from: "Up",
      to: "Down",
      diag: 3,
      cause: { kind: "neighbour-admin-down" },
    });
    expect(changes.b.at(-1)).toEqual({ from: "Up", to: "AdminDown", diag: 7, cause: { kind: "admin-down" } });
    // AdminDown ignores what it receives and stays there; a stays Down (no Init from AdminDown).
    clock.advance(10_000);
    expect([a.state, b.state]).toEqual(["Down", "AdminDown"]);
    b.adminUp();
    clock.advance(5000);
    expect([a.state, b.state]).toEqual(["Up", "Up"]);
  });

  it("a parameter change runs a Poll Sequence; a slower TX rate only applies after the Final", () => {
    const clock = new FakeClock();
    const { a, b, wire } = pair(clock, { latencyMs: 5 });
    a.start();
    b.start();
    clock.advance(5000);
    expect(a.status().txIntervalMs).toBe(300);
    const n = wire.aToB.length;
    a.setParams(params(600, 500, 5));
    // The poll starts with a packet now, carrying the new values; the old rate stays in effect.
    expect(wire.aToB[n]).toMatchObject({
      poll: true,
      desiredMinTxUs: 600_000,
      requiredMinRxUs: 500_000,
      detectMult: 5,
    });
    expect(a.status()).toMatchObject({ polling: true, txIntervalMs: 300 });
    clock.advance(10); // P there, F back
    expect(wire.bToA.some((p, i) => i > 0 && p.final)).toBe(true);
    expect(a.status()).toMatchObject({ polling: false, txIntervalMs: 600 });
    clock.advance(3000);
    // b sends at a's new RequiredMinRx and detects with a's new multiplier and TX rate.
    expect(b.status()).toMatchObject({ state: "Up", txIntervalMs: 500, detectTimeMs: 5 * 600 });
    expect(a.status()).toMatchObject({ state: "Up", detectTimeMs: 3 * 500 });
    // P and F never together.
    expect([...wire.aToB, ...wire.bToA].some((p) => p.poll && p.final)).toBe(false);
  });

  it("our AdminDown: diag 7, packets say AdminDown, no detection; peer goes Down", () => {
    const clock = new FakeClock();
    const { a, b, wire } = pair(clock);
    a.start();
    b.start();
    clock.advance(5000);
    a.adminDown();
    expect(wire.aToB.at(-1)).toMatchObject({ state: "AdminDown", diag: 7 });
    clock.advance(2);
    expect(b.state).toBe("Down");
    wire.up = false;
    clock.advance(10_000);
    expect(a.state).toBe("AdminDown");
  });

  it("discards packets for another discriminator and counts what the codec rejects", () => {
    const clock = new FakeClock();
    const { a } = pair(clock);
    a.receive(new Uint8Array(10));
    expect(a.status().packets.discarded).toBe(1);
    expect(a.status().lastDiscard).toBe("BFD packet of 10 bytes, need 24 (at byte 0)");
  });

  it("jitter: 0-25 % less, 10-25 % less with a multiplier of 1 (§6.8.7)", () => {
    expect(jitteredMs(300_000, 3, 0)).toBe(300);
    expect(jitteredMs(300_000, 3, 0.999999)).toBeCloseTo(225, 3);
    expect(jitteredMs(300_000, 1, 0)).toBeCloseTo(270, 6);
    expect(jitteredMs(300_000, 1, 0.999999)).toBeCloseTo(225, 3);
  });
});
