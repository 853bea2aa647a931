/**
 * GTSM (RFC 5082) and multihop TTL through a real router: host h1 — router r (forwarding) — host h2,
 * IPv4 and IPv6. A segment sent with TTL 255 arrives at h2 with 254, so a minimum of 255 refuses it and
 * 254 accepts it; a TTL of 1 dies at the router, 2 reaches h2. The kernel's own counters
 * (TcpExtTCPMinTTLDrop) show that the drops are the minimum-TTL check and nothing else.
 */
import type { Socket } from "node:net";
import { expect, it } from "vitest";
import {
  type ConnectionInfo,
  connectTcp,
  setMinTtl,
  setTtl,
  TcpListener,
  TransportError,
} from "../../bgp/transport/index.js";
import { loadNative } from "../../bgp/transport/native.js";
import { connectVeth, Netns } from "../harness/netns.js";
import { describeWith } from "../harness/requirements.js";
import { type Scope, testScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { closeSocket, counter, nsPath } from "./bgp-transport-helpers.js";

interface Topology {
  readonly h1: Netns;
  readonly r: Netns;
  readonly h2: Netns;
}

async function topology(scope: Scope): Promise<Topology> {
  const h1 = await Netns.create(scope);
  const r = await Netns.create(scope, { forwarding: true });
  const h2 = await Netns.create(scope);
  await connectVeth(
    { ns: h1, name: "eth0", addresses: ["10.1.0.1/24", "fd01::1/64"] },
    { ns: r, name: "eth0", addresses: ["10.1.0.2/24", "fd01::2/64"] },
  );
  await connectVeth(
    { ns: r, name: "eth1", addresses: ["10.2.0.2/24", "fd02::2/64"] },
    { ns: h2, name: "eth0", addresses: ["10.2.0.1/24", "fd02::1/64"] },
  );
  await h1.addRoute("10.2.0.0/24", "via", "10.1.0.2");
  await h1.addRoute("fd02::/64", "via", "fd01::2");
  await h2.addRoute("10.1.0.0/24", "via", "10.2.0.2");
  await h2.addRoute("fd01::/64", "via", "fd02::2");
  return { h1, r, h2 };
}

/** A dual-stack listener in `ns` on a free port whose accepted sockets are queued and closed with the scope. */
async function listenIn(
  scope: Scope,
  ns: Netns,
  opts: { minTtl?: number; ttl?: number } = {},
): Promise<{ listener: TcpListener; accepted: { socket: Socket; info: ConnectionInfo }[] }> {
  const listener = await TcpListener.listen({ host: "::", port: 0, netnsPath: nsPath(ns), ...opts });
  scope.defer("close listener", () => listener.close());
  const accepted: { socket: Socket; info: ConnectionInfo }[] = [];
  listener.onConnection((socket, info) => {
    accepted.push({ socket, info });
    scope.defer("close accepted socket", () => closeSocket(socket));
  });
  return { listener, accepted };
}

async function connectOrError(
  opts: Parameters<typeof connectTcp>[0],
  scope: Scope,
): Promise<Socket | TransportError> {
  try {
    const s = await connectTcp(opts);
    scope.defer("close client socket", () => closeSocket(s));
    return s;
  } catch (e) {
    if (e instanceof TransportError) return e;
    throw e;
  }
}

/** Resolves with the first data chunk on `socket`; fails after `timeoutMs` (kernel retransmissions run on real time). */
function firstData(socket: Socket, timeoutMs = 15_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no data within ${timeoutMs} ms`)), timeoutMs);
    socket.once("data", (d: Buffer) => {
      clearTimeout(t);
      resolve(d);
    });
  });
}

describeWith(["root", "iproute2"], "BGP transport: GTSM and multihop TTL through a router", () => {
  for (const v6 of [false, true]) {
    const fam = v6 ? "IPv6" : "IPv4";
    const h2addr = v6 ? "fd02::1" : "10.2.0.1";
    const h1addr = v6 ? "fd01::1" : "10.1.0.1";
    const rAddr = v6 ? "fd02::2" : "10.2.0.2";
    const drops = "TcpExtTCPMinTTLDrop"; // IPv4 and IPv6 alike

    it(`minTtl 255 on the listener refuses a peer one hop away, 254 accepts it, a direct peer passes 255 both ways (${fam})`, async () => {
      const scope = testScope();
      const { h1, r, h2 } = await topology(scope);
      // GTSM on both ends means sending 255 too: r's own minTtl 255 checks our SYN-ACK.
      const strict = await listenIn(scope, h2, { minTtl: 255, ttl: 255 });
      const relaxed = await listenIn(scope, h2, { minTtl: 254 });

      const dropsBefore = await counter(h2, drops);
      const refused = await connectOrError(
        { host: h2addr, port: strict.listener.port, ttl: 255, timeoutMs: 1500, netnsPath: nsPath(h1) },
        scope,
      );
      expect(refused).toBeInstanceOf(TransportError);
      expect((refused as TransportError).errno).toBe("ETIMEDOUT");
      expect(await counter(h2, drops)).toBeGreaterThan(dropsBefore);
      expect(strict.accepted).toHaveLength(0);

      const ok = await connectOrError(
        { host: h2addr, port: relaxed.listener.port, ttl: 255, timeoutMs: 5000, netnsPath: nsPath(h1) },
        scope,
      );
      expect(ok).not.toBeInstanceOf(TransportError);
      await eventually(() => relaxed.accepted.length === 1, { what: "the listener to accept" });
      expect(relaxed.accepted[0]!.info.remoteAddress).toBe(h1addr);

      // The router is directly connected to h2: its TTL 255 arrives intact.
      const direct = await connectOrError(
        {
          host: h2addr,
          port: strict.listener.port,
          ttl: 255,
          minTtl: 255,
          timeoutMs: 5000,
          netnsPath: nsPath(r),
        },
        scope,
      );
      expect(direct).not.toBeInstanceOf(TransportError);
      await eventually(() => strict.accepted.length === 1, { what: "the strict listener to accept r" });
      expect(strict.accepted[0]!.info.remoteAddress).toBe(rAddr);
    });

    it(`multihop: ttl 1 dies at the router, ttl 2 reaches the peer (${fam})`, async () => {
      const scope = testScope();
      const { h1, h2 } = await topology(scope);
      const { listener, accepted } = await listenIn(scope, h2);

      const dead = await connectOrError(
        { host: h2addr, port: listener.port, ttl: 1, timeoutMs: 3000, netnsPath: nsPath(h1) },
        scope,
      );
      expect(dead).toBeInstanceOf(TransportError);
      // The router answers ICMP time exceeded, which Linux reports as EHOSTUNREACH; rate-limited, a timeout.
      expect(["EHOSTUNREACH", "ETIMEDOUT"]).toContain((dead as TransportError).errno);
      expect(accepted).toHaveLength(0);

      const ok = await connectOrError(
        { host: h2addr, port: listener.port, ttl: 2, timeoutMs: 5000, netnsPath: nsPath(h1) },
        scope,
      );
      expect(ok).not.toBeInstanceOf(TransportError);
      await eventually(() => accepted.length === 1, { what: "the listener to accept" });
    });

    it(`setMinTtl / setTtl on an accepted socket apply per peer (${fam})`, async () => {
      const scope = testScope();
      const { h1, h2 } = await topology(scope);
      const { listener, accepted } = await listenIn(scope, h2);
      const client = await connectOrError(
        { host: h2addr, port: listener.port, ttl: 255, timeoutMs: 5000, netnsPath: nsPath(h1) },
        scope,
      );
      if (client instanceof TransportError) throw client;
      const server = (await eventually(() => accepted[0], { what: "the listener to accept" })).socket;

      // GTSM for this peer only: its segments (TTL 254 on arrival) are now dropped...
      setMinTtl(server, 255);
      const dropsBefore = await counter(h2, drops);
      const data = firstData(server);
      client.write("hello");
      await eventually(async () => (await counter(h2, drops)) > dropsBefore, {
        what: `${drops} to grow in h2`,
      });
      // ...until the minimum matches one hop; the kernel's retransmission then gets through.
      setMinTtl(server, 254);
      expect((await data).toString()).toBe("hello");

      setTtl(server, 2);
      const n = loadNative();
      const c = n.constants;
      const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
      const read = (level: number, name: number) =>
        Buffer.from(n.getsockopt(fd, level, name, 4)).readInt32LE(0);
      expect(read(c.IPPROTO_IP, c.IP_TTL)).toBe(2);
      expect(read(c.IPPROTO_IP, c.IP_MINTTL)).toBe(254);
      expect(read(c.IPPROTO_IPV6, c.IPV6_UNICAST_HOPS)).toBe(2);
      expect(read(c.IPPROTO_IPV6, c.IPV6_MINHOPCOUNT)).toBe(254);
      const back = firstData(client);
      server.write("world");
      expect((await back).toString()).toBe("world");

      expect(() => setTtl(server, 0)).toThrow(RangeError);
      expect(() => setMinTtl(server, 256)).toThrow(RangeError);
    });
  }
});
