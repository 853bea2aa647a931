/**
 * Time as felix needs it: the same shape as src/util/clock.ts, declared here because felix/ never imports
 * src/ (design.md). Structural typing lets src's `systemClock` and the harness's `FakeClock` fit, so
 * resync and grace-period timers run on a fake clock in tests.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Milliseconds since the Unix epoch, for display only. */
  wallTime(): number;
  setTimer(ms: number, fire: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallTime: () => Date.now(),
  setTimer(ms, fire) {
    const t = setTimeout(fire, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};
