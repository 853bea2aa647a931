/**
 * One BGP peer's session: the driver around the pure FSM (fsm.ts). It owns the TCP connection, the
 * message framing, the named timers on the injected clock, and connection collisions (RFC 4271 §6.8),
 * and reports upwards (to the speaker) when the session comes up, delivers UPDATEs and ROUTE-REFRESHes,
 * and goes down, with the reason in words for `tabby bgp peers`. It sends what the FSM says and the
 * UPDATE bytes the speaker's update groups hand it. It knows nothing about RIBs or policy.
 */
import type { Socket } from "node:net";
import type { AttrContext } from "../codec/attributes.js";
import {
  errorCodeName,
  errorSubcodeName,
  MAX_EXTENDED_MESSAGE_LEN,
  MAX_MESSAGE_LEN,
} from "../codec/constants.js";
import { type BgpDecodeError, isBgpDecodeError } from "../codec/errors.js";
import { MessageFramer } from "../codec/framing.js";
import { type BgpMessage, decodeMessage, encodeMessage, INITIAL_CONTEXT } from "../codec/message.js";
import { describeNotification } from "../codec/notification.js";
import type { RouteRefreshMessage } from "../codec/route-refresh.js";
import type { UpdateMessage } from "../codec/update.js";
import type { ConnectOptions } from "../transport/connect.js";
import {
  type DownReason,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  initialState,
  step,
  type TimerName,
} from "./fsm.js";
import type { Negotiated } from "./negotiate.js";

/** The clock the session runs on (same shape as src/util/clock.ts; bgp/ does not import src/). */
export interface Clock {
  now(): number;
  wallTime(): number;
  setTimer(ms: number, fire: () => void): { cancel(): void };
}

export interface SessionTransport {
  connect(opts: ConnectOptions): Promise<Socket>;
}

export interface SessionHandlers {
  established(n: Negotiated): void;
  update(u: UpdateMessage): void;
  routeRefresh(r: RouteRefreshMessage): void;
  /** The session (or an attempt at it) ended. */
  down(reason: DownReason, wasEstablished: boolean, words: string): void;
  /** Any state change, for status and metrics. */
  stateChanged?(from: FsmState["name"], to: FsmState["name"]): void;
}

export interface SessionOptions {
  readonly fsm: FsmConfig;
  /** How to reach the peer when we connect. */
  readonly connect: ConnectOptions;
  readonly localRouterId: string;
  readonly clock: Clock;
  readonly transport: SessionTransport;
  readonly handlers: SessionHandlers;
  /** What the kernel dropped for MD5 signatures since the last call (bgp/transport/md5-counters.ts). */
  readonly md5Drops?: () => Md5Drops | undefined;
}

export type MessageKind = BgpMessage["type"];

export interface SessionStats {
  readonly sent: Record<MessageKind, number>;
  readonly received: Record<MessageKind, number>;
  /** Times the session reached Established. */
  established: number;
  /** Times an Established session went down. */
  flaps: number;
}

const zero = (): Record<MessageKind, number> => ({
  OPEN: 0,
  UPDATE: 0,
  NOTIFICATION: 0,
  KEEPALIVE: 0,
  "ROUTE-REFRESH": 0,
});

interface Conn {
  readonly socket: Socket;
  readonly framer: MessageFramer;
  readonly initiatedLocally: boolean;
}

/** RFC 4271 §6.8: which connection survives a collision. */
export function collisionKeepsExisting(
  localRouterId: string,
  remoteRouterId: string,
  existingInitiatedLocally: boolean,
): boolean {
  const n = (s: string) => s.split(".").reduce((a, x) => a * 256 + Number(x), 0);
  const localLower = n(localRouterId) < n(remoteRouterId);
  // The connection initiated by the speaker with the higher identifier is kept.
  return existingInitiatedLocally ? !localLower : localLower;
}

