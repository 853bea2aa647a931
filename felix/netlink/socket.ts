/**
 * A NETLINK_ROUTE socket for requests: batched writes with a per-message ACK mapped back to the request
 * that caused it, and dumps parsed as a stream. One send(2) carries up to `chunkMessages` requests; the
 * kernel answers each before send returns, and one recv call drains many datagrams, so programming or
 * dumping N routes costs O(N/chunk) syscalls, never one per route. Waits for readability through libuv,
 * never blocking the event loop; yields between chunks so a 100k-route batch does not starve timers.
 * Operations on one socket are serialised. Does not interpret rtnetlink payloads (see *-codec.ts).
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { NetlinkError } from "../errors.js";
import { decodeAck } from "./ack-codec.js";
import type { BatchFailure, BatchResult, RequestBatch } from "./batch.js";
import {
  NETLINK_OPT,
  NETLINK_ROUTE,
  NLM_F,
  NLMSG,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./constants.js";
import { loadNative, type NativeNetlink } from "./native.js";
import {
  forEachMessage,
  i32At,
  type RawMessage,
  u32At,
  viewOf,
  type Writer,
  Writer as WriterClass,
} from "./wire.js";

export interface SocketOptions {
  /** Open the socket inside this network namespace (e.g. /run/netns/x); default: the process's own. */
  readonly netnsPath?: string;
  /** Receive buffer; must hold a whole chunk of ACKs or a burst of events. Default 8 MiB. */
  readonly rcvbufBytes?: number;
  /** Requests per send(2). Default 1024. */
  readonly chunkMessages?: number;
  readonly native?: NativeNetlink;
}

/** Largest datagram the kernel sends for dumps (32 KiB) plus headroom; recv stops below this. */
const MIN_FREE = 64 * 1024;
const RECV_BUFFER = 4 * 1024 * 1024;
const MAX_DUMP_RETRIES = 5;

export function openRawSocket(native: NativeNetlink, opts: SocketOptions): { fd: number; portId: number } {
  const [fd, portId] = native.open(NETLINK_ROUTE, opts.netnsPath ?? null);
  const rcvbuf = opts.rcvbufBytes ?? 8 * 1024 * 1024;
  try {
    native.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf);
  } catch {
    native.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf); // without CAP_NET_ADMIN: capped by rmem_max
  }
  try {
    native.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 * 1024 * 1024);
  } catch {
    native.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, 4 * 1024 * 1024);
  }
  native.setsockoptInt(fd, SOL_NETLINK, NETLINK_OPT.EXT_ACK, 1);
  native.setsockoptInt(fd, SOL_NETLINK, NETLINK_OPT.CAP_ACK, 1);
  return { fd, portId };
}

export class NetlinkSocket {
  private seq: number;
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly rbuf = new Uint8Array(RECV_BUFFER);
  private readonly chunk: number;
  /** Requests sent and dumps started, for tests and metrics. */
  readonly stats = { sends: 0, recvs: 0, requests: 0, dumps: 0 };

  private constructor(
    private readonly native: NativeNetlink,
    readonly fd: number,
    readonly portId: number,
    opts: SocketOptions,
  ) {
    this.seq = Math.floor(Math.random() * 0x7fffffff);
    this.chunk = opts.chunkMessages ?? 1024;
  }

  static open(opts: SocketOptions = {}): NetlinkSocket {
    const native = opts.native ?? loadNative();
    const { fd, portId } = openRawSocket(native, opts);
    return new NetlinkSocket(native, fd, portId, opts);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close(this.fd);
  }

  private serial<R>(op: () => Promise<R>): Promise<R> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  /**
   * Sends every request of `batch`, in order, and collects one ACK per request. A failed request does
   * not stop the others (each is its own kernel transaction); failures come back with errno and item.
   */
  execute<T>(batch: RequestBatch<T>): Promise<BatchResult<T>> {
    return this.serial(() => this.executeNow(batch));
  }

  private async executeNow<T>(batch: RequestBatch<T>): Promise<BatchResult<T>> {
    if (this.closed) throw new Error("netlink socket closed");
    const failures: BatchFailure<T>[] = [];
    let ok = 0;
    const view = viewOf(batch.w.buf);
    for (let i = 0; i < batch.size; ) {
      const j = Math.min(batch.size, i + this.chunk);
      const firstSeq = this.seq + 1;
      for (let k = i; k < j; k++) view.setUint32(batch.starts[k]! + 8, this.nextSeq(), true);
      const bytes = batch.w.buf.subarray(batch.starts[i]!, batch.end(j - 1));
      this.sendAll(bytes, `batch of ${j - i} requests`);
      this.stats.requests += j - i;
      await this.collectAcks(j - i, (seq, errno, extack) => {
        const index = i + ((seq - firstSeq) >>> 0);
        if (index < i || index >= j) return false;
        if (errno === 0) ok++;
        else failures.push({ index, item: batch.items[index]!, errno, ...(extack ? { extack } : {}) });
        return true;
      });
      i = j;
      if (i < batch.size) await yieldToLoop();
    }
    return { ok, failures };
  }

