// RFC 4271 §8 transitions of the pure FSM: (state, event) -> (state, actions), one test per transition
// we implement, with exact timer values.
import { describe, expect, it } from "vitest";
import { BgpDecodeError } from "../../../../bgp/codec/errors.js";
import type { OpenMessage } from "../../../../bgp/codec/open.js";
import {
  FSM_DEFAULTS,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  initialState,
  OPEN_HOLD_MS,
  step,
} from "../../../../bgp/session/fsm.js";
import { buildOpen } from "../../../../bgp/session/negotiate.js";

const localOpen = buildOpen({
  localAs: 65001,
  routerId: "10.0.0.1",
  holdTimeSec: 90,
  families: ["ipv4", "ipv6"],
});
const cfg: FsmConfig = {
  localOpen,
  expect: { peerAs: 65002, localAs: 65001, routerId: "10.0.0.1" },
  passive: false,
  ...FSM_DEFAULTS,
};
const peerOpen = (over: Partial<OpenMessage> = {}): OpenMessage => ({
  ...buildOpen({ localAs: 65002, routerId: "10.0.0.2", holdTimeSec: 30, families: ["ipv4"] }),
  ...over,
});

function run(
  events: FsmEvent[],
  c: FsmConfig = cfg,
  start: FsmState = initialState(c),
  now = 0,
): { state: FsmState; actions: FsmAction[] } {
  let s = start;
  let actions: FsmAction[] = [];
  for (const e of events) {
    const r = step(s, e, c, now);
    s = r.state;
    actions = [...r.actions];
  }
  return { state: s, actions };
}

const upTo = {
  openSent: [{ kind: "start" }, { kind: "tcp-connected" }] as FsmEvent[],
  get openConfirm(): FsmEvent[] {
    return [...this.openSent, { kind: "message", msg: peerOpen() }];
  },
  get established(): FsmEvent[] {
    return [...this.openConfirm, { kind: "message", msg: { type: "KEEPALIVE" } }];
  },
};

const kinds = (a: FsmAction[]) =>
  a.map((x) =>
    x.kind === "send"
      ? `send ${x.msg.type}`
      : x.kind === "start-timer"
        ? `start ${x.timer} ${x.ms}`
        : x.kind === "stop-timer"
          ? `stop ${x.timer}`
          : x.kind,
  );
const sentNotification = (a: FsmAction[]) =>
  a.find((x) => x.kind === "send" && x.msg.type === "NOTIFICATION") as
    | { msg: { code: number; subcode: number; data: Uint8Array } }
    | undefined;

describe("Idle, Connect, Active", () => {
  it("Idle + start: Connect, ConnectRetryTimer, outgoing connection", () => {
    const r = run([{ kind: "start" }]);
    expect(r.state.name).toBe("Connect");
    expect(kinds(r.actions)).toEqual(["stop idleHold", "start connectRetry 5000", "connect"]);
  });

  it("Idle + start for a passive peer: Active, no connection", () => {
    const r = run([{ kind: "start" }], { ...cfg, passive: true });
    expect(r.state.name).toBe("Active");
    expect(kinds(r.actions)).not.toContain("connect");
  });

  it("Idle ignores messages and TCP events", () => {
    expect(run([{ kind: "message", msg: { type: "KEEPALIVE" } }]).actions).toEqual([]);
    expect(run([{ kind: "tcp-connected" }]).state.name).toBe("Idle");
  });

  it("Connect + connection up: OpenSent, OPEN sent, hold timer at 4 minutes", () => {
    const r = run(upTo.openSent);
    expect(r.state.name).toBe("OpenSent");
    expect(kinds(r.actions)).toEqual(["stop connectRetry", "send OPEN", `start hold ${OPEN_HOLD_MS}`]);
  });

  it("Connect + connection failed: Active until ConnectRetryTimer, which connects again", () => {
    const a = run([{ kind: "start" }, { kind: "tcp-failed", reason: "connection refused" }]);
    expect(a.state).toMatchObject({ name: "Active", connectRetryCounter: 1 });
    expect(kinds(a.actions)).toEqual(["disconnect", "start connectRetry 5000"]);
    const c = run([{ kind: "timer", timer: "connectRetry" }], cfg, a.state);
    expect(c.state.name).toBe("Connect");
    expect(kinds(c.actions)).toEqual(["disconnect", "start connectRetry 5000", "connect"]);
  });

  it("Active + incoming connection: OpenSent", () => {
    const r = run([{ kind: "start" }, { kind: "tcp-accepted" }], { ...cfg, passive: true });
    expect(r.state.name).toBe("OpenSent");
  });

  it("a passive peer's ConnectRetryTimer only re-arms", () => {
    const c = { ...cfg, passive: true };
    const r = run([{ kind: "start" }, { kind: "timer", timer: "connectRetry" }], c);
    expect(r.state.name).toBe("Active");
    expect(kinds(r.actions)).toEqual(["start connectRetry 5000"]);
  });
});