/** TCP segments this host's kernel dropped for their MD5 signature since the last call (TcpExt counters). */
export interface Md5Drops {
  /** A signature that did not verify (TCPMD5Failure): both sides have keys, and they differ. */
  readonly wrong: number;
  /** A signature expected but absent (TCPMD5NotFound): we have a key, the peer sent none. */
  readonly missing: number;
  /** A signature we had no key for (TCPMD5Unexpected): the peer has a key, we have none. */
  readonly unexpected: number;
}

/**
 * Why a connect the peer never answered failed, in words for `tabby bgp peers`: RFC 2385 peers drop a
 * segment with a wrong or missing signature without a reply, so silence is the only symptom a
 * password mismatch shows the connecting side; what this host's kernel counted says more when the
 * peer also tries to connect to us. Pure.
 */
export function unansweredConnect(seconds: number, md5: boolean, drops?: Md5Drops): string {
  const base = `no answer from the peer in ${seconds} s (connection attempt not answered)`;
  const counted: string[] = [];
  if (drops !== undefined) {
    if (drops.wrong > 0) counted.push(`${drops.wrong} with a signature that does not match our password`);
    if (drops.missing > 0) counted.push(`${drops.missing} without the signature our password requires`);
    if (drops.unexpected > 0)
      counted.push(`${drops.unexpected} signed although we have no password for them`);
  }
  const kernel =
    counted.length > 0
      ? `; this host's kernel dropped TCP segments for their MD5 signature: ${counted.join(", ")}`
      : "";
  if (md5)
    return `${base}: TCP MD5 key missing or wrong? (a peer with another key, or none, drops our signed segments silently)${kernel}`;
  if (drops !== undefined && drops.unexpected > 0)
    return `${base}: the peer signs with TCP MD5, but no password is configured for it${kernel}`;
  return `${base}: the peer is down, filtered, or expects a TCP MD5 password${kernel}`;
}

export function describeDown(r: DownReason): string {
  switch (r.kind) {
    case "stop":
      return "administratively stopped";
    case "tcp":
      return r.detail;
    case "notification-sent":
      return `NOTIFICATION sent: ${errorCodeName(r.code)} / ${errorSubcodeName(r.code, r.subcode)}${r.detail ? ` (${r.detail})` : ""}`;
    case "notification-received":
      return `NOTIFICATION received: ${describeNotification({ type: "NOTIFICATION", code: r.code, subcode: r.subcode, data: r.data })}`;
  }
}

export class Session {
  private fsm: FsmState;
  private conn: Conn | undefined;
  /** An incoming connection waiting for its collision to be resolved, with what it has sent so far. */
  private pending: { conn: Conn; buffered: BgpMessage[] } | undefined;
  private connecting: AbortController | undefined;
  private readonly timers = new Map<TimerName, { cancel(): void }>();
  private rxCtx: AttrContext & { maxMessageLen?: number } = INITIAL_CONTEXT;
  private txCtx: AttrContext & { maxMessageLen?: number } = INITIAL_CONTEXT;
  readonly stats: SessionStats = { sent: zero(), received: zero(), established: 0, flaps: 0 };
  /** Wall time of the last state change. */
  since: number;
  lastError: string | undefined;
  private connectStartedAt = 0;

  constructor(private readonly o: SessionOptions) {
    this.fsm = initialState(o.fsm);
    this.since = o.clock.wallTime();
  }

  get state(): FsmState["name"] {
    return this.fsm.name;
  }

  get negotiated(): Negotiated | undefined {
    return this.fsm.name === "Established" ? this.fsm.negotiated : undefined;
  }

  get idle(): boolean {
    return this.fsm.name === "Idle";
  }

  /** Our address on the current connection (IPv4 shown plainly), if connected. */
  get localAddress(): string | undefined {
    const a = this.conn?.socket.localAddress;
    return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
  }

  start(): void {
    this.dispatch({ kind: "start" });
  }

