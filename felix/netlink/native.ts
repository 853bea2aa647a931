/**
 * Loads felix's netlink addon (felix/native, built from source by `npm install` / `npm run build:native`)
 * and types its eight functions. Only socket calls live in C; see felix/native/netlink.c for why.
 * Found relative to this module both from the source tree and from dist/ after `tsc`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export interface NativeNetlink {
  /** socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK|SOCK_CLOEXEC, protocol) + bind, inside `nsPath` if given. */
  open(protocol: number, nsPath: string | null): [fd: number, portId: number];
  setsockoptInt(fd: number, level: number, option: number, value: number): void;
  /** One sendto(2) to the kernel; rtnetlink processes the whole buffer before it returns. */
  send(fd: number, bytes: Uint8Array): number;
  /** Drains datagrams into `buf` while at least `minFree` bytes are left; [bytes read, errno]. */
  recv(fd: number, buf: Uint8Array, minFree: number): [bytes: number, errno: number];
  watch(fd: number, onReadable: (status: number) => void): unknown;
  unwatch(handle: unknown): void;
  close(fd: number): void;
  /** Writes /proc/sys/<relPath> (which must start with net/) as seen from namespace `nsPath`. */
  writeSysctl(nsPath: string | null, relPath: string, value: string): void;
}

const CANDIDATES = [
  "../native/build/Release/tabby_netlink.node", // felix/netlink -> felix/native
  "../../../felix/native/build/Release/tabby_netlink.node", // dist/felix/netlink -> felix/native
];

let loaded: NativeNetlink | undefined;

export function loadNative(): NativeNetlink {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) {
      loaded = require(path) as NativeNetlink;
      return loaded;
    }
  }
  throw new Error(
    "felix netlink addon not built: run `npm run build:native` (needs python3, make, g++ and Node headers)",
  );
}
