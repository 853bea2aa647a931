/**
 * Helpers for the BGP transport's kernel tests: namespace paths for the transport's `netnsPath`, kernel
 * counters read with `nstat` inside a namespace, and a BGP message reader on a socket (bgp/codec's
 * framer and decoder) that waits for what an external daemon sends, with a deadline.
 */
import type { Socket } from "node:net";
import { MessageFramer } from "../../bgp/codec/framing.js";
import { type BgpMessage, decodeMessage } from "../../bgp/codec/message.js";
import type { Netns } from "../harness/netns.js";

export const nsPath = (ns: Netns): string => `/run/netns/${ns.name}`;

/** A kernel SNMP/netstat counter (e.g. TcpExtTCPMD5Failure) inside `ns`; -s: no history file written. */
export async function counter(ns: Netns, name: string): Promise<number> {
  const r = await ns.exec("nstat", ["-saz", name]);
  const line = r.stdout.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`nstat has no ${name}: ${r.stdout}`);
  return Number(line.split(/\s+/)[1]);
}

/** Reads BGP messages from a socket as they arrive. */
export class MessageReader {
  private readonly framer = new MessageFramer();
  private readonly queue: BgpMessage[] = [];
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) this.queue.push(decodeMessage(m.bytes));
      this.waiter?.();
    });
    socket.on("close", () => {
      this.ended = new Error("socket closed");
      this.waiter?.();
    });
    socket.on("error", (e) => {
      this.ended = e;
      this.waiter?.();
    });
  }

  /** The next message; fails after `timeoutMs` (the daemon on the other end runs on real time). */
  async next(timeoutMs = 10_000): Promise<BgpMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m !== undefined) return m;
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no BGP message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }
}

/** A socket-level promise that settles when `socket` closes; resolves its cleanup in tests. */
export function closeSocket(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once("close", () => resolve());
    socket.destroy();
  });
}
