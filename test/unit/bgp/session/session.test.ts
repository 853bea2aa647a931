// The session driver on real loopback TCP with the fake clock: OPEN exchange, exact keepalive and hold
// timing, hold-timer expiry with its NOTIFICATION, connect-retry after a refused connection, and the
// collision rule of RFC 4271 §6.8.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MessageFramer } from "../../../../bgp/codec/framing.js";
import { type BgpMessage, decodeMessage, encodeKeepalive } from "../../../../bgp/codec/message.js";
import { encodeOpen } from "../../../../bgp/codec/open.js";
import { FSM_DEFAULTS } from "../../../../bgp/session/fsm.js";
import { buildOpen } from "../../../../bgp/session/negotiate.js";
import { collisionKeepsExisting, Session } from "../../../../bgp/session/session.js";
import { FakeClock } from "../../../harness/clock.js";
import { eventually } from "../../../harness/wait.js";

const servers: Server[] = [];
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A listening raw peer that answers OPEN/KEEPALIVE by hand and records what it receives. */
async function rawPeer() {
  const got: BgpMessage[] = [];
  let sock: Socket | undefined;
  const server = createServer((s) => {
    sock = s;
    const f = new MessageFramer();
    s.on("data", (c: Buffer) => {
      for (const m of f.push(new Uint8Array(c))) {
        const msg = decodeMessage(m.bytes, { fourOctetAs: true });
        got.push(msg);
        if (msg.type === "OPEN") {
          s.write(
            encodeOpen(
              buildOpen({ localAs: 65002, routerId: "10.0.0.2", holdTimeSec: 9, families: ["ipv4"] }),
            ),
          );
          s.write(encodeKeepalive());
        }
      }
    });
    s.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return { port, got, socket: () => sock };
}

function session(clock: FakeClock, port: number, events: string[]) {
  const s = new Session({
    fsm: {
      localOpen: buildOpen({ localAs: 65001, routerId: "10.0.0.1", holdTimeSec: 90, families: ["ipv4"] }),
      expect: { peerAs: 65002, localAs: 65001, routerId: "10.0.0.1" },
      passive: false,
      ...FSM_DEFAULTS,
    },
    connect: { host: "127.0.0.1", port },
    localRouterId: "10.0.0.1",
    clock,
    // Plain loopback TCP stands in for the transport (no MD5 or TTL needed here).
    transport: {
      connect: (o) =>
        new Promise<Socket>((resolve, reject) => {
          const c = connect({ host: o.host, port: o.port ?? 179 });
          c.once("connect", () => resolve(c));
          c.once("error", (e: Error) => reject(Object.assign(e, { reason: "connection refused" })));
        }),
    },
    handlers: {
      established: (n) => events.push(`up hold=${n.holdTimeSec} ka=${n.keepaliveSec}`),
      update: () => events.push("update"),
      routeRefresh: () => events.push("refresh"),
      down: (_r, was, words) => events.push(`down ${was} ${words}`),
    },
  });
  sessions.push(s);
  return s;
}

describe("session driver", () => {
  it("comes up, keeps exact keepalive time on the fake clock, and sends Hold Timer Expired when the peer goes quiet", async () => {
    const clock = new FakeClock();
    const peer = await rawPeer();
    const events: string[] = [];
    const s = session(clock, peer.port, events);
    s.start();
    await eventually(() => s.state === "Established", { what: "Established" });
    expect(events).toEqual(["up hold=9 ka=3"]);
    const ka = () => peer.got.filter((m) => m.type === "KEEPALIVE").length;
    const before = ka();
    clock.advance(2999);
    expect(s.stats.sent.KEEPALIVE).toBe(1);
    clock.advance(1);
    expect(s.stats.sent.KEEPALIVE).toBe(2);
    await eventually(() => ka() === before + 1, { what: "the keepalive on the wire" });
    // The peer sent nothing since its KEEPALIVE: after 9 s of silence the session gives up.
    clock.advance(9000 - 3000 - 1);
    expect(s.state).toBe("Established");
    clock.advance(1);
    expect(s.state).toBe("Idle");
    await eventually(() => peer.got.find((m) => m.type === "NOTIFICATION"), { what: "the NOTIFICATION" });
    expect(peer.got.find((m) => m.type === "NOTIFICATION")).toMatchObject({ code: 4, subcode: 0 });
    expect(events.at(-1)).toBe(
      "down true NOTIFICATION sent: Hold Timer Expired / Unspecific (hold timer expired: nothing from the peer for 9 s)",
    );
    expect(s.lastError).toBe(
      "NOTIFICATION sent: Hold Timer Expired / Unspecific (hold timer expired: nothing from the peer for 9 s)",
    );
  });

  it("a refused connection waits in Active for exactly the connect-retry time, then tries again", async () => {
    const clock = new FakeClock();
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r)); // nothing listens there any more
    const events: string[] = [];
    const s = session(clock, port, events);
    s.start();
    await eventually(() => s.state === "Active", { what: "Active" });
    expect(s.lastError).toBe("connection refused");
    clock.advance(FSM_DEFAULTS.connectRetryMs - 1);
    expect(s.state).toBe("Active");
    clock.advance(1);
    expect(s.state).toBe("Connect");
    await eventually(() => s.state === "Active", { what: "Active again" });
  });
});

describe("collision resolution (RFC 4271 §6.8)", () => {
  it("keeps the connection opened by the speaker with the higher BGP identifier", () => {
    // We are 10.0.0.1, the peer 10.0.0.2 (higher): the peer's connection wins.
    expect(collisionKeepsExisting("10.0.0.1", "10.0.0.2", true)).toBe(false);
    expect(collisionKeepsExisting("10.0.0.1", "10.0.0.2", false)).toBe(true);
    // We are higher: ours wins.
    expect(collisionKeepsExisting("10.0.0.9", "10.0.0.2", true)).toBe(true);
    expect(collisionKeepsExisting("10.0.0.9", "10.0.0.2", false)).toBe(false);
  });
});
