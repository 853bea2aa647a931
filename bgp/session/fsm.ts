/**
 * The BGP finite state machine of RFC 4271 §8 for one connection: a pure `step(state, event, cfg, now)`
 * returning the next state and the actions for the driver (session.ts) to perform (connect, send,
 * start/stop a timer, report the session up or down). Timers are named, never run here.
 *
 * Choices where the RFC leaves room (and what BIRD and FRR do):
 * - A failed or refused outgoing connection waits in Active for ConnectRetryTimer instead of dropping to
 *   Idle (RFC's DelayOpen branch), so `tabby bgp peers` shows Active as BIRD and FRR do.
 * - After an error the session rests in Idle for IdleHoldTimer (DampPeerOscillations, §8.1.1), which
 *   doubles on each consecutive failure up to a maximum and resets once a session has been Established
 *   for `stableMs`. A manual stop rests in Idle until a manual start.
 * - Unexpected messages get the RFC 6608 FSM Error subcodes.
 * - The speaker can end a session for a reason of its own (`cease`: RFC 4486 Maximum Number of Prefixes
 *   Reached, with its data); the session then rests in Idle, as after a manual stop, until the speaker
 *   starts it again (its restart timer, or the operator).
 * Connection collisions (§6.8) involve two connections and are resolved by the driver.
 */
import { type BgpDecodeError, isBgpDecodeError } from "../codec/errors.js";
import type { BgpMessage } from "../codec/message.js";
import { encodeShutdownCommunication } from "../codec/notification.js";
import type { OpenMessage } from "../codec/open.js";
import type { RouteRefreshMessage } from "../codec/route-refresh.js";
import type { UpdateMessage } from "../codec/update.js";
import { type Negotiated, negotiate, type PeerExpectations } from "./negotiate.js";

export type FsmStateName = "Idle" | "Connect" | "Active" | "OpenSent" | "OpenConfirm" | "Established";
export type TimerName = "connectRetry" | "hold" | "keepalive" | "idleHold";

export interface FsmConfig {
  readonly localOpen: OpenMessage;
  readonly expect: PeerExpectations;
  /** Only wait for the peer to connect (RFC 4271 PassiveTcpEstablishment). */
  readonly passive: boolean;
  readonly connectRetryMs: number;
  readonly idleHoldInitialMs: number;
  readonly idleHoldMaxMs: number;
  /** How long a session must have been up for the idle hold to reset. */
  readonly stableMs: number;
}

export const FSM_DEFAULTS = {
  connectRetryMs: 5_000,
  idleHoldInitialMs: 5_000,
  idleHoldMaxMs: 120_000,
  stableMs: 60_000,
} as const;

/** RFC 4271 §8.2.2: the hold timer while waiting for the peer's OPEN ("a large value", 4 minutes). */
export const OPEN_HOLD_MS = 240_000;

export interface FsmState {
  readonly name: FsmStateName;
  readonly connectRetryCounter: number;
  /** Idle hold to use at the next failure. */
  readonly idleHoldMs: number;
  /** In Idle after a manual stop: no automatic restart. */
  readonly stopped: boolean;
  readonly negotiated?: Negotiated;
  readonly establishedAt?: number;
  /** The peer's OPEN while in OpenSent/OpenConfirm (for collision resolution). */
  readonly peerOpen?: OpenMessage;
}

export type FsmEvent =
  | { readonly kind: "start" }
  | { readonly kind: "stop"; readonly communication?: string; readonly subcode?: number }
  /** The speaker ends the session: Cease / `subcode` with `data` (RFC 4486), Idle until the next start. */
  | {
      readonly kind: "cease";
      readonly subcode: number;
      readonly data: Uint8Array;
      /** Why, in words, for the down reason (e.g. the prefix count and the limit). */
      readonly detail: string;
    }
  | { readonly kind: "timer"; readonly timer: TimerName }
  | { readonly kind: "tcp-connected" }
  | { readonly kind: "tcp-accepted" }
  | { readonly kind: "tcp-failed"; readonly reason: string }
  | { readonly kind: "message"; readonly msg: BgpMessage }
  /** A message that did not decode; its error says which NOTIFICATION to send. */
  | { readonly kind: "decode-error"; readonly error: BgpDecodeError }
  /** This connection lost a collision (§6.8): close it with Cease / Connection Collision Resolution. */
  | { readonly kind: "collision-dump" };

export type DownReason =
  | {
      readonly kind: "notification-sent";
      readonly code: number;
      readonly subcode: number;
      readonly data: Uint8Array;
      readonly detail: string;
    }
  | {
      readonly kind: "notification-received";
      readonly code: number;
      readonly subcode: number;
      readonly data: Uint8Array;
    }
  | { readonly kind: "tcp"; readonly detail: string }
  | { readonly kind: "stop" };

