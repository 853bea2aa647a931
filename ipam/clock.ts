/**
 * Time as ipam needs it: the same shape as src/util/clock.ts, declared here because ipam/ never imports
 * src/ (design.md). Structural typing lets src's `systemClock` and the harness's `FakeClock` fit, so
 * grace periods (leak check), affinity claim times and block sequence seeds run on a fake clock in tests.
 * ipam only reads `wallTime()`: every duration it checks is against a stored timestamp.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Milliseconds since the Unix epoch: stored timestamps and the ages computed from them. */
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

/** RFC 3339 in whole seconds, as Kubernetes' metav1.Time marshals (the form Calico stores). */
export function formatTime(wallMs: number): string {
  return new Date(Math.floor(wallMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * The `timestamp` allocation attribute as Calico's CNI plugin writes it: Go's `time.Now().UTC().String()`,
 * `2026-01-01 00:00:00.123456789 +0000 UTC` (ipam_plugin.go). tabby writes the same form.
 */
export function formatGoTime(wallMs: number): string {
  const iso = new Date(wallMs).toISOString(); // 2026-01-01T00:00:00.123Z
  const frac = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ""} +0000 UTC`;
}

/**
 * Milliseconds since the epoch of a stored timestamp (RFC 3339, or Go's time.String form with an
 * optional monotonic ` m=+...` suffix), or undefined when absent or unreadable.
 */
export function parseTime(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const go = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d\d)(\d\d)\b/.exec(text);
  if (go !== null) {
    const frac = go[3] ? go[3].slice(0, 4) : "";
    const ms = Date.parse(`${go[1]}T${go[2]}${frac}${go[4]}:${go[5]}`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
