/**
 * The BFD state machine of RFC 5880 §6.8 in asynchronous mode, for one session: a pure
 * `step(state, event, rand)` returning the next state and the actions for the driver (session.ts) to
 * perform (send a packet, start or stop the `tx` and `detect` timers, report a state change). `rand`
 * (0 ≤ rand < 1) is the jitter source for any transmit timer scheduled in this step (§6.8.7).
 *
 * Intervals are kept in microseconds, as on the wire; timers are started in milliseconds.
 * - Transmit interval = max(our DesiredMinTx in effect, the peer's RequiredMinRx) (§6.8.7), less 0-25 %
 *   jitter (75-90 % with a detect multiplier of 1). DesiredMinTx is at least 1 s while not Up (§6.8.3).
 * - Detection time = the peer's Detect Mult × max(our RequiredMinRx in effect, the peer's DesiredMinTx)
 *   (§6.8.4), restarted by every accepted packet.
 * - A change of our intervals while Up runs a Poll Sequence (§6.8.3): packets carry P until one with F
 *   arrives; a slower transmit rate and a shorter detection time only take effect then. Going Up with a
 *   configured TX interval under 1 s is such a change. A received P is answered at once with F.
 * Not here: demand mode (we never set D; a peer's D is ignored: BIRD and FRR do not use it by
 * default), the echo function, authentication.
 */
import { BFD_DIAG, type BfdControlPacket, type BfdStateName } from "./codec.js";

export interface BfdParams {
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly detectMult: number;
}

/** §6.8.3: DesiredMinTx while the session is not Up. */
export const SLOW_TX_US = 1_000_000;

/** Why the session last left Up, for the client (RFC 5882) and for status. */
export type BfdDownCause =
  | { readonly kind: "detect-expired"; readonly detectMult: number; readonly intervalUs: number }
  | { readonly kind: "neighbour-down" }
  /** The peer went AdminDown: RFC 5882 §3.2 says not to take the client session down for it. */
  | { readonly kind: "neighbour-admin-down" }
  | { readonly kind: "admin-down" };

export interface BfdFsmState {
  readonly state: BfdStateName;
  readonly localDiag: number;
  readonly localDiscr: number;
  readonly remoteDiscr: number;
  readonly remoteState: BfdStateName;
  readonly remoteDiag: number;
  /** §6.8.1: 1 µs until the peer says otherwise. */
  readonly remoteMinRxUs: number;
  /** 0 until a packet arrives. */
  readonly remoteDesiredTxUs: number;
  readonly remoteDetectMult: number;
  readonly configured: BfdParams;
  /** Our DesiredMinTx and RequiredMinRx in effect (old values are kept while a poll runs). */
  readonly txInEffectUs: number;
  readonly rxInEffectUs: number;
  readonly polling: boolean;
  readonly lastDown?: BfdDownCause;
}

export type BfdTimer = "tx" | "detect";

export type BfdEvent =
  | { readonly kind: "start" }
  | { readonly kind: "rx"; readonly packet: BfdControlPacket }
  | { readonly kind: "timer"; readonly timer: BfdTimer }
  | { readonly kind: "admin-down" }
  | { readonly kind: "admin-up" }
  | { readonly kind: "set-params"; readonly params: BfdParams };

export type BfdAction =
  | { readonly kind: "send"; readonly packet: BfdControlPacket }
  | { readonly kind: "start-timer"; readonly timer: BfdTimer; readonly ms: number }
  | { readonly kind: "stop-timer"; readonly timer: BfdTimer }
  | {
      readonly kind: "state";
      readonly from: BfdStateName;
      readonly to: BfdStateName;
      readonly diag: number;
      readonly cause?: BfdDownCause;
    };

export interface BfdStep {
  readonly state: BfdFsmState;
  readonly actions: readonly BfdAction[];
}

export function initialBfdState(localDiscr: number, params: BfdParams): BfdFsmState {
  if (localDiscr === 0) throw new Error("BFD local discriminator must be non-zero");
  return {
    state: "Down",
    localDiag: BFD_DIAG.None,
    localDiscr,
    remoteDiscr: 0,
    remoteState: "Down",
    remoteDiag: 0,
    remoteMinRxUs: 1,
    remoteDesiredTxUs: 0,
    remoteDetectMult: 0,
    configured: params,
    txInEffectUs: advertisedTx(params, "Down"),
    rxInEffectUs: params.requiredMinRxUs,
    polling: false,
  };
}

/** The DesiredMinTx we advertise in `state` (§6.8.3: at least 1 s unless Up). */
export function advertisedTx(p: BfdParams, state: BfdStateName): number {
  return state === "Up" ? p.desiredMinTxUs : Math.max(p.desiredMinTxUs, SLOW_TX_US);
}

