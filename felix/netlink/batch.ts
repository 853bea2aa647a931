/**
 * A batch of rtnetlink requests laid out back to back in one buffer, each with NLM_F_ACK, each tagged
 * with the caller's item (a route, an interface) so an error ACK can name what failed. The socket sends
 * it in chunks and patches in its own sequence numbers, so building a batch needs no socket. Pure.
 */
import { Writer } from "./wire.js";

export class RequestBatch<T> {
  readonly w: Writer;
  /** Offset of each message in `w`. */
  readonly starts: number[] = [];
  readonly items: T[] = [];

  constructor(initialBytes = 16 * 1024) {
    this.w = new Writer(initialBytes);
  }

  get size(): number {
    return this.items.length;
  }

  /** `encode` appends exactly one message (its seq argument is a placeholder the socket replaces). */
  add(item: T, encode: (w: Writer, seq: number) => void): void {
    this.starts.push(this.w.len);
    encode(this.w, this.items.length + 1);
    this.items.push(item);
  }

  /** End offset of message i. */
  end(i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1]! : this.w.len;
  }
}

export interface BatchFailure<T> {
  readonly index: number;
  readonly item: T;
  readonly errno: number;
  readonly extack?: string;
}

export interface BatchResult<T> {
  /** Requests the kernel acknowledged with 0. */
  readonly ok: number;
  readonly failures: readonly BatchFailure<T>[];
}
