// A connect the peer never answers (what a TCP MD5 mismatch looks like from the connecting side):
// the reason shows at the first ConnectRetry, with the kernel's MD5 drop counters when they moved.
import { describe, expect, it } from "vitest";
import { FSM_DEFAULTS } from "../../../../bgp/session/fsm.js";
import { buildOpen } from "../../../../bgp/session/negotiate.js";
import { type Md5Drops, Session, unansweredConnect } from "../../../../bgp/session/session.js";
import { md5CountersOf, md5DropTracker, parseNetstat } from "../../../../bgp/transport/md5-counters.js";
import { FakeClock } from "../../../harness/clock.js";

const NETSTAT = `TcpExt: SyncookiesSent SyncookiesRecv TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackRecovery
TcpExt: 0 0 3 1 7 12
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
`;

function silentSession(clock: FakeClock, md5Key: string | undefined, drops?: () => Md5Drops | undefined) {
  const attempts: AbortSignal[] = [];
  return {
    attempts,
    session: new Session({
      fsm: {
        localOpen: buildOpen({ localAs: 65001, routerId: "10.0.0.1", holdTimeSec: 90, families: ["ipv4"] }),
        expect: { peerAs: 65002, localAs: 65001, routerId: "10.0.0.1" },
        passive: false,
        ...FSM_DEFAULTS,
      },
      connect: { host: "192.0.2.9", ...(md5Key !== undefined ? { md5Key } : {}) },
      localRouterId: "10.0.0.1",
      clock,
      // A peer that drops every SYN: the connect never settles until it is aborted.
      transport: {
        connect: (o) => {
          attempts.push(o.signal!);
          return new Promise(() => undefined);
        },
      },
      ...(drops !== undefined ? { md5Drops: drops } : {}),
      handlers: { established: () => {}, update: () => {}, routeRefresh: () => {}, down: () => {} },
    }),
  };
}

describe("an unanswered connect", () => {
  it("with a password: says the TCP MD5 key may be missing or wrong at the first ConnectRetry", () => {
    const clock = new FakeClock();
    const { session, attempts } = silentSession(clock, "s3cret");
    session.start();
    expect(attempts).toHaveLength(1);
    expect(session.lastError).toBeUndefined();
    clock.advance(FSM_DEFAULTS.connectRetryMs);
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.aborted).toBe(true);
    expect(session.lastError).toBe(
      "no answer from the peer in 5 s (connection attempt not answered): TCP MD5 key missing or wrong? (a peer with another key, or none, drops our signed segments silently)",
    );
    session.destroy();
  });

  it("without one: names the peer being down, filtered or expecting a password; and what the kernel dropped", () => {
    const clock = new FakeClock();
    let n = 0;
    const drops = () => (n++ === 0 ? undefined : { wrong: 0, missing: 0, unexpected: 4 });
    const { session } = silentSession(clock, undefined, drops);
    session.start();
    clock.advance(FSM_DEFAULTS.connectRetryMs);
    expect(session.lastError).toBe(
      "no answer from the peer in 5 s (connection attempt not answered): the peer is down, filtered, or expects a TCP MD5 password",
    );
    clock.advance(FSM_DEFAULTS.connectRetryMs);
    expect(session.lastError).toBe(
      "no answer from the peer in 5 s (connection attempt not answered): the peer signs with TCP MD5, but no password is configured for it; this host's kernel dropped TCP segments for their MD5 signature: 4 signed although we have no password for them",
    );
    session.destroy();
  });

  it("words every counter", () => {
    expect(unansweredConnect(9, true, { wrong: 2, missing: 1, unexpected: 0 })).toBe(
      "no answer from the peer in 9 s (connection attempt not answered): TCP MD5 key missing or wrong? (a peer with another key, or none, drops our signed segments silently); this host's kernel dropped TCP segments for their MD5 signature: 2 with a signature that does not match our password, 1 without the signature our password requires",
    );
  });
});

describe("the kernel's MD5 counters", () => {
  it("are read from /proc/net/netstat's TcpExt lines, and a tracker gives what changed since its last call", () => {
    expect(parseNetstat(NETSTAT).get("TcpExtTCPSackRecovery")).toBe(12);
    expect(parseNetstat(NETSTAT).get("IpExtInNoRoutes")).toBe(0);
    expect(md5CountersOf(NETSTAT)).toEqual({ failure: 7, notFound: 3, unexpected: 1 });
    expect(md5CountersOf("TcpExt: A\nTcpExt: 1\n")).toBeUndefined();
    const readings = [
      { failure: 7, notFound: 3, unexpected: 1 },
      { failure: 9, notFound: 3, unexpected: 2 },
    ];
    const track = md5DropTracker(() => readings.shift());
    expect(track()).toBeUndefined(); // the baseline
    expect(track()).toEqual({ wrong: 2, missing: 0, unexpected: 1 });
    expect(track()).toBeUndefined(); // unreadable
  });
});