/** §6.8.7: the negotiated transmit interval; 0 when the peer asked for no packets. */
export function transmitIntervalUs(s: BfdFsmState): number {
  if (s.remoteMinRxUs === 0) return 0;
  return Math.max(s.txInEffectUs, s.remoteMinRxUs);
}

/** §6.8.4: the detection time in asynchronous mode; 0 before the peer has been heard. */
export function detectionTimeUs(s: BfdFsmState): number {
  if (s.remoteDetectMult === 0) return 0;
  return s.remoteDetectMult * Math.max(s.rxInEffectUs, s.remoteDesiredTxUs);
}

/** §6.8.7 jitter: 0-25 % less, or 10-25 % less with a detect multiplier of 1. */
export function jitteredMs(intervalUs: number, detectMult: number, rand: number): number {
  const r = Math.min(Math.max(rand, 0), 0.999999);
  const factor = detectMult === 1 ? 0.9 - 0.15 * r : 1 - 0.25 * r;
  return (intervalUs * factor) / 1000;
}

function packet(s: BfdFsmState, flags: { poll?: boolean; final?: boolean } = {}): BfdControlPacket {
  return {
    version: 1,
    diag: s.localDiag,
    state: s.state,
    poll: flags.final ? false : (flags.poll ?? s.polling),
    final: flags.final === true,
    cpi: false,
    auth: false,
    demand: false,
    multipoint: false,
    detectMult: s.configured.detectMult,
    myDiscr: s.localDiscr,
    yourDiscr: s.remoteDiscr,
    desiredMinTxUs: advertisedTx(s.configured, s.state),
    requiredMinRxUs: s.configured.requiredMinRxUs,
    requiredMinEchoRxUs: 0,
  };
}

/** Send now and schedule the next periodic packet (none if the peer wants none). */
function sendAndSchedule(s: BfdFsmState, rand: number, flags?: { final?: boolean }): BfdAction[] {
  const out: BfdAction[] = [{ kind: "send", packet: packet(s, flags) }];
  const iv = transmitIntervalUs(s);
  out.push(
    iv === 0
      ? { kind: "stop-timer", timer: "tx" }
      : { kind: "start-timer", timer: "tx", ms: jitteredMs(iv, s.configured.detectMult, rand) },
  );
  return out;
}

/** Our advertised values moved: in effect now, or (Up) after a Poll Sequence with the rules of §6.8.3. */
function applyParams(s: BfdFsmState, next: BfdParams, nextState: BfdStateName): BfdFsmState {
  const tx = advertisedTx(next, nextState);
  const changed =
    tx !== advertisedTx(s.configured, s.state) || next.requiredMinRxUs !== s.configured.requiredMinRxUs;
  if (nextState !== "Up" || s.state !== "Up" || !changed) {
    // Not Up (or entering Up, handled by the caller): everything takes effect at once.
    if (nextState === "Up" && s.state !== "Up") {
      return {
        ...s,
        configured: next,
        // A faster rate may start now; the poll tells the peer.
        txInEffectUs: Math.min(s.txInEffectUs, tx),
        rxInEffectUs: Math.max(s.rxInEffectUs, next.requiredMinRxUs),
        polling: s.polling || tx !== s.txInEffectUs || next.requiredMinRxUs !== s.rxInEffectUs,
      };
    }
    return {
      ...s,
      configured: next,
      txInEffectUs: tx,
      rxInEffectUs: next.requiredMinRxUs,
      polling: nextState === "Up" ? s.polling : false,
    };
  }
  return {
    ...s,
    configured: next,
    // Faster TX and a longer detection time are safe now; the rest waits for F.
    txInEffectUs: Math.min(s.txInEffectUs, tx),
    rxInEffectUs: Math.max(s.rxInEffectUs, next.requiredMinRxUs),
    polling: true,
  };
}

function detectTimer(s: BfdFsmState): BfdAction {
  const d = detectionTimeUs(s);
  return d === 0
    ? { kind: "stop-timer", timer: "detect" }
    : { kind: "start-timer", timer: "detect", ms: d / 1000 };
}

/** Moves to `to` with `diag`; the packets from now on carry the new state and intervals. */
function transition(
  s: BfdFsmState,
  to: BfdStateName,
  diag: number,
  cause?: BfdDownCause,
): { state: BfdFsmState; action: BfdAction } {
  const moved = applyParams(s, s.configured, to);
  const state: BfdFsmState = {
    ...moved,
    state: to,
    localDiag: diag,
    ...(cause !== undefined ? { lastDown: cause } : {}),
  };
  return {
    state,
    action: { kind: "state", from: s.state, to, diag, ...(cause !== undefined ? { cause } : {}) },
  };
}

