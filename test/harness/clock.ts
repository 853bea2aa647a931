/**
 * The fake clock for exact timer tests. Production code takes a `Clock` (src/util/clock.ts); tests hand
 * it a `FakeClock` and move time explicitly: `advance(30_000)` fires, in order, every timer due within
 * those 30 s, including timers that the fired callbacks schedule, with `now()` set to each timer's due
 * time while it runs. Nothing here sleeps; a test of a 90 s hold timer takes microseconds.
 */
import type { Clock, TimerHandle } from "../../src/util/clock.js";

export type { Clock, TimerHandle } from "../../src/util/clock.js";
export { delay, systemClock } from "../../src/util/clock.js";

interface FakeTimer {
  readonly due: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private current: number;
  private readonly wallOrigin: number;
  private readonly startMs: number;
  private timers: FakeTimer[] = [];
  private seq = 0;

  /** `wallStart` is the wall time at `startMs`; default 2026-01-01T00:00:00Z so output is reproducible. */
  constructor(startMs = 0, wallStart = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
    this.startMs = startMs;
    this.wallOrigin = wallStart;
  }

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.wallOrigin + (this.current - this.startMs);
  }

  setTimer(ms: number, fire: () => void): TimerHandle {
    if (!Number.isFinite(ms)) throw new Error(`timer delay must be finite, got ${ms}`);
    const t: FakeTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fire, cancelled: false };
    this.timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  /** Number of timers that have neither fired nor been cancelled. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    return this.next()?.due;
  }

  /** Moves time forward by `ms`, firing due timers synchronously in due-time then creation order. */
  advance(ms: number): void {
    if (ms < 0) throw new Error("time does not go backwards");
    const target = this.current + ms;
    for (let t = this.next(); t !== undefined && t.due <= target; t = this.next()) {
      this.fireTimer(t);
    }
    this.current = target;
  }

  /**
   * As `advance`, but lets promise callbacks run after each timer, for code that awaits between timers
   * (a timer that resolves a promise whose continuation schedules the next timer).
   */
  async advanceAsync(ms: number): Promise<void> {
    if (ms < 0) throw new Error("time does not go backwards");
    const target = this.current + ms;
    await flushMicrotasks();
    for (let t = this.next(); t !== undefined && t.due <= target; t = this.next()) {
      this.fireTimer(t);
      await flushMicrotasks();
    }
    this.current = target;
  }

  /** Jumps to the next timer and fires it (and any others due at the same instant). Returns false if none. */
  runNext(): boolean {
    const t = this.next();
    if (t === undefined) return false;
    this.advance(t.due - this.current);
    return true;
  }

  private fireTimer(t: FakeTimer): void {
    this.timers = this.timers.filter((x) => x !== t);
    this.current = t.due;
    t.fire();
  }

  private next(): FakeTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

async function flushMicrotasks(): Promise<void> {
  // setImmediate runs after every queued microtask (and their follow-ups) has drained.
  await new Promise<void>((resolve) => setImmediate(resolve));
}