  /**
   * Administrative stop: Cease with `subcode` (RFC 4486; default 2, Administrative Shutdown; 3 Peer
   * De-configured, 6 Other Configuration Change) and an RFC 9003 message if given.
   */
  stop(communication?: string, subcode?: number): void {
    this.dispatch({
      kind: "stop",
      ...(communication !== undefined ? { communication } : {}),
      ...(subcode !== undefined ? { subcode } : {}),
    });
  }

  /**
   * Ends the session for a reason of the speaker's own: Cease / `subcode` with `data` (RFC 4486, e.g.
   * Maximum Number of Prefixes Reached), reported down with `detail`; Idle until `start()`.
   */
  cease(subcode: number, data: Uint8Array, detail: string): void {
    this.dispatch({ kind: "cease", subcode, data, detail });
  }

  /** Writes encoded UPDATEs (from an update group); ignored unless Established. */
  sendRaw(messages: readonly Uint8Array[]): void {
    const c = this.conn;
    if (c === undefined || this.fsm.name !== "Established" || c.socket.destroyed) return;
    c.socket.cork();
    for (const m of messages) {
      c.socket.write(m);
      const type = m[18];
      if (type === 2) this.stats.sent.UPDATE++;
      else if (type === 5) this.stats.sent["ROUTE-REFRESH"]++;
    }
    c.socket.uncork();
  }

  /** Sends one message through the FSM's encoding context (e.g. a ROUTE-REFRESH request). */
  send(msg: BgpMessage): void {
    if (this.fsm.name === "Established") this.write(msg);
  }

  /** An incoming TCP connection from this peer, accepted by the speaker's listener. */
  accept(socket: Socket): void {
    const conn = this.makeConn(socket, false);
    switch (this.fsm.name) {
      case "Idle":
        // Stopped or resting after an error: refuse (RFC 4271 §8.2.2 Idle refuses connections).
        socket.destroy();
        return;
      case "Connect":
      case "Active":
        // Prefer the peer's connection over our own attempt still in progress.
        this.connecting?.abort();
        this.connecting = undefined;
        this.closeConn();
        this.attach(conn);
        this.dispatch({ kind: "tcp-accepted" });
        return;
      case "OpenSent":
      case "OpenConfirm":
        if (this.pending !== undefined) {
          socket.destroy();
          return;
        }
        this.pending = { conn, buffered: [] };
        this.listenPending(conn);
        // If we already know the peer's identifier, decide now.
        if (this.fsm.peerOpen !== undefined) this.resolveCollision(this.fsm.peerOpen.bgpId);
        return;
      case "Established":
        // §6.8: a collision with an Established session is resolved in its favour.
        this.writeTo(conn, { type: "NOTIFICATION", code: 6, subcode: 7, data: new Uint8Array(0) });
        socket.end();
        return;
    }
  }

  private makeConn(socket: Socket, initiatedLocally: boolean): Conn {
    socket.setNoDelay(true);
    return { socket, framer: new MessageFramer(MAX_EXTENDED_MESSAGE_LEN), initiatedLocally };
  }

  private attach(conn: Conn): void {
    this.conn = conn;
    this.rxCtx = INITIAL_CONTEXT;
    this.txCtx = INITIAL_CONTEXT;
    conn.socket.on("data", (chunk: Buffer) => {
      if (this.conn !== conn) return;
      this.onData(conn, chunk);
    });
    const gone = (why: string) => {
      if (this.conn !== conn) return;
      this.conn = undefined;
      this.dispatch({ kind: "tcp-failed", reason: why });
    };
    conn.socket.on("error", (e: NodeJS.ErrnoException) =>
      gone(e.code === "ECONNRESET" ? "connection reset by peer" : e.message),
    );
    conn.socket.on("close", () => gone("connection closed by peer"));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    const msgs = conn.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    for (const m of msgs) {
      if (this.conn !== conn) return;
      let msg: BgpMessage;
      try {
        msg = decodeMessage(m.bytes, {
          ...this.rxCtx,
          maxMessageLen: this.rxCtx.maxMessageLen ?? MAX_MESSAGE_LEN,
        });
      } catch (e) {
        if (!isBgpDecodeError(e)) throw e;
        this.decodeFailed(e);
        return;
      }
      this.stats.received[msg.type]++;
      this.dispatch({ kind: "message", msg });
    }
    if (conn.framer.error !== undefined && this.conn === conn) this.decodeFailed(conn.framer.error);
  }