export function step(s: BfdFsmState, e: BfdEvent, rand: number): BfdStep {
  switch (e.kind) {
    case "start":
      return { state: s, actions: sendAndSchedule(s, rand) };
    case "timer":
      return e.timer === "tx" ? { state: s, actions: sendAndSchedule(s, rand) } : detectExpired(s, rand);
    case "rx":
      return receive(s, e.packet, rand);
    case "admin-down": {
      if (s.state === "AdminDown") return { state: s, actions: [] };
      const wasUp = s.state === "Up";
      const t = transition(
        s,
        "AdminDown",
        BFD_DIAG.AdministrativelyDown,
        wasUp ? { kind: "admin-down" } : undefined,
      );
      const state = { ...t.state, remoteDiscr: s.remoteDiscr };
      // §6.8.16: keep telling the peer (AdminDown) at the slow rate; no detection while AdminDown.
      return {
        state,
        actions: [t.action, { kind: "stop-timer", timer: "detect" }, ...sendAndSchedule(state, rand)],
      };
    }
    case "admin-up": {
      if (s.state !== "AdminDown") return { state: s, actions: [] };
      const t = transition(s, "Down", BFD_DIAG.None);
      return { state: t.state, actions: [t.action, ...sendAndSchedule(t.state, rand)] };
    }
    case "set-params": {
      const state = applyParams(s, e.params, s.state);
      // A new Poll Sequence starts with a packet now.
      if (state.polling && !s.polling) return { state, actions: sendAndSchedule(state, rand) };
      return { state, actions: [] };
    }
  }
}

function detectExpired(s: BfdFsmState, rand: number): BfdStep {
  // §6.8.1: bfd.RemoteDiscr goes back to zero when a detection time passes in silence.
  const quiet: BfdFsmState = { ...s, remoteDiscr: 0 };
  if (s.state !== "Init" && s.state !== "Up") return { state: quiet, actions: [] };
  const cause: BfdDownCause | undefined =
    s.state === "Up"
      ? {
          kind: "detect-expired",
          detectMult: s.remoteDetectMult,
          intervalUs: Math.max(s.rxInEffectUs, s.remoteDesiredTxUs),
        }
      : undefined;
  const t = transition(quiet, "Down", BFD_DIAG.ControlDetectionTimeExpired, cause);
  return { state: t.state, actions: [t.action, ...sendAndSchedule(t.state, rand)] };
}

/** §6.8.6 from "If bfd.SessionState is AdminDown" on; the packet passed the codec's checks. */
function receive(s: BfdFsmState, p: BfdControlPacket, rand: number): BfdStep {
  if (p.yourDiscr !== 0 && p.yourDiscr !== s.localDiscr) return { state: s, actions: [] };
  if (s.state === "AdminDown") return { state: s, actions: [] };
  let st: BfdFsmState = {
    ...s,
    remoteDiscr: p.myDiscr,
    remoteState: p.state,
    remoteDiag: p.diag,
    remoteMinRxUs: p.requiredMinRxUs,
    remoteDesiredTxUs: p.desiredMinTxUs,
    remoteDetectMult: p.detectMult,
  };
  // §6.8.3: the Final ends our Poll Sequence; the new values take effect now.
  if (p.final && st.polling) {
    st = {
      ...st,
      polling: false,
      txInEffectUs: advertisedTx(st.configured, st.state),
      rxInEffectUs: st.configured.requiredMinRxUs,
    };
  }
  const actions: BfdAction[] = [];
  let changed = false;
  const go = (to: BfdStateName, diag: number, cause?: BfdDownCause) => {
    const t = transition(st, to, diag, cause);
    st = t.state;
    actions.push(t.action);
    changed = true;
  };
  if (p.state === "AdminDown") {
    if (st.state !== "Down")
      go(
        "Down",
        BFD_DIAG.NeighborSignaledSessionDown,
        st.state === "Up" ? { kind: "neighbour-admin-down" } : undefined,
      );
  } else if (st.state === "Down") {
    if (p.state === "Down") go("Init", BFD_DIAG.None);
    else if (p.state === "Init") go("Up", BFD_DIAG.None);
  } else if (st.state === "Init") {
    if (p.state === "Init" || p.state === "Up") go("Up", BFD_DIAG.None);
  } else if (p.state === "Down") {
    go("Down", BFD_DIAG.NeighborSignaledSessionDown, { kind: "neighbour-down" });
  }
  actions.push(detectTimer(st));
  // A Poll is answered at once with a Final; a state change is told at once too.
  if (p.poll) actions.push(...sendAndSchedule(st, rand, { final: true }));
  else if (changed) actions.push(...sendAndSchedule(st, rand));
  return { state: st, actions };
}
