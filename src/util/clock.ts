/**
 * Time as an injected dependency. Every timer in tabby (BGP hold/keepalive/connect-retry, felix resync,
 * IPAM grace periods) goes through a `Clock`, so tests drive time with a fake clock and assert exact
 * behaviour without sleeping (style.md §3). `now()` is monotonic; `wallTime()` is only for display
 * ("Established since ...") and stored timestamps, never for measuring intervals.
 *
 * bgp/ and felix/ may not import src/: they declare the same interface shape themselves, and TypeScript's
 * structural typing lets `systemClock` and test/harness's `FakeClock` satisfy both.
 */

export interface TimerHandle {
  /** Stops the timer; harmless if it already fired or was cancelled. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale with an arbitrary origin. */
  now(): number;
  /** Milliseconds since the Unix epoch, for display and persisted timestamps. */
  wallTime(): number;
  /** Calls `fire` once, `ms` milliseconds from now (0 means "as soon as possible, after the current task"). */
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

/** A promise that resolves after `ms` on `clock`; on a fake clock it resolves when the clock is advanced. */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(ms, resolve);
  });
}