  private decodeFailed(e: BgpDecodeError): void {
    this.dispatch({ kind: "decode-error", error: e });
  }

  private listenPending(conn: Conn): void {
    conn.socket.on("data", (chunk: Buffer) => {
      const p = this.pending;
      if (p === undefined || p.conn !== conn) return;
      for (const m of conn.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        let msg: BgpMessage;
        try {
          msg = decodeMessage(m.bytes, { fourOctetAs: false, maxMessageLen: MAX_EXTENDED_MESSAGE_LEN });
        } catch {
          this.dropPending();
          return;
        }
        p.buffered.push(msg);
        if (msg.type === "OPEN") {
          this.resolveCollision(msg.bgpId);
          return;
        }
      }
    });
    const drop = () => {
      if (this.pending?.conn === conn) this.pending = undefined;
    };
    conn.socket.on("error", drop);
    conn.socket.on("close", drop);
  }

  private dropPending(): void {
    this.pending?.conn.socket.destroy();
    this.pending = undefined;
  }

  private resolveCollision(remoteRouterId: string): void {
    const p = this.pending;
    const existing = this.conn;
    if (p === undefined) return;
    if (
      existing === undefined ||
      collisionKeepsExisting(this.o.localRouterId, remoteRouterId, existing.initiatedLocally) === false
    ) {
      // The new connection wins: close the old one with Cease / Connection Collision Resolution and
      // restart the FSM on the new one, replaying what the peer already sent on it.
      this.pending = undefined;
      if (existing !== undefined) {
        this.writeTo(existing, { type: "NOTIFICATION", code: 6, subcode: 7, data: new Uint8Array(0) });
        this.closeConn();
      }
      this.fsm = {
        name: "Active",
        connectRetryCounter: this.fsm.connectRetryCounter,
        idleHoldMs: this.fsm.idleHoldMs,
        stopped: false,
      };
      this.attach(p.conn);
      this.dispatch({ kind: "tcp-accepted" });
      for (const msg of p.buffered) {
        this.stats.received[msg.type]++;
        this.dispatch({ kind: "message", msg });
      }
      return;
    }
    this.writeTo(p.conn, { type: "NOTIFICATION", code: 6, subcode: 7, data: new Uint8Array(0) });
    p.conn.socket.end();
    this.pending = undefined;
  }

  private dispatch(e: FsmEvent): void {
    const before = this.fsm.name;
    const r = step(this.fsm, e, this.o.fsm, this.o.clock.now());
    this.fsm = r.state;
    if (r.state.name !== before) {
      this.since = this.o.clock.wallTime();
      this.o.handlers.stateChanged?.(before, r.state.name);
    }
    for (const a of r.actions) this.perform(a);
  }