export type FsmAction =
  | { readonly kind: "connect" }
  | { readonly kind: "disconnect" }
  | { readonly kind: "send"; readonly msg: BgpMessage }
  | { readonly kind: "start-timer"; readonly timer: TimerName; readonly ms: number }
  | { readonly kind: "stop-timer"; readonly timer: TimerName }
  | { readonly kind: "established"; readonly negotiated: Negotiated }
  | { readonly kind: "deliver"; readonly msg: UpdateMessage | RouteRefreshMessage }
  /** The session (or the attempt) ended; `wasEstablished` tells the RIB to withdraw or go stale. */
  | { readonly kind: "down"; readonly reason: DownReason; readonly wasEstablished: boolean };

export interface Step {
  readonly state: FsmState;
  readonly actions: readonly FsmAction[];
}

export function initialState(cfg: Pick<FsmConfig, "idleHoldInitialMs">): FsmState {
  return { name: "Idle", connectRetryCounter: 0, idleHoldMs: cfg.idleHoldInitialMs, stopped: true };
}

const ALL_TIMERS: readonly TimerName[] = ["connectRetry", "hold", "keepalive", "idleHold"];
const stopAll = (except: TimerName[] = []): FsmAction[] =>
  ALL_TIMERS.filter((t) => !except.includes(t)).map((timer) => ({ kind: "stop-timer", timer }));

const notification = (code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): BgpMessage => ({
  type: "NOTIFICATION",
  code,
  subcode,
  data,
});

/** Leaves for Idle after a failure: close, arm the idle hold (doubled next time), report down. */
function fail(s: FsmState, cfg: FsmConfig, now: number, reason: DownReason, send: BgpMessage[] = []): Step {
  const wasEstablished = s.name === "Established";
  // A session that stayed up long enough earns back the short idle hold.
  const base =
    wasEstablished && s.establishedAt !== undefined && now - s.establishedAt >= cfg.stableMs
      ? cfg.idleHoldInitialMs
      : s.idleHoldMs;
  const actions: FsmAction[] = [
    ...send.map((msg): FsmAction => ({ kind: "send", msg })),
    { kind: "disconnect" },
    ...stopAll(),
    { kind: "start-timer", timer: "idleHold", ms: base },
    { kind: "down", reason, wasEstablished },
  ];
  return {
    state: {
      name: "Idle",
      connectRetryCounter: s.connectRetryCounter + 1,
      idleHoldMs: Math.min(base * 2, cfg.idleHoldMaxMs),
      stopped: false,
    },
    actions,
  };
}

function sendNotificationAndFail(
  s: FsmState,
  cfg: FsmConfig,
  now: number,
  code: number,
  subcode: number,
  data: Uint8Array,
  detail: string,
): Step {
  return fail(s, cfg, now, { kind: "notification-sent", code, subcode, data, detail }, [
    notification(code, subcode, data),
  ]);
}

/** RFC 6608 FSM Error subcodes: 1 OpenSent, 2 OpenConfirm, 3 Established. */
const FSM_SUBCODE: Partial<Record<FsmStateName, number>> = { OpenSent: 1, OpenConfirm: 2, Established: 3 };

function unexpected(s: FsmState, cfg: FsmConfig, now: number, what: string): Step {
  return sendNotificationAndFail(
    s,
    cfg,
    now,
    5,
    FSM_SUBCODE[s.name] ?? 0,
    new Uint8Array(0),
    `unexpected ${what} in ${s.name}`,
  );
}

function openSent(s: FsmState, cfg: FsmConfig, connectRetryCounter = s.connectRetryCounter): Step {
  return {
    state: { ...s, name: "OpenSent", connectRetryCounter, stopped: false },
    actions: [
      { kind: "stop-timer", timer: "connectRetry" },
      { kind: "send", msg: cfg.localOpen },
      { kind: "start-timer", timer: "hold", ms: OPEN_HOLD_MS },
    ],
  };
}

