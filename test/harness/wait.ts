/**
 * Waiting for external processes (BIRD, FRR, GoBGP, etcd, the kernel) to reach a state. They run on real
 * time, so the only way to know is to ask again: `eventually` polls a probe with a short back-off until it
 * passes or the deadline is hit, then fails with the probe's last answer, which is what you need to debug.
 * In-process behaviour (our FSMs, reconcilers) never waits like this: it runs on the fake clock.
 */

export interface EventuallyOptions {
  /** What we are waiting for, for the error message. */
  readonly what: string;
  /** Default 20 s. */
  readonly timeoutMs?: number;
  /** First poll interval; doubles up to 500 ms. Default 25 ms. */
  readonly intervalMs?: number;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false` without throwing, and returns it.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: EventuallyOptions,
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let interval = opts.intervalMs ?? 25;
  let last: unknown = "never polled";
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${opts.what}; last: ${detail}`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
    interval = Math.min(interval * 2, 500);
  }
}
