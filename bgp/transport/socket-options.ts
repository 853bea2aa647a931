/**
 * The per-socket options BGP needs and Node cannot set: TCP MD5 signature keys (RFC 2385, TCP_MD5SIG
 * with the peer's address), the outgoing TTL / hop limit (1 for directly connected eBGP, N for
 * multihop, 255 with GTSM) and the minimum accepted TTL / hop count (GTSM, RFC 5082: IP_MINTTL,
 * IPV6_MINHOPCOUNT). On an AF_INET6 socket IPv4 peers travel as IPv4 (v4-mapped), so both the IPv4 and
 * the IPv6 option are set there. Works on fds before they reach Node and on Node sockets after.
 */

import type { Socket } from "node:net";
import { endianness } from "node:os";
import { TransportError, type TransportOperation } from "./errors.js";
import { isNativeError, loadNative, type NativeTcp } from "./native.js";
import { encodeTcpMd5sig, mapIpv4, parseAddress, unmapIpv4 } from "./sockaddr.js";

const LE = endianness() === "LE";

export type SocketFamily = 4 | 6;

/** Runs a native call, turning a kernel error into a TransportError about `peer`. */
export function nativeCall<T>(
  operation: TransportOperation,
  peer: string,
  call: (n: NativeTcp) => T,
  opts: { port?: number; md5?: boolean } = {},
): T {
  const n = loadNative();
  try {
    return call(n);
  } catch (e) {
    if (!isNativeError(e)) throw e;
    throw new TransportError(e.code, peer, operation, { ...opts, detail: `${e.syscall} failed`, cause: e });
  }
}

/** A non-blocking TCP socket of `family`, inside the namespace at `netnsPath` when given. */
export function openTcpSocket(
  family: SocketFamily,
  netnsPath: string | undefined,
  operation: TransportOperation,
  peer: string,
  port: number,
): number {
  return nativeCall(
    operation,
    peer,
    (n) => n.socket(family === 4 ? n.constants.AF_INET : n.constants.AF_INET6, netnsPath ?? null),
    { port },
  );
}

/**
 * Adds, replaces (`key` set) or removes (`key` undefined or "") the RFC 2385 key for `peer` on `fd`.
 * On an AF_INET6 socket an IPv4 peer's key is stored under its v4-mapped address, which the kernel
 * files as an IPv4 key (tcp_v6_parse_md5_keys). Removing a key that is not there is not an error.
 */
export function setMd5KeyOnFd(
  fd: number,
  socketFamily: SocketFamily,
  peer: string,
  key: string | undefined,
): void {
  const p = parseAddress(peer);
  if (p === undefined)
    throw new TransportError("EINVAL", peer, "set-md5-key", { detail: "not an IP address" });
  if (p.family === 6 && socketFamily === 4) {
    throw new TransportError("EAFNOSUPPORT", peer, "set-md5-key", { detail: "IPv6 peer on an IPv4 socket" });
  }
  const bytes = new TextEncoder().encode(key ?? "");
  const n = loadNative();
  if (bytes.length > n.constants.TCP_MD5SIG_MAXKEYLEN) {
    throw new TransportError("EINVAL", peer, "set-md5-key", {
      detail: `the key is ${bytes.length} bytes; RFC 2385 keys are limited to ${n.constants.TCP_MD5SIG_MAXKEYLEN} by the kernel`,
    });
  }
  const addr = p.family === 4 && socketFamily === 6 ? mapIpv4(peer) : peer;
  const value = encodeTcpMd5sig(addr, bytes, n.constants, LE);
  try {
    n.setsockopt(fd, n.constants.IPPROTO_TCP, n.constants.TCP_MD5SIG, value);
  } catch (e) {
    if (!isNativeError(e)) throw e;
    if (bytes.length === 0 && e.code === "ENOENT") return; // nothing to remove
    throw new TransportError(e.code, peer, "set-md5-key", {
      detail: "setsockopt TCP_MD5SIG failed",
      cause: e,
    });
  }
}

function checkTtl(value: number, min: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > 255) {
    throw new RangeError(`${what} must be an integer ${min}..255, got ${value}`);
  }
}

/** Outgoing IP TTL / IPv6 unicast hop limit, 1..255. */
export function setTtlOnFd(fd: number, socketFamily: SocketFamily, ttl: number, peer: string): void {
  checkTtl(ttl, 1, "ttl");
  nativeCall("set-ttl", peer, (n) => {
    const c = n.constants;
    n.setsockopt(fd, c.IPPROTO_IP, c.IP_TTL, ttl);
    if (socketFamily === 6) n.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_UNICAST_HOPS, ttl);
  });
}

/** GTSM (RFC 5082): drop segments that arrive with a TTL / hop limit below `minTtl`; 0 turns it off. */
export function setMinTtlOnFd(fd: number, socketFamily: SocketFamily, minTtl: number, peer: string): void {
  checkTtl(minTtl, 0, "minTtl");
  nativeCall("set-min-ttl", peer, (n) => {
    const c = n.constants;
    n.setsockopt(fd, c.IPPROTO_IP, c.IP_MINTTL, minTtl);
    if (socketFamily === 6) n.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_MINHOPCOUNT, minTtl);
  });
}

/** The fd and address family of a Node TCP socket (its libuv handle's fd). */
export function fdOf(socket: Socket, operation: TransportOperation): { fd: number; family: SocketFamily } {
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  const peer = unmapIpv4(socket.remoteAddress ?? "(unconnected socket)");
  if (typeof fd !== "number" || fd < 0) throw new TransportError("EBADF", peer, operation);
  // The socket's own family decides which options exist; an IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
  const local = socket.localAddress;
  const family: SocketFamily = local?.includes(":") ? 6 : 4;
  return { fd, family };
}

/** Sets the outgoing TTL / hop limit on a connected or accepted socket (per-peer multihop or GTSM). */
export function setTtl(socket: Socket, ttl: number): void {
  const { fd, family } = fdOf(socket, "set-ttl");
  setTtlOnFd(fd, family, ttl, unmapIpv4(socket.remoteAddress ?? ""));
}

/** Sets the GTSM minimum TTL / hop count on a connected or accepted socket; 0 turns it off. */
export function setMinTtl(socket: Socket, minTtl: number): void {
  const { fd, family } = fdOf(socket, "set-min-ttl");
  setMinTtlOnFd(fd, family, minTtl, unmapIpv4(socket.remoteAddress ?? ""));
}