  private sendAll(bytes: Uint8Array, what: string): void {
    try {
      const n = this.native.send(this.fd, bytes);
      this.stats.sends++;
      if (n !== bytes.length) throw new NetlinkError(5 /* EIO */, `${what}: short send ${n}/${bytes.length}`);
    } catch (e) {
      if (e instanceof NetlinkError) throw e;
      throw new NetlinkError((e as { errno?: number }).errno ?? 5, `${what}: send`);
    }
  }

  /** Reads until `count` ACKs for this chunk were consumed by `onAck` (which returns false for strays). */
  private async collectAcks(
    count: number,
    onAck: (seq: number, errno: number, extack?: string) => boolean,
  ): Promise<void> {
    let left = count;
    while (left > 0) {
      const [n, err] = this.native.recv(this.fd, this.rbuf, MIN_FREE);
      this.stats.recvs++;
      if (n > 0) {
        const buf = this.rbuf;
        forEachMessage(buf, 0, n, (m) => {
          if (m.type !== NLMSG.ERROR) return;
          // Success ACKs (error 0) are by far the most common: read seq without decoding the rest.
          if (m.end - m.payload >= 20 && i32At(buf, m.payload) === 0) {
            if (onAck(u32At(buf, m.payload + 12), 0)) left--;
            return;
          }
          const ack = decodeAck(buf, m);
          if (onAck(ack.seq, ack.errno, ack.extack)) left--;
        });
      }
      if (err !== 0) {
        throw new NetlinkError(err, `waiting for ${left} of ${count} ACKs (receive buffer overrun: resync)`);
      }
      if (left > 0 && n === 0) await this.readable();
    }
  }

  /**
   * Runs a dump (`encode` writes the NLM_F_DUMP request) and decodes each answer with `decode`
   * (undefined = skip). Restarts when the kernel flags the dump inconsistent (NLM_F_DUMP_INTR).
   */
  dump<T>(
    encode: (w: Writer, seq: number) => void,
    decode: (buf: Uint8Array, m: RawMessage) => T | undefined,
  ) {
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        const r = await this.dumpOnce(encode, decode);
        if (!r.interrupted || attempt >= MAX_DUMP_RETRIES) return r.items;
      }
    });
  }

  private async dumpOnce<T>(
    encode: (w: Writer, seq: number) => void,
    decode: (buf: Uint8Array, m: RawMessage) => T | undefined,
  ): Promise<{ items: T[]; interrupted: boolean }> {
    if (this.closed) throw new Error("netlink socket closed");
    const w = new WriterClass(128);
    const seq = this.nextSeq();
    encode(w, seq);
    this.sendAll(w.bytes(), "dump request");
    this.stats.dumps++;
    const items: T[] = [];
    let interrupted = false;
    for (;;) {
      const [n, err] = this.native.recv(this.fd, this.rbuf, MIN_FREE);
      this.stats.recvs++;
      let done = false;
      const buf = this.rbuf;
      forEachMessage(buf, 0, n, (m) => {
        if (done || m.seq !== seq) return; // a late ACK of an abandoned request
        if (m.flags & NLM_F.DUMP_INTR) interrupted = true;
        if (m.type === NLMSG.DONE) {
          const e = m.end - m.payload >= 4 ? i32At(buf, m.payload) : 0;
          if (e < 0) throw new NetlinkError(-e, "dump");
          done = true;
          return;
        }
        if (m.type === NLMSG.ERROR) {
          const ack = decodeAck(buf, m);
          throw new NetlinkError(ack.errno, "dump request", ack.extack);
        }
        const v = decode(buf, m);
        if (v !== undefined) items.push(v);
      });
      if (done) return { items, interrupted };
      if (err !== 0) throw new NetlinkError(err, "dump (receive buffer overrun)");
      if (n === 0) await this.readable();
    }
  }

  private readable(): Promise<void> {
    return new Promise((resolve) => {
      const h = this.native.watch(this.fd, () => {
        this.native.unwatch(h);
        resolve();
      });
    });
  }
}
