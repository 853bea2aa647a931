/**
 * Serving on a unix socket path, as every control socket here does (the speaker's and the agent's
 * status sockets, the BIRD control sockets): the directory made, a live socket refused (two daemons
 * must not take each other's path), a stale one from a dead process removed, the mode set once
 * listening, and the path removed again on close.
 */
import { chmodSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";

/** Whether something accepts connections on the socket at `path`. */
export function socketAccepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

interface Listener {
  listen(path: string, ready: () => void): unknown;
  once(event: "error", fn: (e: Error) => void): unknown;
  close(done: () => void): unknown;
}

/**
 * Listens on `path` with `mode`; `busy` is the error when another process already serves it. The
 * returned function closes the server (after `beforeClose`, which drops its connections) and removes
 * the path.
 */
export async function listenUnix(
  server: Listener,
  path: string,
  mode: number,
  busy: () => Error,
  beforeClose: () => void = () => undefined,
): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await socketAccepts(path)) throw busy();
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, mode);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      beforeClose();
    }).then(() => rm(path, { force: true }));
}
