/**
 * The transport's one error type. An operator reads these in `tabby bgp peers` and `tabbyctl node
 * status`, so `reason` is in words ("connection refused", "no route to host") and `errno` keeps the
 * kernel's name for code that decides (retry now, later, or report). Branded with Symbol.for("tabby.error")
 * so that src/util/errors.ts's isTabbyError(e, "BGP_TRANSPORT") recognises it without bgp/ importing src/.
 */

const brand: unique symbol = Symbol.for("tabby.error") as never;

/** What the transport was doing when it failed. */
export type TransportOperation = "connect" | "listen" | "set-md5-key" | "set-ttl" | "set-min-ttl";

export class TransportError extends Error {
  readonly [brand] = true;
  override readonly name = "TransportError";
  readonly code = "BGP_TRANSPORT";
  /** The failure in words, without the peer: what a status column shows. */
  readonly reason: string;
  /** Peer (or local) port, when the operation had one. */
  readonly port: number | undefined;

  constructor(
    /** errno name from the kernel (`ECONNREFUSED`, `ETIMEDOUT`, ...), or `ECANCELED` for an aborted connect. */
    readonly errno: string,
    /** Peer (or local listen) address the operation was about. */
    readonly peer: string,
    readonly operation: TransportOperation,
    opts: { port?: number; detail?: string; md5?: boolean; cause?: unknown } = {},
  ) {
    const reason = describeErrno(errno, operation, opts.md5 ?? false);
    const where = opts.port !== undefined ? `${peer} port ${opts.port}` : peer;
    const what = OPERATION_WORDS[operation];
    super(
      `${what} ${where}: ${reason}${opts.detail ? ` (${opts.detail})` : ""} [${errno}]`,
      opts.cause !== undefined ? { cause: opts.cause } : undefined,
    );
    this.reason = reason;
    this.port = opts.port;
  }
}

const OPERATION_WORDS: Record<TransportOperation, string> = {
  connect: "connect to",
  listen: "listen on",
  "set-md5-key": "set the TCP MD5 key for",
  "set-ttl": "set the TTL for",
  "set-min-ttl": "set the minimum TTL for",
};

const WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused (nothing listens on the peer's port, or a firewall rejects it)",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "no route to host (the peer does not answer on its link, or a router says it is unreachable)",
  ENETUNREACH: "network unreachable (no route to the peer's address)",
  EADDRNOTAVAIL: "local address not available (it is not configured on this host)",
  EADDRINUSE: "address already in use",
  ECONNRESET: "connection reset by peer",
  ECONNABORTED: "connection aborted",
  EACCES: "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)",
  EPERM: "operation not permitted (needs CAP_NET_ADMIN or CAP_SYS_ADMIN)",
  EAFNOSUPPORT: "address family not supported (is IPv6 disabled?)",
  ENOPROTOOPT: "socket option not supported by this kernel",
  ENOMEM: "the kernel refused the option for lack of socket option memory (raise net.core.optmem_max)",
  ENOENT: "no such network namespace",
  EINVAL: "invalid argument",
  EBADF: "the socket is already closed",
  ECANCELED: "cancelled",
};

/** The failure in words for `tabby bgp peers`. */
export function describeErrno(errno: string, operation: TransportOperation, md5: boolean): string {
  let words = WORDS[errno] ?? `failed with ${errno}`;
  if (errno === "ENOPROTOOPT" && operation === "set-md5-key")
    words = "TCP MD5 signatures not supported by this kernel (CONFIG_TCP_MD5SIG)";
  if (md5 && errno === "ETIMEDOUT") {
    // RFC 2385 §2.0: a segment with a wrong or missing signature is dropped silently, no RST.
    words += "; MD5 signature mismatch suspected (a peer with a different key drops our segments silently)";
  }
  return words;
}
