// TCP MD5 (RFC 2385) with BIRD in both directions, and a hostile peer sending malformed messages:
// each gets the RFC 4271 / RFC 7606 reaction while the other sessions keep their routes.
import type { Socket } from "node:net";
import { expect, it } from "vitest";
import { MessageFramer } from "../../../bgp/codec/framing.js";
import { decodeMessage, encodeKeepalive } from "../../../bgp/codec/message.js";
import { encodeOpen } from "../../../bgp/codec/open.js";
import { buildOpen } from "../../../bgp/session/negotiate.js";
import { connectTcp } from "../../../bgp/transport/connect.js";
import { connectToBridge, Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import type { Scope } from "../../harness/scope.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { attr, b, update } from "../../unit/bgp/build.js";
import { startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

async function segment(scope: Scope, n: number) {
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const hosts: Netns[] = [];
  for (let i = 1; i <= n; i++) {
    const ns = await Netns.create(scope);
    await connectToBridge(sw, "br0", `p${i}`, { ns, name: "eth0", addresses: [`10.0.0.${i}/24`] });
    hosts.push(ns);
  }
  return hosts;
}

async function md5Failures(ns: Netns): Promise<number> {
  const r = await ns.exec("nstat", [
    "-az",
    "TcpExtTCPMD5Failure",
    "TcpExtTCPMD5NotFound",
    "TcpExtTCPMD5Unexpected",
  ]);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("TcpExt"))
    .reduce((n, l) => n + Number(l.split(/\s+/)[1]), 0);
}

const ACCEPT = { importPolicy: "ACCEPT_ALL", exportPolicy: "ACCEPT_ALL" } as const;

describeWith(["root", "iproute2", "bird"], "TCP MD5 with BIRD", () => {
  it("the right password establishes (tabby connecting and tabby listening); a wrong one never does; the others stay up", async () => {
    const scope = testScope();
    const [t, good, bad, inbound] = (await segment(scope, 4)) as [Netns, Netns, Netns, Netns];
    const tabby = await startTabby(scope, t, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      peers: [
        { address: "10.0.0.2", asn: 65002, password: "s3cret", ...ACCEPT },
        { address: "10.0.0.3", asn: 65003, password: "s3cret", ...ACCEPT },
        { address: "10.0.0.4", asn: 65004, password: "in-key", passive: true, ...ACCEPT },
      ],
      originate: [{ prefix: "192.0.2.0/24" }],
    });
    const birdFor = (ns: Netns, me: string, asn: number, password: string, passive: boolean) =>
      Bird.start(scope, ns, {
        spec: {
          routerId: me,
          as: asn,
          neighbors: [{ address: "10.0.0.1", as: 65001, password, passive }],
          originate: [`198.51.${asn - 65000}.0/24`],
        },
      });
    const g = await birdFor(good, "10.0.0.2", 65002, "s3cret", true);
    // The wrong key, on a BIRD that connects too: our kernel then sees its badly signed SYNs.
    await birdFor(bad, "10.0.0.3", 65003, "wrong", false);
    await birdFor(inbound, "10.0.0.4", 65004, "in-key", false);
    await waitEstablished(tabby, "10.0.0.2");
    await waitEstablished(tabby, "10.0.0.4");
    await g.waitForRoute("ipv4", "192.0.2.0/24");
    await waitTabbyRoute(tabby, "198.51.4.0/24");
    // The wrong key: the kernel keeps dropping segments, the session never comes up.
    await eventually(async () => (await md5Failures(bad)) >= 3, {
      what: "BIRD to refuse tabby's badly signed segments",
      timeoutMs: 60_000,
    });
    const badPeer = tabby.peerStatus().find((p) => p.address === "10.0.0.3")!;
    expect(badPeer.state).not.toBe("Established");
    // The status says why from the first unanswered connect on, and what the kernel counted once it has
    // a baseline (the second).
    await eventually(
      () =>
        /^no answer from the peer in \d+ s \(connection attempt not answered\): TCP MD5 key missing or wrong\? .*; this host's kernel dropped TCP segments for their MD5 signature: \d+ with a signature that does not match our password/.test(
          tabby.peerStatus().find((p) => p.address === "10.0.0.3")!.lastError ?? "",
        ),
      { what: "the MD5 reason in the bad peer's status", timeoutMs: 30_000 },
    );
    expect(badPeer.messages.received.OPEN).toBe(0);
    // Nothing disturbed the good sessions.
    for (const a of ["10.0.0.2", "10.0.0.4"])
      expect(tabby.peerStatus().find((p) => p.address === a)).toMatchObject({
        state: "Established",
        flaps: 0,
      });
  });
});