  private perform(a: FsmAction): void {
    switch (a.kind) {
      case "connect":
        this.startConnect();
        return;
      case "disconnect":
        if (this.fsm.name === "Connect") this.noteUnanswered();
        this.connecting?.abort();
        this.connecting = undefined;
        this.closeConn();
        return;
      case "send":
        this.write(a.msg);
        return;
      case "start-timer": {
        this.timers.get(a.timer)?.cancel();
        const t = this.o.clock.setTimer(a.ms, () => {
          if (this.timers.get(a.timer) !== t) return;
          this.timers.delete(a.timer);
          this.dispatch({ kind: "timer", timer: a.timer });
        });
        this.timers.set(a.timer, t);
        return;
      }
      case "stop-timer":
        this.timers.get(a.timer)?.cancel();
        this.timers.delete(a.timer);
        return;
      case "established":
        this.rxCtx = a.negotiated.rx;
        this.txCtx = a.negotiated.tx;
        this.conn?.framer.setMaxLength(
          a.negotiated.extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN,
        );
        this.stats.established++;
        this.lastError = undefined;
        this.o.handlers.established(a.negotiated);
        return;
      case "deliver":
        if (a.msg.type === "UPDATE") this.o.handlers.update(a.msg);
        else this.o.handlers.routeRefresh(a.msg);
        return;
      case "down": {
        if (a.wasEstablished) this.stats.flaps++;
        const words = describeDown(a.reason);
        if (a.reason.kind !== "stop") this.lastError = words;
        this.rxCtx = INITIAL_CONTEXT;
        this.txCtx = INITIAL_CONTEXT;
        this.o.handlers.down(a.reason, a.wasEstablished, words);
        return;
      }
    }
  }

  /** OPEN and KEEPALIVE before Established use the initial context; the FSM's OpenConfirm sets rx. */
  private write(msg: BgpMessage): void {
    if (this.conn === undefined) return;
    this.writeTo(this.conn, msg);
    // Once the peer's OPEN is in, the codec contexts are known (used by OpenConfirm's decode too).
    if (msg.type === "KEEPALIVE" && this.fsm.negotiated !== undefined && this.rxCtx === INITIAL_CONTEXT) {
      this.rxCtx = this.fsm.negotiated.rx;
      this.txCtx = this.fsm.negotiated.tx;
    }
  }

  private writeTo(conn: Conn, msg: BgpMessage): void {
    if (conn.socket.destroyed) return;
    conn.socket.write(
      encodeMessage(msg, { ...this.txCtx, maxMessageLen: this.txCtx.maxMessageLen ?? MAX_MESSAGE_LEN }),
    );
    this.stats.sent[msg.type]++;
  }

  private closeConn(): void {
    const c = this.conn;
    this.conn = undefined;
    if (c === undefined) return;
    // end() lets a NOTIFICATION just written reach the peer before the FIN.
    c.socket.end();
    const t = this.o.clock.setTimer(1000, () => c.socket.destroy());
    c.socket.once("close", () => t.cancel());
  }

  /**
   * The ConnectRetry timer ran out on an attempt the peer never answered (no SYN-ACK, no RST): say so
   * now, not only when a connect timeout much longer than the retry finally fires.
   */
  private noteUnanswered(): void {
    if (this.connecting === undefined) return;
    this.lastError = unansweredConnect(
      Math.round((this.o.clock.now() - this.connectStartedAt) / 1000),
      this.o.connect.md5Key !== undefined && this.o.connect.md5Key !== "",
      this.o.md5Drops?.(),
    );
  }

  private startConnect(): void {
    this.noteUnanswered();
    this.connecting?.abort();
    const ac = new AbortController();
    this.connecting = ac;
    this.connectStartedAt = this.o.clock.now();
    this.o.transport.connect({ ...this.o.connect, signal: ac.signal }).then(
      (socket) => {
        if (this.connecting !== ac) {
          socket.destroy();
          return;
        }
        this.connecting = undefined;
        if (this.fsm.name !== "Connect" && this.fsm.name !== "Active") {
          socket.destroy();
          return;
        }
        this.attach(this.makeConn(socket, true));
        this.dispatch({ kind: "tcp-connected" });
      },
      (e: Error & { reason?: string; errno?: string }) => {
        if (this.connecting !== ac) return;
        this.connecting = undefined;
        const why = e.reason ?? e.message;
        this.lastError = why;
        this.dispatch({ kind: "tcp-failed", reason: why });
      },
    );
  }

  /** Releases timers and sockets (speaker shutdown). */
  destroy(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    this.connecting?.abort();
    this.conn?.socket.destroy();
    this.conn = undefined;
    this.dropPending();
  }
}
