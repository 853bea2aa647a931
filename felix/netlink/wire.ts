/**
 * Byte-level netlink framing: a growable writer that lays out messages and TLV attributes (struct
 * nlmsghdr, struct nlattr / rtattr, 4-byte alignment, host byte order = little endian on the
 * platforms felix runs on), and readers for the same. One writer holds a whole batch, so a batch is
 * one Uint8Array handed to one send(2). Pure: no sockets here.
 */
import { NetlinkDecodeError } from "../errors.js";
import { NLMSG } from "./constants.js";

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
/** Set on nested attributes by newer tools; the kernel accepts both, iproute2 6.1 does not set it. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const align4 = (n: number): number => (n + 3) & ~3;

export class Writer {
  buf: Uint8Array;
  view: DataView;
  len = 0;

  constructor(initialBytes = 4096) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes; new space is zero-filled (padding relies on it). */
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  reset(): void {
    this.buf.fill(0, 0, this.len);
    this.len = 0;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Zero bytes up to the next 4-byte boundary. */
  pad(): void {
    const to = align4(this.len);
    this.reserve(to - this.len);
    this.len = to;
  }

  /** Starts a message; returns its offset for `endMessage`. Fields: nlmsghdr (linux/netlink.h). */
  beginMessage(type: number, flags: number, seq: number, pid = 0): number {
    const start = this.len;
    this.u32(0);
    this.u16(type);
    this.u16(flags);
    this.u32(seq);
    this.u32(pid);
    return start;
  }
  endMessage(start: number): void {
    this.pad();
    this.view.setUint32(start, this.len - start, true);
  }

  // ---- attributes (struct nlattr: u16 len incl. header, u16 type, value, pad to 4) ----
  private attrHeader(type: number, valueLen: number): void {
    this.reserve(NLA_HDRLEN + valueLen + 3);
    this.view.setUint16(this.len, NLA_HDRLEN + valueLen, true);
    this.view.setUint16(this.len + 2, type, true);
    this.len += NLA_HDRLEN;
  }
  attrU8(type: number, v: number): void {
    this.attrHeader(type, 1);
    this.u8(v);
    this.pad();
  }
  attrU16(type: number, v: number): void {
    this.attrHeader(type, 2);
    this.u16(v);
    this.pad();
  }
  /** Network byte order u16 (ports). */
  attrBe16(type: number, v: number): void {
    this.attrHeader(type, 2);
    this.view.setUint16(this.len, v, false);
    this.len += 2;
    this.pad();
  }
  attrU32(type: number, v: number): void {
    this.attrHeader(type, 4);
    this.u32(v);
  }
  attrBytes(type: number, b: Uint8Array): void {
    this.attrHeader(type, b.length);
    this.raw(b);
    this.pad();
  }
  /** NUL-terminated string (IFLA_IFNAME). */
  attrString(type: number, s: string): void {
    const b = Buffer.from(s, "utf8");
    this.attrHeader(type, b.length + 1);
    this.raw(b);
    this.u8(0);
    this.pad();
  }
  /** String without the NUL (iproute2 sends IFLA_INFO_KIND this way). */
  attrStringNoNul(type: number, s: string): void {
    this.attrBytes(type, Buffer.from(s, "utf8"));
  }
  attrFlag(type: number): void {
    this.attrHeader(type, 0);
  }
  beginNest(type: number): number {
    const start = this.len;
    this.attrHeader(type, 0);
    return start;
  }
  endNest(start: number): void {
    this.pad();
    this.view.setUint16(start, this.len - start, true);
  }
}

/** One attribute found by `readAttrs`: value bytes are buf[start, start+len). */
export interface Attr {
  readonly type: number;
  readonly start: number;
  readonly len: number;
}

/** Splits [start, end) of `buf` into attributes. Flags bits (nested, byte order) are masked off. */
export function readAttrs(buf: Uint8Array, start: number, end: number): Attr[] {
  const out: Attr[] = [];
  const view = viewOf(buf);
  let off = start;
  while (off + NLA_HDRLEN <= end) {
    const len = view.getUint16(off, true);
    if (len < NLA_HDRLEN || off + len > end) throw new NetlinkDecodeError(`attribute length ${len}`, off);
    out.push({
      type: view.getUint16(off + 2, true) & NLA_TYPE_MASK,
      start: off + NLA_HDRLEN,
      len: len - NLA_HDRLEN,
    });
    off += align4(len);
  }
  return out;
}