export function step(s: FsmState, e: FsmEvent, cfg: FsmConfig, now: number): Step {
  // Events valid in every state.
  if (e.kind === "stop") {
    if (s.name === "Idle")
      return { state: { ...s, stopped: true }, actions: [{ kind: "stop-timer", timer: "idleHold" }] };
    const sends: FsmAction[] = [];
    if (s.name === "OpenSent" || s.name === "OpenConfirm" || s.name === "Established") {
      // RFC 4486 Administrative Shutdown (or the given Cease subcode), RFC 9003 communication.
      const subcode = e.subcode ?? 2;
      const data =
        e.communication !== undefined && (subcode === 2 || subcode === 4)
          ? encodeShutdownCommunication(e.communication)
          : new Uint8Array(0);
      sends.push({ kind: "send", msg: notification(6, subcode, data) });
    }
    return {
      state: { name: "Idle", connectRetryCounter: 0, idleHoldMs: cfg.idleHoldInitialMs, stopped: true },
      actions: [
        ...sends,
        { kind: "disconnect" },
        ...stopAll(),
        { kind: "down", reason: { kind: "stop" }, wasEstablished: s.name === "Established" },
      ],
    };
  }

  if (e.kind === "cease") return cease(s, e);

  switch (s.name) {
    case "Idle":
      if (e.kind === "start" || (e.kind === "timer" && e.timer === "idleHold" && !s.stopped)) {
        if (cfg.passive) {
          return {
            state: { ...s, name: "Active", stopped: false },
            actions: [
              { kind: "stop-timer", timer: "idleHold" },
              { kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs },
            ],
          };
        }
        return {
          state: { ...s, name: "Connect", stopped: false },
          actions: [
            { kind: "stop-timer", timer: "idleHold" },
            { kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs },
            { kind: "connect" },
          ],
        };
      }
      // RFC 4271 §8.2.2 Idle: any other event is ignored (no connection exists).
      return { state: s, actions: [] };

    case "Connect":
    case "Active":
      switch (e.kind) {
        case "timer":
          if (e.timer !== "connectRetry") return { state: s, actions: [] };
          if (cfg.passive)
            return {
              state: s,
              actions: [{ kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs }],
            };
          return {
            state: { ...s, name: "Connect" },
            actions: [
              { kind: "disconnect" },
              { kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs },
              { kind: "connect" },
            ],
          };
        case "tcp-connected":
        case "tcp-accepted":
          return openSent(s, cfg);
        case "tcp-failed":
          return {
            state: { ...s, name: "Active", connectRetryCounter: s.connectRetryCounter + 1 },
            actions: [
              { kind: "disconnect" },
              { kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs },
            ],
          };
        case "start":
          return { state: s, actions: [] };
        default:
          // Messages cannot arrive without a connection; anything else restarts cleanly.
          return fail(s, cfg, now, { kind: "tcp", detail: `unexpected ${e.kind} in ${s.name}` });
      }

    case "OpenSent":
      switch (e.kind) {
        case "timer":
          if (e.timer === "hold")
            return sendNotificationAndFail(
              s,
              cfg,
              now,
              4,
              0,
              new Uint8Array(0),
              "hold timer expired waiting for OPEN",
            );
          return { state: s, actions: [] };
        case "tcp-failed":
          return {
            state: { ...s, name: "Active", connectRetryCounter: s.connectRetryCounter + 1 },
            actions: [
              { kind: "disconnect" },
              { kind: "stop-timer", timer: "hold" },
              { kind: "start-timer", timer: "connectRetry", ms: cfg.connectRetryMs },
            ],
          };
        case "decode-error":
          return sendNotificationAndFail(
            s,
            cfg,
            now,
            e.error.errorCode,
            e.error.subcode,
            e.error.data,
            e.error.detail,
          );
        case "collision-dump":
          return sendNotificationAndFail(
            s,
            cfg,
            now,
            6,
            7,
            new Uint8Array(0),
            "connection collision resolution",
          );
        case "message":
          return openSentMessage(s, e.msg, cfg, now);
        default:
          return { state: s, actions: [] };
      }

    case "OpenConfirm":
    case "Established": {
      // Timers, lost connections, bad input and collisions are handled alike once the OPENs are in.
      if (e.kind !== "message") return afterOpen(s, e, cfg, now);
      if (e.msg.type === "NOTIFICATION") return received(s, cfg, now, e.msg);
      const n = s.negotiated!;
      if (s.name === "OpenConfirm") {
        if (e.msg.type !== "KEEPALIVE") return unexpected(s, cfg, now, e.msg.type);
        return {
          state: { ...s, name: "Established", establishedAt: now },
          actions: [...holdRestart(n), { kind: "established", negotiated: n }],
        };
      }
      switch (e.msg.type) {
        case "KEEPALIVE":
          return { state: s, actions: holdRestart(n) };
        case "UPDATE":
        case "ROUTE-REFRESH":
          return { state: s, actions: [...holdRestart(n), { kind: "deliver", msg: e.msg }] };
        default:
          return unexpected(s, cfg, now, e.msg.type);
      }
    }
  }
}

/**
 * The speaker's own Cease: a NOTIFICATION once the OPENs are exchanged (before that there is no BGP
 * session to tell), then Idle and stopped; it counts as a failure for connectRetryCounter.
 */
