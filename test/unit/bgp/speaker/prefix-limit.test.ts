// Per-peer, per-family prefix limits (maxPrefixes): the pure check and words, the FSM's own Cease, and
// the speaker against raw loopback peers on the fake clock: the warning logged once, the trip with the
// exact RFC 4486 NOTIFICATION bytes, Idle with the routes withdrawn, the restart after exactly
// restartAfterSeconds, shutdown, warn, and a reconfigure of the limit that does not reset the session.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MessageFramer } from "../../../../bgp/codec/framing.js";
import { type BgpMessage, decodeMessage, encodeKeepalive } from "../../../../bgp/codec/message.js";
import { describeNotification, maxPrefixesData } from "../../../../bgp/codec/notification.js";
import { encodeOpen } from "../../../../bgp/codec/open.js";
import { FSM_DEFAULTS, type FsmConfig, type FsmState, step } from "../../../../bgp/session/fsm.js";
import { buildOpen } from "../../../../bgp/session/negotiate.js";
import type { MaxPrefixes, PeerConfig, SpeakerConfig } from "../../../../bgp/speaker/config.js";
import {
  checkPrefixLimit,
  FRESH,
  maxPrefixesNotificationData,
  resolveLimit,
} from "../../../../bgp/speaker/prefix-limit.js";
import { planReconfigure } from "../../../../bgp/speaker/reconfigure.js";
import { Speaker, SpeakerError, validateSpeakerConfig } from "../../../../bgp/speaker/speaker.js";
import { speakerRegistry } from "../../../../src/bgp/metrics.js";
import { FakeClock } from "../../../harness/clock.js";
import { eventually } from "../../../harness/wait.js";
import { attr, b, ORIGIN_IGP, update } from "../build.js";

const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");

