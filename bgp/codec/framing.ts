/**
 * Splits a TCP byte stream into BGP messages, whatever the chunk boundaries. Complete messages inside a
 * chunk are returned as views into it (no copy); only a message split across chunks is assembled in a
 * buffer of its own, sized from its validated header, never from an unchecked length. A header error
 * (RFC 4271 §6.1) ends the stream: `push` still returns the good messages that came before it and
 * records the error in `error` (the session then sends its NOTIFICATION); later pushes return nothing.
 */
import { HEADER_LEN, MAX_MESSAGE_LEN } from "./constants.js";
import { BgpDecodeError } from "./errors.js";
import { checkHeader } from "./header.js";

export interface FramedMessage {
  /** The whole message, header included. */
  readonly bytes: Uint8Array;
  /** Offset of its first byte in the stream. */
  readonly streamOffset: number;
}

export class MessageFramer {
  private partial: Uint8Array | undefined;
  private partialLen = 0;
  /** Stream offset of the next byte to be consumed into a message. */
  private consumed = 0;
  private failed: BgpDecodeError | undefined;

  constructor(private maxLen: number = MAX_MESSAGE_LEN) {}

  /** RFC 8654: raise the limit to 65535 once Extended Message is negotiated. */
  setMaxLength(maxLen: number): void {
    this.maxLen = maxLen;
  }

  /** Bytes waiting for the rest of their message. */
  get pendingBytes(): number {
    return this.partialLen;
  }

  /** Stream offset where the pending partial message starts. */
  get streamOffset(): number {
    return this.consumed;
  }

  /** The header error that ended the stream, if any. */
  get error(): BgpDecodeError | undefined {
    return this.failed;
  }

  push(chunk: Uint8Array): FramedMessage[] {
    const out: FramedMessage[] = [];
    if (this.failed) return out;
    try {
      this.pushInner(chunk, out);
    } catch (e) {
      if (!(e instanceof BgpDecodeError)) throw e;
      this.failed = e;
    }
    return out;
  }

  private pushInner(chunk: Uint8Array, out: FramedMessage[]): void {
    let pos = 0;
    if (this.partial !== undefined) {
      pos = this.completePartial(chunk, out);
      if (this.partial !== undefined) return;
    }
    while (chunk.length - pos >= HEADER_LEN) {
      const len = checkHeader(chunk, pos, this.maxLen);
      if (chunk.length - pos < len) break;
      out.push({ bytes: chunk.subarray(pos, pos + len), streamOffset: this.consumed });
      this.consumed += len;
      pos += len;
    }
    if (pos < chunk.length) {
      const rest = chunk.length - pos;
      const want = rest >= HEADER_LEN ? checkHeader(chunk, pos, this.maxLen) : HEADER_LEN;
      this.partial = new Uint8Array(Math.max(want, rest));
      this.partial.set(chunk.subarray(pos));
      this.partialLen = rest;
    }
  }

  /** Feeds the partial message from `chunk`; returns how many bytes of the chunk it took. */
  private completePartial(chunk: Uint8Array, out: FramedMessage[]): number {
    let pos = 0;
    let buf = this.partial!;
    if (this.partialLen < HEADER_LEN) {
      const take = Math.min(HEADER_LEN - this.partialLen, chunk.length);
      buf.set(chunk.subarray(0, take), this.partialLen);
      this.partialLen += take;
      pos = take;
      if (this.partialLen < HEADER_LEN) return pos;
    }
    const len = checkHeader(buf, 0, this.maxLen);
    if (buf.length < len) {
      const grown = new Uint8Array(len);
      grown.set(buf.subarray(0, this.partialLen));
      buf = grown;
      this.partial = grown;
    }
    const take = Math.min(len - this.partialLen, chunk.length - pos);
    buf.set(chunk.subarray(pos, pos + take), this.partialLen);
    this.partialLen += take;
    pos += take;
    if (this.partialLen === len) {
      out.push({ bytes: buf.subarray(0, len), streamOffset: this.consumed });
      this.consumed += len;
      this.partial = undefined;
      this.partialLen = 0;
    }
    return pos;
  }
}
