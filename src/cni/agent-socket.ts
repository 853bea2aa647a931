/**
 * The node agent's side of the CNI fast path: a root-only unix socket where the installed native
 * `tabby-cni` shim forwards each call (framing in src/cni/shim/tabby-cni.c), answered by the same
 * cniCall the Node plugin runs, with the agent's datastore and IPAM client. That is why an ADD through
 * the agent costs milliseconds: no process start, no module load, no datastore connection, warm block
 * cache. IPAM assignments and releases are serialised in this process, as the host lock serialises
 * separate plugin processes, so concurrent ADDs do not fight over one block's compare-and-swap.
 */
import { chmodSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { dirname } from "node:path";
import { TabbyError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { type CniCallDeps, type CniCallInput, type CniCallOutput, cniCall } from "./call.js";
import { CNI_CODE, CniError, errorResult } from "./errors.js";
import { socketListening } from "./socket-probe.js";

const MAX_HEADER = 64 * 1024;
const MAX_STDIN = 16 * 1024 * 1024;

/** A parsed request, or why the bytes are not one (undefined: not all there yet). */
export function parseShimRequest(buf: Buffer): CniCallInput | Error | undefined {
  let at = 0;
  let role = "tabby-cni";
  const env: Record<string, string> = {};
  let first = true;
  for (;;) {
    // Everything before the stdin bytes is header, so the limit is on all of it, not one line.
    if (at > MAX_HEADER) return new Error("request header too long");
    const nl = buf.indexOf(10, at);
    if (nl < 0) return buf.length > MAX_HEADER ? new Error("request header too long") : undefined;
    const line = buf.subarray(at, nl).toString("utf8");
    at = nl + 1;
    if (first) {
      if (line !== "tabby-cni 1")
        return new Error(`not a tabby-cni request: ${JSON.stringify(line.slice(0, 40))}`);
      first = false;
      continue;
    }
    const sp = line.indexOf(" ");
    const word = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? "" : line.slice(sp + 1);
    if (word === "role") role = rest;
    else if (word === "env") {
      const eq = rest.indexOf("=");
      if (eq <= 0) return new Error(`bad env line ${JSON.stringify(rest.slice(0, 40))}`);
      env[rest.slice(0, eq)] = rest.slice(eq + 1);
    } else if (word === "stdin") {
      const n = /^\d{1,9}$/.test(rest) ? Number(rest) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < 0 || n > MAX_STDIN)
        return new Error(`bad stdin length ${JSON.stringify(rest)}`);
      if (buf.length - at < n) return undefined;
      return { role, env, stdin: new Uint8Array(buf.subarray(at, at + n)) };
    } else return new Error(`unknown request line ${JSON.stringify(word.slice(0, 40))}`);
  }
}

/** Runs `fn`s one after another (a promise chain as a mutex). */
export function serialiser(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

export interface CniSocket {
  readonly path: string;
  /** Calls answered since start. */
  readonly calls: () => number;
  close(): Promise<void>;
}

export async function serveCniSocket(
  path: string,
  deps: CniCallDeps & { readonly logger: Logger },
  call: (input: CniCallInput, deps: CniCallDeps) => Promise<CniCallOutput> = cniCall,
): Promise<CniSocket> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  if (await socketListening(path))
    throw new TabbyError("CNI_SOCKET_BUSY", "another agent already serves this CNI socket", { file: path });
  await rm(path, { force: true });
  const log = deps.logger.child({ component: "cni-socket" });
  const callDeps: CniCallDeps = deps;
  let calls = 0;
  const open = new Set<Socket>();
  // Half-open: the shim shuts its side down after the request and still reads the answer.
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    open.add(sock);
    sock.on("close", () => open.delete(sock));
    sock.on("error", (e) => log.warn({ err: e.message }, "CNI client connection failed"));
    let buf = Buffer.alloc(0);
    let done = false;
    const answer = (out: CniCallOutput) => {
      if (!sock.destroyed) sock.end(`${out.code}\n${out.stdout}`);
    };
    sock.on("data", (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      const req = parseShimRequest(buf);
      if (req === undefined) return;
      done = true;
      if (req instanceof Error) {
        log.warn({ err: req.message }, "malformed request on the CNI socket");
        const err = new CniError(CNI_CODE.io, "malformed request from the tabby-cni shim", req.message);
        answer({ code: 1, stdout: `${JSON.stringify(errorResult(err, "1.0.0"))}\n` });
        return;
      }
      calls++;
      call(req, callDeps).then(answer, (e: unknown) =>
        // cniCall never throws; a replacement in tests might.
        answer({ code: 1, stdout: `${JSON.stringify(errorResult(e, "1.0.0"))}\n` }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  log.info({ path }, "serving CNI calls");
  return {
    path,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}