describe("prefix limit: pure parts", () => {
  it("RFC 4486 §4 data: AFI (2 octets), SAFI (1), limit (4), and how it reads", () => {
    expect(hex(maxPrefixesNotificationData("ipv4", 1000))).toBe("000101000003e8");
    expect(hex(maxPrefixesNotificationData("ipv6", 0xfffffffe))).toBe("000201fffffffe");
    const n = { type: "NOTIFICATION", code: 6, subcode: 1, data: maxPrefixesNotificationData("ipv4", 1000) };
    expect(maxPrefixesData(n as never)).toEqual({ afi: 1, safi: 1, limit: 1000 });
    expect(describeNotification(n as never)).toBe(
      "Cease / Maximum Number of Prefixes Reached: ipv4 unicast, limit 1000",
    );
    // Without the data (many implementations send none) it is the names only.
    expect(describeNotification({ type: "NOTIFICATION", code: 6, subcode: 1, data: new Uint8Array(0) })).toBe(
      "Cease / Maximum Number of Prefixes Reached",
    );
  });

  it("defaults as FRR/BIRD: warning at 75 %, restart after 60 s; warning and exceeded once per crossing", () => {
    const l = resolveLimit({ limit: 1000 });
    expect(l).toEqual({ limit: 1000, warningAt: 750, action: "restart", restartAfterSeconds: 60 });
    expect(resolveLimit({ limit: 3, warningPercent: 50 }).warningAt).toBe(2);
    let m = FRESH;
    const seq: (string | undefined)[] = [];
    for (const count of [749, 750, 800, 1000, 1001, 1200, 900, 1001, 10, 760]) {
      const r = checkPrefixLimit(count, l, m);
      m = r.memory;
      seq.push(r.event);
    }
    expect(seq).toEqual([
      undefined,
      "warning",
      undefined,
      undefined,
      "exceeded",
      undefined,
      undefined, // back under the limit (still above the warning: no new warning)
      "exceeded",
      undefined,
      "warning",
    ]);
  });

  it("validation names the field and the value", () => {
    const cfg = (m: MaxPrefixes): SpeakerConfig => ({
      routerId: "10.0.0.1",
      asn: 65001,
      peers: [{ address: "10.0.0.2", asn: 65002, maxPrefixes: { ipv6: m } }],
    });
    const msg = (m: MaxPrefixes) => {
      try {
        validateSpeakerConfig(cfg(m));
      } catch (e) {
        expect(e).toBeInstanceOf(SpeakerError);
        return (e as Error).message;
      }
      return "ok";
    };
    expect(msg({ limit: 0 })).toBe(
      "peers[0].maxPrefixes.ipv6.limit: must be an integer in 1..4294967295 (value 0)",
    );
    expect(msg({ limit: 10, warningPercent: 101 })).toBe(
      "peers[0].maxPrefixes.ipv6.warningPercent: must be an integer in 1..100 (value 101)",
    );
    expect(msg({ limit: 10, action: "drop" as never })).toBe(
      "peers[0].maxPrefixes.ipv6.action: must be restart, shutdown or warn (value drop)",
    );
    expect(msg({ limit: 10, restartAfterSeconds: 2 })).toBe("ok");
  });

  it("a change of limits is an in-place update, never a reset", () => {
    const base: SpeakerConfig = {
      routerId: "10.0.0.1",
      asn: 65001,
      peers: [{ address: "10.0.0.2", asn: 65002, maxPrefixes: { ipv4: { limit: 10 } } }],
    };
    const next = { ...base, peers: [{ ...base.peers[0]!, maxPrefixes: { ipv4: { limit: 5 } } }] };
    expect(planReconfigure(base, next).peers).toEqual([
      {
        address: "10.0.0.2",
        action: "update",
        changed: ["maxPrefixes"],
        reexport: false,
        reimport: false,
        listenerKey: false,
        limits: true,
      },
    ]);
    expect(planReconfigure(base, base).peers).toEqual([]);
  });

  it("the FSM's own Cease: NOTIFICATION with the data, Idle and stopped until a start", () => {
    const cfg: FsmConfig = {
      localOpen: buildOpen({ localAs: 65001, routerId: "10.0.0.1", holdTimeSec: 90, families: ["ipv4"] }),
      expect: { peerAs: 65002, localAs: 65001, routerId: "10.0.0.1" },
      passive: false,
      ...FSM_DEFAULTS,
    };
    const established: FsmState = {
      name: "Established",
      connectRetryCounter: 0,
      idleHoldMs: 5000,
      stopped: false,
      establishedAt: 0,
    };
    const data = maxPrefixesNotificationData("ipv4", 10);
    const r = step(established, { kind: "cease", subcode: 1, data, detail: "prefix limit" }, cfg, 1000);
    expect(r.state).toEqual({ name: "Idle", connectRetryCounter: 1, idleHoldMs: 5000, stopped: true });
    expect(r.actions).toEqual([
      { kind: "send", msg: { type: "NOTIFICATION", code: 6, subcode: 1, data } },
      { kind: "disconnect" },
      ...["connectRetry", "hold", "keepalive", "idleHold"].map((timer) => ({ kind: "stop-timer", timer })),
      {
        kind: "down",
        reason: { kind: "notification-sent", code: 6, subcode: 1, data, detail: "prefix limit" },
        wasEstablished: true,
      },
    ]);
    // No idle-hold restart: the idle hold timer does nothing, only a start does.
    expect(step(r.state, { kind: "timer", timer: "idleHold" }, cfg, 99_000).state.name).toBe("Idle");
    expect(step(r.state, { kind: "start" }, cfg, 99_000).state.name).toBe("Connect");
  });
});

// ---- the speaker against raw peers ------------------------------------------------------------------

const servers: Server[] = [];
const sockets: Socket[] = [];
const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface RawPeer {
  port: number;
  /** Every message received, with its bytes. */
  got: { msg: BgpMessage; bytes: Uint8Array }[];
  connections: number;
  /** Announces `count` /24s from 10.<base>.0.0 in one UPDATE. */
  announce(count: number, base?: number): void;
}