const views = new WeakMap<ArrayBufferLike, DataView>();
/** A DataView over the whole backing buffer (offsets below add buf.byteOffset). */
export function viewOf(buf: Uint8Array): DataView {
  if (buf.byteOffset === 0) {
    let v = views.get(buf.buffer);
    if (v === undefined) {
      v = new DataView(buf.buffer);
      views.set(buf.buffer, v);
    }
    return v;
  }
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export const u8At = (buf: Uint8Array, off: number): number => buf[off] ?? 0;
export const u16At = (buf: Uint8Array, off: number): number => viewOf(buf).getUint16(off, true);
export const be16At = (buf: Uint8Array, off: number): number => viewOf(buf).getUint16(off, false);
export const u32At = (buf: Uint8Array, off: number): number => viewOf(buf).getUint32(off, true);
export const i32At = (buf: Uint8Array, off: number): number => viewOf(buf).getInt32(off, true);

export function attrValue(buf: Uint8Array, a: Attr): Uint8Array {
  return buf.subarray(a.start, a.start + a.len);
}
export function attrU32(buf: Uint8Array, a: Attr): number {
  if (a.len < 4) throw new NetlinkDecodeError(`u32 attribute ${a.type} of length ${a.len}`, a.start);
  return u32At(buf, a.start);
}
export function attrU16(buf: Uint8Array, a: Attr): number {
  if (a.len < 2) throw new NetlinkDecodeError(`u16 attribute ${a.type} of length ${a.len}`, a.start);
  return u16At(buf, a.start);
}
export function attrU8(buf: Uint8Array, a: Attr): number {
  if (a.len < 1) throw new NetlinkDecodeError(`u8 attribute ${a.type} of length ${a.len}`, a.start);
  return u8At(buf, a.start);
}
/** A C string attribute: up to the first NUL. */
export function attrString(buf: Uint8Array, a: Attr): string {
  let end = a.start + a.len;
  const nul = buf.indexOf(0, a.start);
  if (nul >= 0 && nul < end) end = nul;
  return Buffer.from(buf.buffer, buf.byteOffset + a.start, end - a.start).toString("utf8");
}

/** One message found by `readMessages`: payload is buf[payload, end). */
export interface RawMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Offset of the nlmsghdr. */
  readonly start: number;
  /** Offset of the payload (after the header). */
  readonly payload: number;
  /** End of this message (exclusive, before alignment padding). */
  readonly end: number;
}

/** Splits a stream of concatenated netlink datagrams into messages. */
export function readMessages(buf: Uint8Array, start = 0, end = buf.length): RawMessage[] {
  const out: RawMessage[] = [];
  const view = viewOf(buf);
  let off = start;
  while (off + NLMSG_HDRLEN <= end) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > end) throw new NetlinkDecodeError(`message length ${len}`, off);
    out.push({
      type: view.getUint16(off + 4, true),
      flags: view.getUint16(off + 6, true),
      seq: view.getUint32(off + 8, true),
      pid: view.getUint32(off + 12, true),
      start: off,
      payload: off + NLMSG_HDRLEN,
      end: off + len,
    });
    off += align4(len);
  }
  return out;
}

/**
 * Calls `fn` for each message of the stream with one reused, mutable RawMessage (no allocation per
 * message): for dumps and ACK batches of 100k messages. `fn` must not keep the object.
 */
export function forEachMessage(
  buf: Uint8Array,
  start: number,
  end: number,
  fn: (m: RawMessage) => void,
): void {
  const view = viewOf(buf);
  const m = { type: 0, flags: 0, seq: 0, pid: 0, start: 0, payload: 0, end: 0 };
  let off = start;
  while (off + NLMSG_HDRLEN <= end) {
    const len = view.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > end) throw new NetlinkDecodeError(`message length ${len}`, off);
    m.type = view.getUint16(off + 4, true);
    m.flags = view.getUint16(off + 6, true);
    m.seq = view.getUint32(off + 8, true);
    m.pid = view.getUint32(off + 12, true);
    m.start = off;
    m.payload = off + NLMSG_HDRLEN;
    m.end = off + len;
    fn(m);
    off += align4(len);
  }
}

export const isControl = (type: number): boolean =>
  type === NLMSG.NOOP || type === NLMSG.ERROR || type === NLMSG.DONE || type === NLMSG.OVERRUN;

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ""), "hex"));
}
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}
