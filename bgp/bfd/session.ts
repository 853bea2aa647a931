/**
 * One BFD session: the driver around the pure state machine (fsm.ts). It owns the `tx` and `detect`
 * timers on the injected clock, encodes what the FSM sends and hands it to `send` (a UDP endpoint,
 * transport.ts, or a test's wire), decodes what arrives (a packet §6.8.6 discards is counted, never
 * thrown), and reports state changes to its client. It knows nothing about BGP (binding.ts does).
 */
import type { Clock } from "../session/session.js";
import {
  type BfdControlPacket,
  type BfdStateName,
  decodeControl,
  diagName,
  encodeControl,
  isBfdDecodeError,
} from "./codec.js";
import {
  type BfdAction,
  type BfdDownCause,
  type BfdEvent,
  type BfdFsmState,
  type BfdParams,
  type BfdTimer,
  detectionTimeUs,
  initialBfdState,
  step,
  transmitIntervalUs,
} from "./fsm.js";

export interface BfdStateChange {
  readonly from: BfdStateName;
  readonly to: BfdStateName;
  readonly diag: number;
  readonly cause?: BfdDownCause;
}

export interface BfdSessionOptions {
  readonly clock: Clock;
  readonly localDiscr: number;
  readonly params: BfdParams;
  readonly send: (bytes: Uint8Array) => void;
  readonly onStateChange?: (c: BfdStateChange) => void;
  /** Jitter source, 0 ≤ x < 1 (default Math.random). */
  readonly random?: () => number;
}

/** What status shows of a BFD session; intervals in milliseconds. */
export interface BfdSessionStatus {
  readonly state: BfdStateName;
  readonly remoteState: BfdStateName;
  readonly localDiag: string;
  readonly remoteDiag: string;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  /** Negotiated: what we send at (before jitter), 0 if the peer wants nothing. */
  readonly txIntervalMs: number;
  /** Negotiated: silence that takes the session down; 0 before the peer has been heard. */
  readonly detectTimeMs: number;
  /** What we advertise. */
  readonly local: { readonly minTxMs: number; readonly minRxMs: number; readonly multiplier: number };
  /** What the peer advertised last. */
  readonly remote?: { readonly minTxMs: number; readonly minRxMs: number; readonly multiplier: number };
  readonly polling: boolean;
  readonly packets: { sent: number; received: number; discarded: number };
  /** Wall time of the last state change. */
  readonly since: number;
  /** The last decode failure, in words. */
  readonly lastDiscard?: string;
}

export class BfdSession {
  private fsm: BfdFsmState;
  private readonly timers = new Map<BfdTimer, { cancel(): void }>();
  private readonly counters = { sent: 0, received: 0, discarded: 0 };
  private since: number;
  private lastDiscard: string | undefined;
  private closed = false;

  constructor(private readonly o: BfdSessionOptions) {
    this.fsm = initialBfdState(o.localDiscr, o.params);
    this.since = o.clock.wallTime();
  }

  get state(): BfdStateName {
    return this.fsm.state;
  }

  get fsmState(): BfdFsmState {
    return this.fsm;
  }

  start(): void {
    this.dispatch({ kind: "start" });
  }

  /** One UDP payload from the peer (already matched to this session by the transport). */
  receive(bytes: Uint8Array): void {
    let packet: BfdControlPacket;
    try {
      packet = decodeControl(bytes);
    } catch (e) {
      if (!isBfdDecodeError(e)) throw e;
      this.counters.discarded++;
      this.lastDiscard = e.message;
      return;
    }
    if (packet.yourDiscr !== 0 && packet.yourDiscr !== this.fsm.localDiscr) {
      this.counters.discarded++;
      this.lastDiscard = `Your Discriminator ${packet.yourDiscr} is not ours (${this.fsm.localDiscr})`;
      return;
    }
    this.counters.received++;
    this.dispatch({ kind: "rx", packet });
  }

  adminDown(): void {
    this.dispatch({ kind: "admin-down" });
  }

  adminUp(): void {
    this.dispatch({ kind: "admin-up" });
  }

  setParams(params: BfdParams): void {
    this.dispatch({ kind: "set-params", params });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  status(): BfdSessionStatus {
    const s = this.fsm;
    const ms = (us: number) => us / 1000;
    return {
      state: s.state,
      remoteState: s.remoteState,
      localDiag: diagName(s.localDiag),
      remoteDiag: diagName(s.remoteDiag),
      localDiscriminator: s.localDiscr,
      remoteDiscriminator: s.remoteDiscr,
      txIntervalMs: ms(transmitIntervalUs(s)),
      detectTimeMs: ms(detectionTimeUs(s)),
      local: {
        minTxMs: ms(s.configured.desiredMinTxUs),
        minRxMs: ms(s.configured.requiredMinRxUs),
        multiplier: s.configured.detectMult,
      },
      ...(s.remoteDetectMult > 0
        ? {
            remote: {
              minTxMs: ms(s.remoteDesiredTxUs),
              minRxMs: ms(s.remoteMinRxUs),
              multiplier: s.remoteDetectMult,
            },
          }
        : {}),
      polling: s.polling,
      packets: { ...this.counters },
      since: this.since,
      ...(this.lastDiscard !== undefined ? { lastDiscard: this.lastDiscard } : {}),
    };
  }

  private dispatch(e: BfdEvent): void {
    if (this.closed) return;
    const r = step(this.fsm, e, (this.o.random ?? Math.random)());
    this.fsm = r.state;
    for (const a of r.actions) this.perform(a);
  }

  private perform(a: BfdAction): void {
    switch (a.kind) {
      case "send":
        this.counters.sent++;
        this.o.send(encodeControl(a.packet));
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
      case "state":
        this.since = this.o.clock.wallTime();
        this.o.onStateChange?.({
          from: a.from,
          to: a.to,
          diag: a.diag,
          ...(a.cause !== undefined ? { cause: a.cause } : {}),
        });
        return;
    }
  }
}
