/**
 * Active BGP connections (RFC 4271 §8: the ConnectRetry / TcpConnection events): a TCP socket with the
 * peer's RFC 2385 key, TTL and GTSM minimum TTL (RFC 5082) set before the SYN leaves, bound to the
 * configured source address, then handed to Node, whose libuv does the non-blocking connect. So the
 * event loop never waits on the network, and errors carry the kernel's errno in words.
 * Does not retry: the session FSM owns the ConnectRetry timer.
 */

import { Socket } from "node:net";
import { endianness } from "node:os";
import { TransportError } from "./errors.js";
import { loadNative } from "./native.js";
import { encodeSockaddr, parseAddress, unmapIpv4 } from "./sockaddr.js";
import { nativeCall, openTcpSocket, setMd5KeyOnFd, setMinTtlOnFd, setTtlOnFd } from "./socket-options.js";

export const BGP_PORT = 179;

export interface ConnectOptions {
  /** The peer's address (an IP literal; IPv4-mapped IPv6 is treated as IPv4). */
  readonly host: string;
  /** Default 179. */
  readonly port?: number;
  /** Source address (must be configured on this host, same family as `host`). */
  readonly localAddress?: string;
  readonly localPort?: number;
  /** RFC 2385 key for this peer; undefined or "" for none. At most 80 bytes (UTF-8). */
  readonly md5Key?: string;
  /** Outgoing IP TTL / IPv6 hop limit: 1 for directly connected eBGP, N for multihop, 255 with GTSM. */
  readonly ttl?: number;
  /** GTSM (RFC 5082): IP_MINTTL / IPV6_MINHOPCOUNT, e.g. 255 for a directly connected peer. */
  readonly minTtl?: number;
  /** Give up after this long with ETIMEDOUT; default: the kernel's SYN retries (about 2 minutes). */
  readonly timeoutMs?: number;
  /** Aborting rejects with ECANCELED and closes the socket. */
  readonly signal?: AbortSignal;
  /** Open the socket in this network namespace (a path such as /run/netns/NAME); used by tests and the lab. */
  readonly netnsPath?: string;
}

/**
 * Connects to a BGP peer. Resolves with a connected Node socket (data not yet read); rejects with a
 * TransportError (`errno` ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ...).
 */
export async function connectTcp(opts: ConnectOptions): Promise<Socket> {
  const port = opts.port ?? BGP_PORT;
  const host = unmapIpv4(opts.host);
  const md5 = opts.md5Key !== undefined && opts.md5Key !== "";
  const fail = (errno: string, detail?: string, cause?: unknown) =>
    new TransportError(errno, host, "connect", {
      port,
      md5,
      ...(detail !== undefined ? { detail } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
  const target = parseAddress(host);
  if (target === undefined) throw fail("EINVAL", "not an IP address");
  const local = opts.localAddress !== undefined ? unmapIpv4(opts.localAddress) : undefined;
  if (local !== undefined) {
    const l = parseAddress(local);
    if (l === undefined) throw fail("EINVAL", `local address ${local} is not an IP address`);
    if (l.family !== target.family) {
      throw fail("EINVAL", `local address ${local} is IPv${l.family}, the peer is IPv${target.family}`);
    }
  }
  if (opts.signal?.aborted) throw fail("ECANCELED");

  const n = loadNative();
  const c = n.constants;
  const family = target.family;
  const fd = openTcpSocket(family, opts.netnsPath, "connect", host, port);
  try {
    if (md5) setMd5KeyOnFd(fd, family, host, opts.md5Key);
    if (opts.ttl !== undefined) setTtlOnFd(fd, family, opts.ttl, host);
    if (opts.minTtl !== undefined) setMinTtlOnFd(fd, family, opts.minTtl, host);
    if (local !== undefined || opts.localPort !== undefined) {
      const addr = local ?? (family === 4 ? "0.0.0.0" : "::");
      nativeCall(
        "connect",
        host,
        (n) => {
          if (opts.localPort) n.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1);
          n.bind(fd, encodeSockaddr(addr, opts.localPort ?? 0, c, endianness() === "LE"));
        },
        { port, md5 },
      );
    }
  } catch (e) {
    n.close(fd);
    if (e instanceof TransportError && e.operation === "connect" && local !== undefined) {
      // Say which local address could not be bound.
      throw fail(e.errno, `binding local address ${local}`, e);
    }
    throw e;
  }

  // libuv adopts the fd and runs the non-blocking connect (uv_tcp_connect reuses an opened handle).
  let socket: Socket;
  try {
    socket = new Socket({ fd });
  } catch (e) {
    n.close(fd);
    throw e;
  }
  return new Promise<Socket>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (e: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      reject(fail(e.code ?? "EIO", undefined, e));
    };
    const giveUp = (errno: string) => {
      cleanup();
      socket.destroy();
      reject(fail(errno));
    };
    const onAbort = () => giveUp("ECANCELED");
    if (opts.timeoutMs !== undefined) timer = setTimeout(() => giveUp("ETIMEDOUT"), opts.timeoutMs);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", onConnect);
    socket.once("error", onError);
    socket.connect({ host, port });
  });
}