function cease(s: FsmState, e: Extract<FsmEvent, { kind: "cease" }>): Step {
  if (s.name === "Idle")
    return { state: { ...s, stopped: true }, actions: [{ kind: "stop-timer", timer: "idleHold" }] };
  const open = s.name === "OpenSent" || s.name === "OpenConfirm" || s.name === "Established";
  const reason: DownReason = open
    ? { kind: "notification-sent", code: 6, subcode: e.subcode, data: e.data, detail: e.detail }
    : { kind: "stop" };
  return {
    state: {
      name: "Idle",
      connectRetryCounter: s.connectRetryCounter + 1,
      idleHoldMs: s.idleHoldMs,
      stopped: true,
    },
    actions: [
      ...(open ? [{ kind: "send", msg: notification(6, e.subcode, e.data) } as const] : []),
      { kind: "disconnect" },
      ...stopAll(),
      { kind: "down", reason, wasEstablished: s.name === "Established" },
    ],
  };
}

/** OpenConfirm and Established: every event but a message. */
function afterOpen(
  s: FsmState,
  e: Exclude<FsmEvent, { kind: "message" }>,
  cfg: FsmConfig,
  now: number,
): Step {
  switch (e.kind) {
    case "timer":
      if (e.timer === "hold")
        return sendNotificationAndFail(
          s,
          cfg,
          now,
          4,
          0,
          new Uint8Array(0),
          s.negotiated !== undefined
            ? `hold timer expired: nothing from the peer for ${s.negotiated.holdTimeSec} s`
            : "hold timer expired",
        );
      if (e.timer === "keepalive") return keepalive(s);
      return { state: s, actions: [] };
    case "tcp-failed":
      return fail(s, cfg, now, { kind: "tcp", detail: e.reason });
    case "decode-error":
      return sendNotificationAndFail(
        s,
        cfg,
        now,
        e.error.errorCode,
        e.error.subcode,
        e.error.data,
        e.error.detail,
      );
    case "collision-dump":
      return sendNotificationAndFail(s, cfg, now, 6, 7, new Uint8Array(0), "connection collision resolution");
    default:
      return { state: s, actions: [] };
  }
}

function openSentMessage(s: FsmState, msg: BgpMessage, cfg: FsmConfig, now: number): Step {
  if (msg.type === "NOTIFICATION") return received(s, cfg, now, msg);
  if (msg.type !== "OPEN") return unexpected(s, cfg, now, msg.type);
  let n: Negotiated;
  try {
    n = negotiate(cfg.localOpen, msg, cfg.expect);
  } catch (err) {
    if (!isBgpDecodeError(err)) throw err;
    return sendNotificationAndFail(s, cfg, now, err.errorCode, err.subcode, err.data, err.detail);
  }
  const actions: FsmAction[] = [
    { kind: "stop-timer", timer: "connectRetry" },
    { kind: "send", msg: { type: "KEEPALIVE" } },
  ];
  if (n.holdTimeSec > 0) {
    actions.push(
      { kind: "start-timer", timer: "keepalive", ms: n.keepaliveSec * 1000 },
      { kind: "start-timer", timer: "hold", ms: n.holdTimeSec * 1000 },
    );
  } else {
    actions.push({ kind: "stop-timer", timer: "hold" }, { kind: "stop-timer", timer: "keepalive" });
  }
  return { state: { ...s, name: "OpenConfirm", negotiated: n, peerOpen: msg }, actions };
}

function keepalive(s: FsmState): Step {
  const n = s.negotiated;
  if (n === undefined || n.keepaliveSec === 0) return { state: s, actions: [] };
  return {
    state: s,
    actions: [
      { kind: "send", msg: { type: "KEEPALIVE" } },
      { kind: "start-timer", timer: "keepalive", ms: n.keepaliveSec * 1000 },
    ],
  };
}

function holdRestart(n: Negotiated): FsmAction[] {
  return n.holdTimeSec > 0 ? [{ kind: "start-timer", timer: "hold", ms: n.holdTimeSec * 1000 }] : [];
}

/** A NOTIFICATION from the peer ends the session; nothing is sent back (RFC 4271 §6.4). */
function received(
  s: FsmState,
  cfg: FsmConfig,
  now: number,
  msg: Extract<BgpMessage, { type: "NOTIFICATION" }>,
): Step {
  // An unsupported-version NOTIFICATION does not count against the peer (NotifMsgVerErr).
  const verErr = msg.code === 2 && msg.subcode === 1;
  const st = fail(s, cfg, now, {
    kind: "notification-received",
    code: msg.code,
    subcode: msg.subcode,
    data: msg.data,
  });
  return verErr ? { ...st, state: { ...st.state, connectRetryCounter: s.connectRetryCounter } } : st;
}