/** A hand-driven BGP peer: connects to tabby, opens a session, then sends whatever the test wants. */
async function hostilePeer(ns: Netns, asn: number, routerId: string) {
  const socket: Socket = await connectTcp({
    host: "10.0.0.1",
    netnsPath: `/run/netns/${ns.name}`,
    timeoutMs: 10_000,
  });
  const framer = new MessageFramer(65535);
  const got: ReturnType<typeof decodeMessage>[] = [];
  let closed = false;
  socket.on("data", (c: Buffer) => {
    for (const m of framer.push(new Uint8Array(c)))
      got.push(decodeMessage(m.bytes, { fourOctetAs: true, maxMessageLen: 65535 }));
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {});
  socket.write(encodeOpen(buildOpen({ localAs: asn, routerId, holdTimeSec: 90, families: ["ipv4"] })));
  await eventually(() => got.some((m) => m.type === "OPEN"), { what: "tabby's OPEN" });
  socket.write(encodeKeepalive());
  await eventually(() => got.some((m) => m.type === "KEEPALIVE"), { what: "tabby's KEEPALIVE" });
  return { socket, got, closed: () => closed };
}

const ORIGIN = attr(0x40, 1, [0]);
const PATH = (asn: number) =>
  attr(0x40, 2, [2, 1, asn >>> 24, (asn >>> 16) & 255, (asn >>> 8) & 255, asn & 255]);
const NH = (last: number) => attr(0x40, 3, [10, 0, 0, last]);

describeWith(["root", "iproute2", "bird"], "a hostile peer", () => {
  it("gets treat-as-withdraw, UPDATE and header NOTIFICATIONs, while BIRD's session keeps its routes", async () => {
    const scope = testScope();
    const [t, friend, h1, h2] = (await segment(scope, 4)) as [Netns, Netns, Netns, Netns];
    const tabby = await startTabby(scope, t, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      idleHoldSec: { initial: 1, max: 1 },
      peers: [
        { address: "10.0.0.2", asn: 65002, ...ACCEPT },
        { address: "10.0.0.3", asn: 65003, passive: true, ...ACCEPT },
        { address: "10.0.0.4", asn: 65004, passive: true, ...ACCEPT },
      ],
    });
    await Bird.start(scope, friend, {
      spec: {
        routerId: "10.0.0.2",
        as: 65002,
        neighbors: [{ address: "10.0.0.1", as: 65001, passive: true }],
        originate: ["198.51.100.0/24"],
      },
    });
    await waitTabbyRoute(tabby, "198.51.100.0/24");

    const p = await hostilePeer(h1, 65003, "10.0.0.3");
    p.socket.write(update({ attrs: [ORIGIN, PATH(65003), NH(3)], nlri: b(24, 203, 0, 113) }));
    await waitTabbyRoute(tabby, "203.0.113.0/24");
    // RFC 7606: an ORIGIN of 7 makes the UPDATE a withdraw of its prefixes; the session stays up.
    p.socket.write(update({ attrs: [attr(0x40, 1, [7]), PATH(65003), NH(3)], nlri: b(24, 203, 0, 113) }));
    await waitTabbyRoute(tabby, "203.0.113.0/24", { gone: true });
    expect(p.got.some((m) => m.type === "NOTIFICATION")).toBe(false);
    // An unrecognized well-known attribute resets the session with 3/2 and the attribute as data.
    p.socket.write(
      update({ attrs: [ORIGIN, PATH(65003), NH(3), attr(0x40, 99, [1, 2])], nlri: b(24, 203, 0, 113) }),
    );
    await eventually(() => p.got.find((m) => m.type === "NOTIFICATION"), { what: "a NOTIFICATION" });
    expect(p.got.find((m) => m.type === "NOTIFICATION")).toMatchObject({
      code: 3,
      subcode: 2,
      data: Uint8Array.of(0x40, 99, 2, 1, 2),
    });
    await eventually(() => p.closed(), { what: "tabby to close the hostile connection" });
    expect(tabby.peerStatus().find((x) => x.address === "10.0.0.3")!.lastError).toBe(
      "NOTIFICATION sent: UPDATE Message Error / Unrecognized Well-known Attribute (unrecognized well-known attribute 99)",
    );

    // A second hostile peer breaks the framing: Message Header Error / Connection Not Synchronized.
    const q = await hostilePeer(h2, 65004, "10.0.0.4");
    q.socket.write(b(new Array(16).fill(0xfe), 0, 19, 4));
    await eventually(() => q.got.find((m) => m.type === "NOTIFICATION"), { what: "a NOTIFICATION" });
    expect(q.got.find((m) => m.type === "NOTIFICATION")).toMatchObject({ code: 1, subcode: 1 });

    // BIRD's session never noticed.
    expect(tabby.peerStatus().find((x) => x.address === "10.0.0.2")).toMatchObject({
      state: "Established",
      flaps: 0,
    });
    expect(tabby.ribEntries("ipv4", "198.51.100.0/24")).toHaveLength(1);
  });
});