describe("OpenSent", () => {
  it("a valid OPEN: OpenConfirm, KEEPALIVE sent, negotiated hold min(90, 30) and keepalive 10", () => {
    const r = run(upTo.openConfirm);
    expect(r.state.name).toBe("OpenConfirm");
    expect(kinds(r.actions)).toEqual([
      "stop connectRetry",
      "send KEEPALIVE",
      "start keepalive 10000",
      "start hold 30000",
    ]);
    expect(r.state.negotiated).toMatchObject({ peerAs: 65002, holdTimeSec: 30, keepaliveSec: 10 });
  });

  it("hold time 0 on either side: no keepalive or hold timers", () => {
    const r = run([...upTo.openSent, { kind: "message", msg: peerOpen({ holdTime: 0 }) }]);
    expect(kinds(r.actions)).toEqual(["stop connectRetry", "send KEEPALIVE", "stop hold", "stop keepalive"]);
  });

  it("an OPEN from the wrong AS: NOTIFICATION Bad Peer AS, Idle with the idle hold armed", () => {
    const r = run([...upTo.openSent, { kind: "message", msg: peerOpen({ myAs: 65009, params: [] }) }]);
    expect(r.state).toMatchObject({ name: "Idle", stopped: false, connectRetryCounter: 1 });
    expect(sentNotification(r.actions)?.msg).toMatchObject({ code: 2, subcode: 2 });
    expect([...sentNotification(r.actions)!.msg.data]).toEqual([0xfd, 0xf1]);
    expect(kinds(r.actions)).toContain("start idleHold 5000");
    expect(r.actions.at(-1)).toMatchObject({
      kind: "down",
      wasEstablished: false,
      reason: { kind: "notification-sent", code: 2, subcode: 2 },
    });
  });

  it("hold timer expiry: NOTIFICATION Hold Timer Expired", () => {
    const r = run([...upTo.openSent, { kind: "timer", timer: "hold" }]);
    expect(sentNotification(r.actions)?.msg).toMatchObject({ code: 4, subcode: 0 });
  });

  it("a KEEPALIVE before the OPEN: FSM Error, unexpected message in OpenSent (RFC 6608)", () => {
    const r = run([...upTo.openSent, { kind: "message", msg: { type: "KEEPALIVE" } }]);
    expect(sentNotification(r.actions)?.msg).toMatchObject({ code: 5, subcode: 1 });
  });

  it("a decode error: the NOTIFICATION the error names", () => {
    const err = new BgpDecodeError(
      2,
      4,
      29,
      "session-reset",
      Uint8Array.of(1, 2),
      "optional parameter type 1",
    );
    const r = run([...upTo.openSent, { kind: "decode-error", error: err }]);
    expect(sentNotification(r.actions)?.msg).toMatchObject({
      code: 2,
      subcode: 4,
      data: Uint8Array.of(1, 2),
    });
  });

  it("connection lost: back to Active", () => {
    expect(run([...upTo.openSent, { kind: "tcp-failed", reason: "reset" }]).state.name).toBe("Active");
  });

  it("a received NOTIFICATION: Idle, nothing sent back", () => {
    const r = run([
      ...upTo.openSent,
      { kind: "message", msg: { type: "NOTIFICATION", code: 6, subcode: 5, data: new Uint8Array(0) } },
    ]);
    expect(r.state.name).toBe("Idle");
    expect(sentNotification(r.actions)).toBeUndefined();
    expect(r.actions.at(-1)).toMatchObject({
      kind: "down",
      reason: { kind: "notification-received", code: 6, subcode: 5 },
    });
  });

  it("an Unsupported Version NOTIFICATION does not count as a failure of the peer", () => {
    const r = run([
      ...upTo.openSent,
      { kind: "message", msg: { type: "NOTIFICATION", code: 2, subcode: 1, data: new Uint8Array(0) } },
    ]);
    expect(r.state.connectRetryCounter).toBe(0);
  });

  it("losing a collision: Cease / Connection Collision Resolution", () => {
    expect(sentNotification(run([...upTo.openSent, { kind: "collision-dump" }]).actions)?.msg).toMatchObject({
      code: 6,
      subcode: 7,
    });
  });
});

