/**
 * Loads the transport's socket-option addon (bgp/native, built from source by `npm install` /
 * `npm run build:native:bgp`) and types its calls. Only socket calls live in C (see
 * bgp/native/tcp.c for why); option values and socket addresses are encoded in sockaddr.ts.
 * Found relative to this module both from the source tree and from dist/ after `tsc`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { SockaddrLayout } from "./sockaddr.js";

/** Kernel constants and struct layouts, read from this machine's headers when the addon was built. */
export interface NativeConstants extends SockaddrLayout {
  readonly AF_INET: number;
  readonly AF_INET6: number;
  readonly SOL_SOCKET: number;
  readonly SO_REUSEADDR: number;
  readonly SO_ERROR: number;
  readonly IPPROTO_IP: number;
  readonly IPPROTO_IPV6: number;
  readonly IPPROTO_TCP: number;
  readonly IP_TTL: number;
  readonly IP_MINTTL: number;
  readonly IPV6_UNICAST_HOPS: number;
  readonly IPV6_MINHOPCOUNT: number;
  readonly IPV6_V6ONLY: number;
  readonly TCP_MD5SIG: number;
  readonly TCP_MD5SIG_MAXKEYLEN: number;
  readonly SO_REUSEPORT: number;
  readonly SO_ATTACH_FILTER: number;
}

/** Errors thrown by the addon carry the errno name in `code`, as Node's own errors do. */
export interface NativeError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

export interface NativeTcp {
  /**
   * socket(family, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, IPPROTO_TCP), inside `nsPath` if given; with
   * `udp`, SOCK_DGRAM / IPPROTO_UDP (BFD, bgp/bfd/transport.ts).
   */
  socket(family: number, nsPath: string | null, udp?: boolean): number;
  /** SO_ATTACH_FILTER with a classic BPF program (struct sock_filter entries, 8 bytes each). */
  attachFilter(fd: number, program: Uint8Array): void;
  /** A number is passed as a C int; bytes as they are. */
  setsockopt(fd: number, level: number, name: number, value: number | Uint8Array): void;
  getsockopt(fd: number, level: number, name: number, maxLen: number): Uint8Array;
  bind(fd: number, sockaddr: Uint8Array): void;
  /** Only for an fd not (yet) handed to Node. */
  close(fd: number): void;
  readonly constants: NativeConstants;
}

const CANDIDATES = [
  "../native/build/Release/tabby_tcp.node", // bgp/transport -> bgp/native
  "../../../bgp/native/build/Release/tabby_tcp.node", // dist/bgp/transport -> bgp/native
];

let loaded: NativeTcp | undefined;

export function loadNative(): NativeTcp {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) {
      loaded = require(path) as NativeTcp;
      return loaded;
    }
  }
  throw new Error(
    "BGP transport addon not built: run `npm run build:native:bgp` (needs python3, make, gcc and Node headers)",
  );
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string" && "syscall" in e;
}
