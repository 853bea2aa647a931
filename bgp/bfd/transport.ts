/**
 * BFD over UDP, single hop (RFC 5881): packets go to port 3784 from a source port in 49152-65535 that
 * stays the same for the session (§4), with TTL / hop limit 255 (§5); on receipt a TTL below 255 is
 * discarded (§5, the GTSM check). Sockets are opened by the transport addon (bgp/native, so that they can
 * live in another network namespace), bound to the session's local address, and handed to node:dgram.
 * Node cannot read a received packet's TTL, so the check runs in the kernel: a classic BPF socket
 * filter on the receiving socket that loads the IP header's TTL (IPv4 offset 8) or Hop Limit (IPv6
 * offset 7) through SKF_NET_OFF and drops anything under 255 before it is queued.
 * One receiving socket per (namespace, local address) serves every session on it; packets are handed
 * to the session registered for their source address. Multihop (RFC 5883, port 4784) is not done.
 */
import { createSocket, type Socket } from "node:dgram";
import { endianness } from "node:os";
import { loadNative } from "../transport/native.js";
import { encodeSockaddr, parseAddress } from "../transport/sockaddr.js";

export const BFD_CONTROL_PORT = 3784;
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
/** RFC 5881 §5: what we send with, and the least we accept. */
export const BFD_TTL = 255;

const LE = endianness() === "LE";

export interface BfdEndpointOptions {
  readonly local: string;
  readonly peer: string;
  readonly netnsPath?: string;
  readonly onPacket: (bytes: Uint8Array) => void;
  readonly onError?: (e: Error) => void;
}

export interface BfdEndpoint {
  readonly sourcePort: number;
  send(bytes: Uint8Array): void;
  close(): void;
}

/** How BFD reaches its peers; tests swap in a wire of their own. */
export interface BfdTransport {
  open(opts: BfdEndpointOptions): Promise<BfdEndpoint>;
}

/**
 * A classic BPF program accepting only packets whose TTL (IPv4) or Hop Limit (IPv6) is at least
 * `minTtl`: ldb [SKF_NET_OFF + off]; jge #minTtl, accept, drop. struct sock_filter is
 * { u16 code; u8 jt; u8 jf; u32 k } in host order.
 */
export function ttlFilterProgram(family: 4 | 6, minTtl: number, littleEndian = LE): Uint8Array {
  const SKF_NET_OFF = -0x100000;
  const insns: [number, number, number, number][] = [
    [0x30, 0, 0, SKF_NET_OFF + (family === 4 ? 8 : 7)], // BPF_LD | BPF_B | BPF_ABS
    [0x35, 0, 1, minTtl], // BPF_JMP | BPF_JGE | BPF_K
    [0x06, 0, 0, 0xffffffff], // BPF_RET | BPF_K: the whole packet
    [0x06, 0, 0, 0], // BPF_RET | BPF_K: drop
  ];
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach(([code, jt, jf, k], i) => {
    dv.setUint16(i * 8, code, littleEndian);
    out[i * 8 + 2] = jt;
    out[i * 8 + 3] = jf;
    dv.setUint32(i * 8 + 4, k >>> 0, littleEndian);
  });
  return out;
}

/** A UDP socket bound to `address`:`port` with TTL 255 out and (for receiving) the TTL filter, in dgram. */
async function openUdp(
  address: string,
  port: number,
  netnsPath: string | undefined,
  receive: boolean,
): Promise<Socket> {
  const n = loadNative();
  const c = n.constants;
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new Error(`BFD: not an IP address: ${address}`);
  const v4 = parsed.family === 4;
  const fd = n.socket(v4 ? c.AF_INET : c.AF_INET6, netnsPath ?? null, true);
  try {
    n.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1);
    if (v4) n.setsockopt(fd, c.IPPROTO_IP, c.IP_TTL, BFD_TTL);
    else {
      n.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, 1);
      n.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_UNICAST_HOPS, BFD_TTL);
    }
    if (receive) n.attachFilter(fd, ttlFilterProgram(v4 ? 4 : 6, BFD_TTL));
    n.bind(fd, encodeSockaddr(address, port, c, LE));
  } catch (e) {
    n.close(fd);
    throw e;
  }
  const sock = createSocket({ type: v4 ? "udp4" : "udp6" });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind({ fd }, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  return sock;
}

interface Receiver {
  readonly socket: Socket;
  readonly handlers: Map<string, (bytes: Uint8Array) => void>;
}

const receivers = new Map<string, Promise<Receiver>>();

const normalize = (a: string): string => (a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a);

async function receiverFor(local: string, netnsPath: string | undefined): Promise<Receiver> {
  const key = `${netnsPath ?? ""}|${local}`;
  let r = receivers.get(key);
  if (r === undefined) {
    r = openUdp(local, BFD_CONTROL_PORT, netnsPath, true).then((socket) => {
      const rx: Receiver = { socket, handlers: new Map() };
      socket.on("message", (msg, rinfo) => {
        rx.handlers.get(normalize(rinfo.address))?.(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
      });
      // A send or receive error on a connectionless socket is not fatal; the sessions time out alone.
      socket.on("error", () => {});
      return rx;
    });
    receivers.set(key, r);
    r.catch(() => receivers.delete(key));
  }
  return r;
}

async function releaseReceiver(local: string, netnsPath: string | undefined, peer: string): Promise<void> {
  const key = `${netnsPath ?? ""}|${local}`;
  const r = receivers.get(key);
  if (r === undefined) return;
  const rx = await r;
  rx.handlers.delete(peer);
  if (rx.handlers.size === 0 && receivers.get(key) === r) {
    receivers.delete(key);
    rx.socket.close();
  }
}

/** The real transport: UDP in the namespace, sockets shared per local address. */
export const udpBfdTransport: BfdTransport = {
  async open(opts) {
    const peer = normalize(opts.peer);
    const rx = await receiverFor(opts.local, opts.netnsPath);
    if (rx.handlers.has(peer)) throw new Error(`BFD: a session to ${peer} from ${opts.local} exists already`);
    rx.handlers.set(peer, opts.onPacket);
    let tx: Socket | undefined;
    let lastError: unknown;
    // §4: a source port from the dynamic range, the same for the life of the session.
    for (let i = 0; i < 32 && tx === undefined; i++) {
      const port =
        BFD_SOURCE_PORT_MIN + Math.floor(Math.random() * (BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1));
      try {
        tx = await openUdp(opts.local, port, opts.netnsPath, false);
      } catch (e) {
        lastError = e;
        if ((e as { code?: string }).code !== "EADDRINUSE") break;
      }
    }
    if (tx === undefined) {
      await releaseReceiver(opts.local, opts.netnsPath, peer);
      throw lastError instanceof Error ? lastError : new Error("BFD: no free source port");
    }
    const sock = tx;
    sock.on("error", (e) => opts.onError?.(e));
    // Anything sent to our source port is not BFD control traffic for us; drain it.
    sock.on("message", () => {});
    let closed = false;
    return {
      sourcePort: sock.address().port,
      send(bytes) {
        if (closed) return;
        sock.send(bytes, BFD_CONTROL_PORT, peer, (e) => {
          if (e) opts.onError?.(e);
        });
      },
      close() {
        if (closed) return;
        closed = true;
        sock.close();
        void releaseReceiver(opts.local, opts.netnsPath, peer);
      },
    };
  },
};