describe("OpenConfirm and Established", () => {
  it("OpenConfirm + KEEPALIVE: Established, hold restarted, session reported up", () => {
    const r = run(upTo.established);
    expect(r.state.name).toBe("Established");
    expect(kinds(r.actions)).toEqual(["start hold 30000", "established"]);
  });

  it("OpenConfirm sends keepalives on its timer and refuses UPDATEs (RFC 6608 subcode 2)", () => {
    expect(kinds(run([...upTo.openConfirm, { kind: "timer", timer: "keepalive" }]).actions)).toEqual([
      "send KEEPALIVE",
      "start keepalive 10000",
    ]);
    const upd = { type: "UPDATE", withdrawn: undefined, attributes: [], nlri: undefined } as never;
    expect(
      sentNotification(run([...upTo.openConfirm, { kind: "message", msg: upd }]).actions)?.msg,
    ).toMatchObject({ code: 5, subcode: 2 });
  });

  it("Established delivers UPDATEs and ROUTE-REFRESH and restarts the hold timer", () => {
    const rr = { type: "ROUTE-REFRESH", afi: 1, safi: 1, subtype: 0 } as const;
    const r = run([...upTo.established, { kind: "message", msg: rr }]);
    expect(kinds(r.actions)).toEqual(["start hold 30000", "deliver"]);
  });

  it("Established + hold timer expiry: NOTIFICATION, down with wasEstablished", () => {
    const r = run([...upTo.established, { kind: "timer", timer: "hold" }]);
    expect(sentNotification(r.actions)?.msg).toMatchObject({ code: 4, subcode: 0 });
    expect(r.actions.at(-1)).toMatchObject({ kind: "down", wasEstablished: true });
  });

  it("Established + OPEN: FSM Error subcode 3", () => {
    expect(
      sentNotification(run([...upTo.established, { kind: "message", msg: peerOpen() }]).actions)?.msg,
    ).toMatchObject({ code: 5, subcode: 3 });
  });

  it("manual stop: Cease / Administrative Shutdown with the RFC 9003 communication, no automatic restart", () => {
    const r = run([...upTo.established, { kind: "stop", communication: "maintenance" }]);
    expect(r.state).toMatchObject({ name: "Idle", stopped: true });
    const n = sentNotification(r.actions)!.msg;
    expect(n).toMatchObject({ code: 6, subcode: 2 });
    expect(new TextDecoder().decode(n.data.subarray(1))).toBe("maintenance");
    expect(run([{ kind: "timer", timer: "idleHold" }], cfg, r.state).state.name).toBe("Idle");
  });
});

describe("idle hold (damped restarts)", () => {
  it("doubles on each failure up to the maximum, and restarts the session when it expires", () => {
    let s = initialState(cfg);
    const holds: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = run([{ kind: "start" }, { kind: "tcp-connected" }, { kind: "timer", timer: "hold" }], cfg, s);
      holds.push(
        (r.actions.find((a) => a.kind === "start-timer" && a.timer === "idleHold") as { ms: number }).ms,
      );
      s = r.state;
    }
    expect(holds).toEqual([5000, 10000, 20000, 40000, 80000, 120000, 120000]);
    expect(run([{ kind: "timer", timer: "idleHold" }], cfg, s).state.name).toBe("Connect");
  });

  it("resets after a session that stayed up for stableMs", () => {
    const failing = run([...upTo.openSent, { kind: "timer", timer: "hold" }]).state;
    const up = run(
      [
        { kind: "timer", timer: "idleHold" },
        { kind: "tcp-connected" },
        { kind: "message", msg: peerOpen() },
        { kind: "message", msg: { type: "KEEPALIVE" } },
      ],
      cfg,
      failing,
      1000,
    ).state;
    expect(up.name).toBe("Established");
    const quick = step(up, { kind: "timer", timer: "hold" }, cfg, 1000 + 5_000);
    expect(quick.actions.find((a) => a.kind === "start-timer" && a.timer === "idleHold")).toMatchObject({
      ms: 10_000,
    });
    const stable = step(up, { kind: "timer", timer: "hold" }, cfg, 1000 + 60_000);
    expect(stable.actions.find((a) => a.kind === "start-timer" && a.timer === "idleHold")).toMatchObject({
      ms: 5_000,
    });
  });
});
