import { describe, expect, it } from "vitest";
import { delay, FakeClock, systemClock } from "./clock.js";

describe("FakeClock", () => {
  it("fires timers in due order with now() at each due time, only when advanced", () => {
    const clock = new FakeClock(1000);
    const seen: string[] = [];
    clock.setTimer(300, () => seen.push(`b@${clock.now()}`));
    clock.setTimer(100, () => seen.push(`a@${clock.now()}`));
    clock.setTimer(300, () => seen.push(`c@${clock.now()}`)); // same instant as b: creation order
    expect(seen).toEqual([]);
    clock.advance(99);
    expect(seen).toEqual([]);
    clock.advance(1);
    expect(seen).toEqual(["a@1100"]);
    clock.advance(500);
    expect(seen).toEqual(["a@1100", "b@1300", "c@1300"]);
    expect(clock.now()).toBe(1600);
  });

  it("fires timers scheduled by timers inside the same advance, and honours cancel", () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    // A keepalive-style re-arming timer: every 30 s.
    const arm = () =>
      clock.setTimer(30_000, () => {
        fired.push(clock.now());
        arm();
      });
    arm();
    const hold = clock.setTimer(90_000, () => fired.push(-1));
    clock.advance(89_999);
    hold.cancel();
    clock.advance(1);
    expect(fired).toEqual([30_000, 60_000, 90_000]); // the cancelled hold timer (-1) never fires
    clock.advance(30_000);
    expect(fired).toEqual([30_000, 60_000, 90_000, 120_000]);
    expect(clock.pending()).toBe(1);
  });

  it("runNext jumps to the next timer and reports when there is none", () => {
    const clock = new FakeClock();
    let n = 0;
    clock.setTimer(5000, () => n++);
    expect(clock.nextDue()).toBe(5000);
    expect(clock.runNext()).toBe(true);
    expect(n).toBe(1);
    expect(clock.now()).toBe(5000);
    expect(clock.runNext()).toBe(false);
  });

  it("resolves awaited delays with advanceAsync, including chained ones", async () => {
    const clock = new FakeClock();
    const steps: number[] = [];
    const task = (async () => {
      await delay(clock, 1000);
      steps.push(clock.now());
      await delay(clock, 1000);
      steps.push(clock.now());
    })();
    await clock.advanceAsync(1999);
    expect(steps).toEqual([1000]);
    await clock.advanceAsync(1);
    await task;
    expect(steps).toEqual([1000, 2000]);
  });

  it("keeps wall time in step with monotonic time", () => {
    const clock = new FakeClock(50, Date.UTC(2026, 0, 1));
    clock.advance(1500);
    expect(new Date(clock.wallTime()).toISOString()).toBe("2026-01-01T00:00:01.500Z");
  });

  it("refuses to go backwards or take a non-finite delay", () => {
    const clock = new FakeClock();
    expect(() => clock.advance(-1)).toThrow("backwards");
    expect(() => clock.setTimer(Number.POSITIVE_INFINITY, () => {})).toThrow("finite");
  });
});

describe("systemClock", () => {
  it("is monotonic and cancels timers", async () => {
    const a = systemClock.now();
    let fired = false;
    const t = systemClock.setTimer(1, () => {
      fired = true;
    });
    t.cancel();
    await delay(systemClock, 5);
    expect(systemClock.now()).toBeGreaterThanOrEqual(a);
    expect(fired).toBe(false);
  });
});
