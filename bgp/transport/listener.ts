/**
 * The passive side: one listening socket on the BGP port for every peer (RFC 4271 §8, passive
 * TcpConnection events). RFC 2385 keys must sit on the listening socket itself, one per peer address,
 * because the kernel checks the SYN's signature there; accepted sockets inherit the peer's key (and the
 * listener's TTL and minimum TTL) from it. On a dual-stack ("::") listener IPv4 peers are v4-mapped; the
 * info handed to the session shows them as plain IPv4. Which peer a connection belongs to, and
 * collision detection (RFC 4271 §6.8), are the session's business.
 */

import { createServer, type Server, type Socket } from "node:net";
import { endianness } from "node:os";
import { BGP_PORT } from "./connect.js";
import { TransportError } from "./errors.js";
import { loadNative } from "./native.js";
import { encodeSockaddr, parseAddress, unmapIpv4 } from "./sockaddr.js";
import {
  nativeCall,
  openTcpSocket,
  type SocketFamily,
  setMd5KeyOnFd,
  setMinTtlOnFd,
  setTtlOnFd,
} from "./socket-options.js";

export interface ListenOptions {
  /** "::" = IPv4 and IPv6 (dual-stack), "0.0.0.0" = IPv4 only, or one local address. */
  readonly host: string;
  /** Default 179; 0 picks a free port (see `port`). */
  readonly port?: number;
  /** With host "::": accept IPv6 only (IPV6_V6ONLY). */
  readonly ipv6Only?: boolean;
  /** Peer address -> RFC 2385 key, set before listen(2) so no unsigned SYN from these peers slips in. */
  readonly md5Keys?: Readonly<Record<string, string>>;
  /** TTL / hop limit of segments sent on accepted sockets (inherited; per peer: setTtl). */
  readonly ttl?: number;
  /** GTSM minimum TTL for every incoming segment, the SYN included (per peer after accept: setMinTtl). */
  readonly minTtl?: number;
  readonly backlog?: number;
  /** Open the socket in this network namespace (a path such as /run/netns/NAME); used by tests and the lab. */
  readonly netnsPath?: string;
}

export interface ConnectionInfo {
  /** Plain IPv4 for IPv4 peers, also on a dual-stack listener. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export type ConnectionHandler = (socket: Socket, info: ConnectionInfo) => void;

export class TcpListener {
  private readonly handlers = new Set<ConnectionHandler>();
  private readonly errorHandlers = new Set<(e: TransportError) => void>();
  private readonly keys = new Map<string, string>();
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly fd: number,
    /** Address family of the listening socket (6 for a dual-stack listener). */
    readonly family: SocketFamily,
    readonly host: string,
    /** The port actually listened on. */
    readonly port: number,
  ) {
    server.on("connection", (socket: Socket) => this.accept(socket));
    // After listening, the only errors are accept(2) failures (EMFILE, ENFILE, ENOBUFS...).
    server.on("error", (e: NodeJS.ErrnoException) => {
      const err = new TransportError(e.code ?? "EIO", host, "listen", {
        port,
        detail: "accept failed",
        cause: e,
      });
      for (const h of this.errorHandlers) h(err);
    });
  }

  static async listen(opts: ListenOptions): Promise<TcpListener> {
    const port = opts.port ?? BGP_PORT;
    const host = unmapIpv4(opts.host);
    const local = parseAddress(host);
    if (local === undefined) {
      throw new TransportError("EINVAL", host, "listen", { port, detail: "not an IP address" });
    }
    const family = local.family;
    const n = loadNative();
    const c = n.constants;
    const fd = openTcpSocket(family, opts.netnsPath, "listen", host, port);
    const server = createServer();
    try {
      nativeCall(
        "listen",
        host,
        (n) => {
          n.setsockopt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1);
          if (family === 6) n.setsockopt(fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, opts.ipv6Only ? 1 : 0);
        },
        { port },
      );
      for (const [peer, key] of Object.entries(opts.md5Keys ?? {}))
        setMd5KeyOnFd(fd, family, unmapIpv4(peer), key);
      if (opts.ttl !== undefined) setTtlOnFd(fd, family, opts.ttl, host);
      if (opts.minTtl !== undefined) setMinTtlOnFd(fd, family, opts.minTtl, host);
      nativeCall("listen", host, (n) => n.bind(fd, encodeSockaddr(host, port, c, endianness() === "LE")), {
        port,
      });
    } catch (e) {
      n.close(fd);
      throw e;
    }
    // Node adopts the bound fd (uv_tcp_open) and calls listen(2) on it.
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        server.off("listening", onListening);
        reject(new TransportError(e.code ?? "EIO", host, "listen", { port, cause: e }));
      };
      const onListening = () => {
        server.off("error", onError);
        resolve();
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen({ fd, ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}) });
    });
    const addr = server.address();
    const bound = typeof addr === "object" && addr !== null ? addr.port : port;
    const listener = new TcpListener(server, fd, family, host, bound);
    for (const [peer, key] of Object.entries(opts.md5Keys ?? {})) listener.keys.set(unmapIpv4(peer), key);
    return listener;
  }

  /**
   * Adds or replaces (`key` set) or removes (`key` undefined or "") the RFC 2385 key for `peerAddress` on
   * the listening socket. Takes effect for the next SYN; established connections keep the key they have.
   */
  setPeerKey(peerAddress: string, key: string | undefined): void {
    const peer = unmapIpv4(peerAddress);
    if (this.closed) throw new TransportError("EBADF", peer, "set-md5-key", { detail: "listener closed" });
    const remove = key === undefined || key === "";
    if (remove && !this.keys.has(peer)) return;
    setMd5KeyOnFd(this.fd, this.family, peer, key);
    if (remove) this.keys.delete(peer);
    else this.keys.set(peer, key);
  }

  /** Peers that have a key on the listening socket. */
  peersWithKeys(): string[] {
    return [...this.keys.keys()];
  }

  /** Registers a handler for accepted connections; returns a function that removes it. Without any
   * handler an accepted connection is closed at once (no session would ever read it). */
  onConnection(cb: ConnectionHandler): () => void {
    this.handlers.add(cb);
    return () => this.handlers.delete(cb);
  }

  /** accept(2) failures after listening (EMFILE and the like); the listener keeps listening. */
  onError(cb: (e: TransportError) => void): () => void {
    this.errorHandlers.add(cb);
    return () => this.errorHandlers.delete(cb);
  }

  /** Stops listening. Accepted connections stay open: they belong to their sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // server.close() closes the listening fd now; its callback would wait for every accepted socket.
    this.server.close();
  }

  private accept(socket: Socket): void {
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (
      this.handlers.size === 0 ||
      remoteAddress === undefined ||
      remotePort === undefined ||
      localAddress === undefined ||
      localPort === undefined
    ) {
      socket.destroy(); // nobody to hand it to, or the peer already reset it
      return;
    }
    const info: ConnectionInfo = {
      remoteAddress: unmapIpv4(remoteAddress),
      remotePort,
      localAddress: unmapIpv4(localAddress),
      localPort,
    };
    for (const h of this.handlers) h(socket, info);
  }
}