/** A listening peer (AS 65002) that answers OPEN and KEEPALIVE and announces what it is told to. */
async function rawPeer(host: string): Promise<RawPeer> {
  let sock: Socket | undefined;
  const peer: RawPeer = {
    port: 0,
    got: [],
    connections: 0,
    announce(count, base = 1) {
      const nlri = b(...Array.from({ length: count }, (_, i) => [24, 10, base + (i >> 8), i & 0xff]).flat());
      const asPath = attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xea]); // 65002, 4-octet
      const nextHop = attr(0x40, 3, host.split(".").map(Number));
      sock!.write(update({ attrs: [ORIGIN_IGP, asPath, nextHop], nlri }));
    },
  };
  const server = createServer((s) => {
    sock = s;
    sockets.push(s);
    peer.connections++;
    const f = new MessageFramer(65535);
    s.on("data", (c: Buffer) => {
      for (const m of f.push(new Uint8Array(c))) {
        const msg = decodeMessage(m.bytes, { fourOctetAs: true });
        peer.got.push({ msg, bytes: m.bytes.slice() });
        if (msg.type === "OPEN") {
          s.write(
            encodeOpen(
              // Hold time 0: no keepalives needed while the fake clock jumps ahead.
              buildOpen({ localAs: 65002, routerId: host, holdTimeSec: 0, families: ["ipv4", "ipv6"] }),
            ),
          );
          s.write(encodeKeepalive());
        }
      }
    });
    s.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  peer.port = (server.address() as { port: number }).port;
  return peer;
}

const loopback = {
  connect: (o: { host: string; port?: number }) =>
    new Promise<Socket>((resolve, reject) => {
      const c = connect({ host: o.host, port: o.port ?? 179 });
      c.once("connect", () => resolve(c));
      c.once("error", (e: Error) => reject(Object.assign(e, { reason: "connection refused" })));
    }),
};

type LogLine = { level: string; msg: string; fields: Record<string, unknown> };

function peerCfg(host: string, port: number, maxPrefixes?: PeerConfig["maxPrefixes"]): PeerConfig {
  return {
    address: host,
    port,
    asn: 65002,
    importPolicy: "ACCEPT_ALL",
    exportPolicy: "ACCEPT_ALL",
    ...(maxPrefixes ? { maxPrefixes } : {}),
  };
}

async function startSpeaker(clock: FakeClock, peers: PeerConfig[]) {
  const logs: LogLine[] = [];
  const cfg: SpeakerConfig = { routerId: "10.0.0.1", asn: 65001, peers };
  const s = new Speaker(cfg, {
    clock,
    transport: loopback,
    log: (level, msg, fields) => logs.push({ level, msg, fields }),
  });
  speakers.push(s);
  await s.start();
  return { s, logs, cfg };
}

const status = (s: Speaker, address = "127.0.0.2") => s.peerStatus().find((p) => p.address === address)!;
const accepted = (s: Speaker, address = "127.0.0.2") => status(s, address).prefixes.ipv4.accepted;
const up = (s: Speaker, address = "127.0.0.2") =>
  eventually(() => status(s, address).state === "Established", { what: `${address} Established` });
const notifications = (p: RawPeer) => p.got.filter((g) => g.msg.type === "NOTIFICATION");
const limitLogs = (logs: LogLine[]) => logs.filter((l) => l.msg.startsWith("prefix limit"));

describe("prefix limit: the speaker", () => {
  it("warns once at the threshold, with the peer as a field, and shows it in status", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, logs } = await startSpeaker(clock, [
      peerCfg("127.0.0.2", peer.port, { ipv4: { limit: 10, warningPercent: 50 } }),
    ]);
    await up(s);
    peer.announce(4);
    await eventually(() => accepted(s) === 4, { what: "4 prefixes" });
    expect(limitLogs(logs)).toEqual([]);
    peer.announce(1, 50);
    await eventually(() => accepted(s) === 5, { what: "5 prefixes" });
    peer.announce(2, 60);
    await eventually(() => accepted(s) === 7, { what: "7 prefixes" });
    expect(limitLogs(logs)).toEqual([
      {
        level: "warn",
        msg: "prefix limit warning: 5 prefixes from the peer (ipv4 unicast), warning at 5, limit 10",
        fields: { peer: "127.0.0.2", family: "ipv4", count: 5, warningAt: 5, limit: 10 },
      },
    ]);
    const st = status(s);
    expect(st.state).toBe("Established");
    expect(st.prefixLimit).toBe(
      "prefix limit warning: 7 prefixes from the peer (ipv4 unicast), warning at 5, limit 10",
    );
    expect(st.prefixLimits).toEqual([
      {
        family: "ipv4",
        limit: 10,
        warningAt: 5,
        action: "restart",
        restartAfterSeconds: 60,
        count: 7,
        state: "warning",
        trips: 0,
      },
    ]);
    expect(notifications(peer)).toEqual([]);
  });

  it("over the limit: Cease/1 with 00 01 01 + limit on the wire, Idle, routes withdrawn, back after exactly 60 s; other sessions untouched", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const other = await rawPeer("127.0.0.3");
    const { s, logs } = await startSpeaker(clock, [
      peerCfg("127.0.0.2", peer.port, { ipv4: { limit: 10 } }),
      peerCfg("127.0.0.3", other.port, { ipv4: { limit: 10 } }),
    ]);
    await up(s);
    await up(s, "127.0.0.3");
    other.announce(3, 200);
    await eventually(() => accepted(s, "127.0.0.3") === 3, { what: "the other peer's 3 prefixes" });
    peer.announce(10);
    await eventually(() => accepted(s) === 10, { what: "10 prefixes (at the limit, not over)" });
    expect(status(s).state).toBe("Established");
    peer.announce(1, 100);
    await eventually(() => notifications(peer).length === 1, { what: "the NOTIFICATION" });
    const n = notifications(peer)[0]!;
    // Header (marker, length 28, type 3), Cease (6) / Maximum Number of Prefixes Reached (1),
    // AFI 1, SAFI 1, limit 10 (RFC 4486 §4).
    expect(hex(n.bytes)).toBe(`${"ff".repeat(16)}001c03` + "0601" + "000101" + "0000000a");
    const st = status(s);
    expect(st.state).toBe("Idle");
    expect(st.prefixes.ipv4.accepted).toBe(0);
    expect(s.ribEntries("ipv4").filter((r) => r.from === "127.0.0.2")).toEqual([]);
    expect(st.lastError).toBe(
      "NOTIFICATION sent: Cease / Maximum Number of Prefixes Reached (prefix limit: 11 prefixes from the peer (ipv4 unicast), limit 10); restarting in 60 s",
    );
    expect(st.prefixLimit).toBe(
      "prefix limit: 11 prefixes from the peer (ipv4 unicast), limit 10; restarting in 60 s",
    );
    expect(st.prefixLimits?.[0]).toMatchObject({ state: "exceeded", trips: 1, count: 0 });
    expect(limitLogs(logs).map((l) => [l.level, l.msg, l.fields.peer])).toEqual([
      [
        "warn",
        "prefix limit warning: 10 prefixes from the peer (ipv4 unicast), warning at 8, limit 10",
        "127.0.0.2",
      ],
      [
        "warn",
        "prefix limit: 11 prefixes from the peer (ipv4 unicast), limit 10; restarting in 60 s",
        "127.0.0.2",
      ],
    ]);
    // The other session and its routes stay.
    expect(status(s, "127.0.0.3")).toMatchObject({ state: "Established", flaps: 0 });
    expect(accepted(s, "127.0.0.3")).toBe(3);
    expect(notifications(other)).toEqual([]);
    const metrics = await speakerRegistry(s).metrics();
    expect(metrics).toContain('tabby_bgp_prefix_limit_trips_total{peer="127.0.0.2",family="ipv4"} 1');
    expect(metrics).toContain('tabby_bgp_prefix_limit_trips_total{peer="127.0.0.3",family="ipv4"} 0');
    // Not a moment before the restart time.
    clock.advance(59_999);
    expect(status(s).state).toBe("Idle");
    expect(status(s).lastError).toMatch(/; restarting in 1 s$/);
    expect(peer.connections).toBe(1);
    clock.advance(1);
    expect(status(s).state).toBe("Connect");
    await up(s);
    expect(peer.connections).toBe(2);
    expect(status(s).prefixLimit).toBeUndefined();
    expect(status(s).lastError).toBeUndefined();
  });

  it("shutdown stays down until reconfigured; warn only logs once and keeps the session", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const other = await rawPeer("127.0.0.3");
    const { s, logs, cfg } = await startSpeaker(clock, [
      peerCfg("127.0.0.2", peer.port, { ipv4: { limit: 3, action: "shutdown" } }),
      peerCfg("127.0.0.3", other.port, { ipv4: { limit: 3, action: "warn" } }),
    ]);
    await up(s);
    await up(s, "127.0.0.3");
    peer.announce(4);
    other.announce(4);
    await eventually(() => notifications(peer).length === 1, { what: "the NOTIFICATION" });
    await eventually(() => accepted(s, "127.0.0.3") === 4, { what: "the warn peer's 4 prefixes" });
    other.announce(2, 50);
    await eventually(() => accepted(s, "127.0.0.3") === 6, { what: "6 prefixes" });
    expect(hex(notifications(peer)[0]!.bytes.subarray(19))).toBe("060100010100000003");
    clock.advance(3600_000);
    expect(status(s)).toMatchObject({
      state: "Idle",
      prefixLimit:
        "prefix limit: 4 prefixes from the peer (ipv4 unicast), limit 3; down until reconfigured or started (action shutdown)",
    });
    expect(peer.connections).toBe(1);
    // warn: one log for the crossing, status says so, the session stays.
    expect(
      limitLogs(logs).filter((l) => l.fields.peer === "127.0.0.3" && l.msg.startsWith("prefix limit:")),
    ).toEqual([
      {
        level: "warn",
        msg: "prefix limit: 4 prefixes from the peer (ipv4 unicast), limit 3; session kept (action warn)",
        fields: { peer: "127.0.0.3", family: "ipv4", count: 4, limit: 3, action: "warn" },
      },
    ]);
    expect(status(s, "127.0.0.3")).toMatchObject({
      state: "Established",
      prefixLimit:
        "prefix limit: 6 prefixes from the peer (ipv4 unicast), limit 3; session kept (action warn)",
    });
    expect(status(s, "127.0.0.3").prefixLimits?.[0]).toMatchObject({ state: "exceeded", trips: 1, count: 6 });
    expect(notifications(other)).toEqual([]);
    // Reconfiguring the limit brings the shut-down peer back.
    const next: SpeakerConfig = {
      ...cfg,
      peers: [{ ...cfg.peers[0]!, maxPrefixes: { ipv4: { limit: 100, action: "shutdown" } } }, cfg.peers[1]!],
    };
    const r = await s.reconfigure(next);
    expect(r.reset).toEqual([]);
    expect(r.updated).toEqual([{ address: "127.0.0.2", changed: ["maxPrefixes"] }]);
    await up(s);
    expect(peer.connections).toBe(2);
  });

  it("a new limit applies to the routes already in, without a reset: above it trips, below it nothing happens", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer("127.0.0.2");
    const { s, cfg } = await startSpeaker(clock, [peerCfg("127.0.0.2", peer.port, { ipv4: { limit: 100 } })]);
    await up(s);
    peer.announce(8);
    await eventually(() => accepted(s) === 8, { what: "8 prefixes" });
    const { maxPrefixes: _, ...without } = cfg.peers[0]!;
    const withLimit = (m: MaxPrefixes | undefined): SpeakerConfig => ({
      ...cfg,
      peers: [m ? { ...without, maxPrefixes: { ipv4: m } } : without],
    });
    // Raised, and removed: the session stays as it is (no NOTIFICATION, no second session).
    expect((await s.reconfigure(withLimit({ limit: 20 }))).updated).toEqual([
      { address: "127.0.0.2", changed: ["maxPrefixes"] },
    ]);
    await s.reconfigure(withLimit(undefined));
    expect(status(s)).toMatchObject({ state: "Established", flaps: 0 });
    expect(status(s).prefixLimits).toBeUndefined();
    // Lowered under the count: as on exceeding, with the new limit in the data.
    const r = await s.reconfigure(withLimit({ limit: 5, restartAfterSeconds: 2 }));
    expect(r.reset).toEqual([]);
    expect(status(s).state).toBe("Idle");
    await eventually(() => notifications(peer).length === 1, { what: "the NOTIFICATION" });
    expect(hex(notifications(peer)[0]!.bytes.subarray(19))).toBe("060100010100000005");
    expect(status(s).lastError).toBe(
      "NOTIFICATION sent: Cease / Maximum Number of Prefixes Reached (prefix limit: 8 prefixes from the peer (ipv4 unicast), limit 5); restarting in 2 s",
    );
    expect(peer.connections).toBe(1);
    clock.advance(2000);
    await up(s);
    expect(peer.connections).toBe(2);
  });
});
