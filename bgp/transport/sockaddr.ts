/**
 * Socket addresses and the TCP MD5 option value, as bytes for setsockopt(2)/bind(2). The layouts of
 * struct sockaddr_in, sockaddr_in6 and tcp_md5sig (RFC 2385 keys, linux/tcp.h) come from the headers the
 * addon was built against (bgp/native/tcp.c); this module only fills them in, so the encoding can be
 * tested byte for byte. Pure: no sockets here. Scoped IPv6 addresses take a numeric scope (`fe80::1%3`).
 */
import { parseIpv4Into, parseIpv6Into } from "../codec/ip.js";

export interface SockaddrLayout {
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly TCP_MD5SIG_MAXKEYLEN: number;
  readonly sizeofSockaddrIn: number;
  readonly sizeofSockaddrIn6: number;
  readonly sizeofSaFamily: number;
  readonly offsetofSinPort: number;
  readonly offsetofSinAddr: number;
  readonly offsetofSin6Port: number;
  readonly offsetofSin6Addr: number;
  readonly offsetofSin6ScopeId: number;
  readonly sizeofTcpMd5sig: number;
  readonly offsetofTcpmAddr: number;
  readonly offsetofTcpmKeylen: number;
  readonly offsetofTcpmKey: number;
}

export interface ParsedAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** IPv6 scope (interface index) from a `%N` suffix; 0 otherwise. */
  readonly scopeId: number;
}

/** Parses an IPv4 or IPv6 literal (IPv6 with an optional numeric `%scope`); undefined if it is not one. */
export function parseAddress(text: string): ParsedAddress | undefined {
  try {
    if (!text.includes(":")) {
      const bytes = new Uint8Array(4);
      parseIpv4Into(text, bytes);
      return { family: 4, bytes, scopeId: 0 };
    }
    const pct = text.indexOf("%");
    let scopeId = 0;
    if (pct >= 0) {
      const scope = text.slice(pct + 1);
      if (!/^\d{1,10}$/.test(scope) || Number(scope) > 0xffffffff) return undefined;
      scopeId = Number(scope);
    }
    const bytes = new Uint8Array(16);
    parseIpv6Into(pct >= 0 ? text.slice(0, pct) : text, bytes);
    return { family: 6, bytes, scopeId };
  } catch {
    return undefined;
  }
}

const MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** `::ffff:10.0.0.1` (how a dual-stack socket shows an IPv4 peer) -> `10.0.0.1`; anything else unchanged. */
export function unmapIpv4(address: string): string {
  const m = MAPPED.exec(address);
  return m ? m[1]! : address;
}

/** `10.0.0.1` -> `::ffff:10.0.0.1`, the form an IPv4 peer has on an AF_INET6 socket. */
export function mapIpv4(address: string): string {
  return `::ffff:${address}`;
}

function writeU16(out: Uint8Array, off: number, v: number, littleEndian: boolean): void {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint16(off, v, littleEndian);
}

/**
 * struct sockaddr_in / sockaddr_in6 for `address` and `port` (family in host order, port in network
 * order), written into `out` at `off` when given. Throws on an address that is not an IP literal.
 */
export function encodeSockaddr(
  address: string,
  port: number,
  layout: SockaddrLayout,
  littleEndian: boolean,
  out?: Uint8Array,
  off = 0,
): Uint8Array {
  const a = parseAddress(address);
  if (a === undefined) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
  if (!Number.isInteger(port) || port < 0 || port > 0xffff)
    throw new RangeError(`port out of range: ${port}`);
  const size = a.family === 4 ? layout.sizeofSockaddrIn : layout.sizeofSockaddrIn6;
  const buf = out ?? new Uint8Array(size);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (layout.sizeofSaFamily !== 2) throw new Error(`unexpected sizeof(sa_family_t) ${layout.sizeofSaFamily}`);
  if (a.family === 4) {
    writeU16(buf, off, layout.AF_INET, littleEndian);
    dv.setUint16(off + layout.offsetofSinPort, port, false);
    buf.set(a.bytes, off + layout.offsetofSinAddr);
  } else {
    writeU16(buf, off, layout.AF_INET6, littleEndian);
    dv.setUint16(off + layout.offsetofSin6Port, port, false);
    buf.set(a.bytes, off + layout.offsetofSin6Addr);
    dv.setUint32(off + layout.offsetofSin6ScopeId, a.scopeId, littleEndian);
  }
  return buf;
}

/**
 * struct tcp_md5sig for TCP_MD5SIG (RFC 2385): the peer's address (port ignored by the kernel) and the
 * key. An empty key deletes the peer's key. The caller checks the key length against
 * TCP_MD5SIG_MAXKEYLEN (80) first; this throws if it was not.
 */
export function encodeTcpMd5sig(
  peer: string,
  key: Uint8Array,
  layout: SockaddrLayout,
  littleEndian: boolean,
): Uint8Array {
  if (key.length > layout.TCP_MD5SIG_MAXKEYLEN) {
    throw new RangeError(`MD5 key of ${key.length} bytes exceeds ${layout.TCP_MD5SIG_MAXKEYLEN}`);
  }
  const out = new Uint8Array(layout.sizeofTcpMd5sig);
  encodeSockaddr(peer, 0, layout, littleEndian, out, layout.offsetofTcpmAddr);
  writeU16(out, layout.offsetofTcpmKeylen, key.length, littleEndian);
  out.set(key, layout.offsetofTcpmKey);
  return out;
}
