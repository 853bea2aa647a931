/**
 * The BGP transport's TCP MD5 signatures (RFC 2385) against BIRD 2 in another namespace, on the real
 * kernel: our active connect signs its SYN with the peer's key, and our one listening socket carries a
 * key per peer (IPv4 ones in v4-mapped form on a dual-stack socket). Proof is what BIRD sends over the
 * connection (its OPEN, decoded by bgp/codec), BIRD's own session state, and the kernel's MD5 counters.
 */
import type { Socket } from "node:net";
import { expect, it } from "vitest";
import type { Capability } from "../../bgp/codec/capabilities.js";
import { encodeKeepalive } from "../../bgp/codec/message.js";
import { encodeOpen } from "../../bgp/codec/open.js";
import { type ConnectionInfo, connectTcp, TcpListener, TransportError } from "../../bgp/transport/index.js";
import { isTabbyError } from "../../src/util/errors.js";
import { connectToBridge, connectVeth, Netns } from "../harness/netns.js";
import { Bird } from "../harness/peers/index.js";
import { describeWith } from "../harness/requirements.js";
import { type Scope, testScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { closeSocket, counter, MessageReader, nsPath } from "./bgp-transport-helpers.js";

const OUR_AS = 65001;
const BIRD_AS = 65002;

function ourOpen(v6: boolean): Uint8Array {
  const mp: Capability = { name: "multiprotocol", code: 1, afi: v6 ? 2 : 1, safi: 1 };
  return encodeOpen({
    type: "OPEN",
    version: 4,
    myAs: OUR_AS,
    holdTime: 90,
    bgpId: "10.0.0.1",
    params: [{ type: 2, capabilities: [mp] }],
  });
}

/** Connections accepted by a listener, by peer address. */
function collect(
  listener: TcpListener,
  scope: Scope,
): Map<string, { socket: Socket; info: ConnectionInfo }[]> {
  const got = new Map<string, { socket: Socket; info: ConnectionInfo }[]>();
  listener.onConnection((socket, info) => {
    const list = got.get(info.remoteAddress) ?? [];
    list.push({ socket, info });
    got.set(info.remoteAddress, list);
    scope.defer(`close connection from ${info.remoteAddress}`, () => closeSocket(socket));
  });
  return got;
}

describeWith(["root", "iproute2", "bird"], "BGP transport: TCP MD5 with BIRD", () => {
  for (const v6 of [false, true]) {
    const fam = v6 ? "IPv6" : "IPv4";
    const us = v6 ? "fd00::1" : "10.0.0.1";
    const them = v6 ? "fd00::2" : "10.0.0.2";

    it(`connectTcp signs with the peer's key: BIRD's OPEN arrives; a wrong key forms no connection (${fam})`, async () => {
      const scope = testScope();
      const a = await Netns.create(scope);
      const b = await Netns.create(scope);
      await connectVeth(
        { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
        { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
      );
      const bird = await Bird.start(scope, b, {
        spec: {
          routerId: "10.0.0.2",
          as: BIRD_AS,
          neighbors: [{ address: us, as: OUR_AS, passive: true, password: "right key" }],
        },
      });

      // BIRD opens its listening socket once the protocol starts; poll it (an external daemon).
      const socket = await eventually(
        () =>
          connectTcp({ host: them, md5Key: "right key", netnsPath: nsPath(a), timeoutMs: 2000 }).catch(
            (e: unknown) => {
              if (e instanceof TransportError && e.errno === "ECONNREFUSED") return undefined;
              throw e;
            },
          ),
        { what: `BIRD to accept an MD5-signed connection on ${them}` },
      );
      scope.defer("close our socket", () => closeSocket(socket));
      expect(socket.remoteAddress).toBe(them);
      expect(socket.remotePort).toBe(179);
      const open = await new MessageReader(socket).next();
      expect(open).toMatchObject({ type: "OPEN", version: 4, myAs: BIRD_AS, bgpId: "10.0.0.2" });

      const failuresBefore = await counter(b, "TcpExtTCPMD5Failure");
      const err = await connectTcp({
        host: them,
        md5Key: "wrong key",
        netnsPath: nsPath(a),
        timeoutMs: 1500,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TransportError);
      expect(isTabbyError(err, "BGP_TRANSPORT")).toBe(true);
      const te = err as TransportError;
      expect(te.errno).toBe("ETIMEDOUT");
      expect(te.peer).toBe(them);
      expect(te.message).toMatch(/connection timed out; MD5 signature mismatch suspected/);
      // BIRD's kernel dropped our SYNs for their bad signature (RFC 2385 §2.0: silently).
      await eventually(async () => (await counter(b, "TcpExtTCPMD5Failure")) > failuresBefore, {
        what: "TcpExtTCPMD5Failure to grow in BIRD's namespace",
      });
      await bird.stop();
    });
  }

  it("connectTcp without a key to a keyed BIRD forms no connection (the peer's kernel: MD5 not found)", async () => {
    const scope = testScope();
    const a = await Netns.create(scope);
    const b = await Netns.create(scope);
    await connectVeth(
      { ns: a, name: "eth0", addresses: ["10.0.0.1/24"] },
      { ns: b, name: "eth0", addresses: ["10.0.0.2/24"] },
    );
    await Bird.start(scope, b, {
      spec: {
        routerId: "10.0.0.2",
        as: BIRD_AS,
        neighbors: [{ address: "10.0.0.1", as: OUR_AS, passive: true, password: "right key" }],
      },
    });
    // Wait until BIRD listens with its key: a keyed connect succeeds.
    const probe = await eventually(
      () =>
        connectTcp({ host: "10.0.0.2", md5Key: "right key", netnsPath: nsPath(a), timeoutMs: 2000 }).catch(
          () => undefined,
        ),
      { what: "BIRD to listen" },
    );
    await closeSocket(probe);
    const before = await counter(b, "TcpExtTCPMD5NotFound");
    await expect(
      connectTcp({ host: "10.0.0.2", netnsPath: nsPath(a), timeoutMs: 1500 }),
    ).rejects.toMatchObject({
      errno: "ETIMEDOUT",
      reason: "connection timed out",
    });
    await eventually(async () => (await counter(b, "TcpExtTCPMD5NotFound")) > before, {
      what: "TcpExtTCPMD5NotFound to grow in BIRD's namespace",
    });
  });

  it("one dual-stack listener, a key per peer: right keys accepted, a wrong key not, an unkeyed peer unsigned; keys can be removed", async () => {
    const scope = testScope();
    const a = await Netns.create(scope);
    await a.createBridge("br0");
    await a.addAddress("br0", "10.0.0.1/24", "fd00::1/64");
    const peers = await Promise.all(
      [2, 3, 4].map(async (i) => {
        const ns = await Netns.create(scope);
        await connectToBridge(a, "br0", `p${i}`, {
          ns,
          name: "eth0",
          addresses: [`10.0.0.${i}/24`, `fd00::${i}/64`],
        });
        return ns;
      }),
    );
    const [p2, p3, p4] = peers as [Netns, Netns, Netns];

    const listener = await TcpListener.listen({
      host: "::",
      netnsPath: nsPath(a),
      md5Keys: { "10.0.0.2": "key two", "fd00::2": "key two v6" },
    });
    scope.defer("close listener", () => listener.close());
    expect(listener.port).toBe(179);
    expect(listener.family).toBe(6);
    listener.setPeerKey("10.0.0.3", "key three"); // added after listen(2)
    expect(listener.peersWithKeys().sort()).toEqual(["10.0.0.2", "10.0.0.3", "fd00::2"]);
    const got = collect(listener, scope);

    const bird2 = await Bird.start(scope, p2, {
      spec: {
        routerId: "10.0.0.2",
        as: BIRD_AS,
        neighbors: [
          { address: "10.0.0.1", as: OUR_AS, password: "key two" },
          { address: "fd00::1", as: OUR_AS, password: "key two v6" },
        ],
      },
    });
    await Bird.start(scope, p3, {
      spec: {
        routerId: "10.0.0.3",
        as: BIRD_AS,
        neighbors: [{ address: "10.0.0.1", as: OUR_AS, password: "not key three" }],
      },
    });
    await Bird.start(scope, p4, {
      spec: { routerId: "10.0.0.4", as: BIRD_AS, neighbors: [{ address: "10.0.0.1", as: OUR_AS }] },
    });
    const failuresBefore = await counter(a, "TcpExtTCPMD5Failure");

    // Right keys (IPv4 through the v4-mapped key, and IPv6) and the unkeyed peer get through.
    const first = (peer: string) =>
      eventually(() => got.get(peer)?.[0], { what: `a connection from ${peer}`, timeoutMs: 30_000 });
    const c2 = await first("10.0.0.2");
    expect(c2.info).toEqual({
      remoteAddress: "10.0.0.2",
      remotePort: c2.info.remotePort,
      localAddress: "10.0.0.1",
      localPort: 179,
    });
    const c2v6 = await first("fd00::2");
    expect(c2v6.info.localAddress).toBe("fd00::1");
    const c4 = await first("10.0.0.4");
    for (const c of [c2, c2v6, c4]) {
      expect(await new MessageReader(c.socket).next()).toMatchObject({ type: "OPEN", myAs: BIRD_AS });
    }

    // The accepted socket inherited the key: the kernel lists it, and BIRD accepts what we send on it
    // (our OPEN + KEEPALIVE take its session to Established).
    const ss = await a.exec("ss", ["-tnie", "state", "established", "dst", "10.0.0.2"]);
    expect(ss.stdout).toMatch(/md5keys:10\.0\.0\.2\/32=/);
    c2.socket.write(ourOpen(false));
    c2.socket.write(encodeKeepalive());
    await bird2.waitForSession("10.0.0.1");

    // The wrong key: the listener's kernel drops the SYNs; no connection from 10.0.0.3.
    await eventually(async () => (await counter(a, "TcpExtTCPMD5Failure")) > failuresBefore, {
      what: "TcpExtTCPMD5Failure to grow in our namespace",
    });
    expect(got.get("10.0.0.3")).toBeUndefined();

    // Remove 10.0.0.2's key and drop its session: BIRD's signed SYNs now meet a listener without a key.
    listener.setPeerKey("10.0.0.2", undefined);
    listener.setPeerKey("10.0.0.2", undefined); // removing twice is fine
    expect(listener.peersWithKeys().sort()).toEqual(["10.0.0.3", "fd00::2"]);
    const unexpectedBefore = await counter(a, "TcpExtTCPMD5Unexpected");
    await closeSocket(c2.socket);
    await eventually(async () => (await counter(a, "TcpExtTCPMD5Unexpected")) > unexpectedBefore, {
      what: "TcpExtTCPMD5Unexpected to grow after BIRD reconnects with a signature",
    });
    expect(got.get("10.0.0.2")).toHaveLength(1);
    expect(got.get("10.0.0.3")).toBeUndefined();
  });

  it("refuses keys it cannot apply, in words", async () => {
    const scope = testScope();
    const a = await Netns.create(scope);
    const v4only = await TcpListener.listen({ host: "0.0.0.0", port: 0, netnsPath: nsPath(a) });
    scope.defer("close listener", () => v4only.close());
    expect(v4only.port).toBeGreaterThan(0);
    expect(() => v4only.setPeerKey("fd00::2", "k")).toThrow(/IPv6 peer on an IPv4 socket/);
    expect(() => v4only.setPeerKey("10.0.0.2", "k".repeat(81))).toThrow(
      /the key is 81 bytes; RFC 2385 keys are limited to 80/,
    );
    expect(() => v4only.setPeerKey("not-an-address", "k")).toThrow(TransportError);
    await v4only.close();
    expect(() => v4only.setPeerKey("10.0.0.2", "k")).toThrow(/listener closed/);
  });
});
