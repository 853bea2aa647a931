/**
 * Cleanup that always runs. A `Scope` collects undo steps (kill a daemon, delete a namespace, remove a
 * temp dir) and runs them last-in first-out when the test or suite ends, whether it passed, failed or
 * timed out (vitest runs `onTestFinished` and `afterAll` hooks in all three cases). Every undo step also
 * stays in a process-wide registry until it has run, so a worker that exits with work undone still runs
 * the synchronous fallbacks on `exit`; what even that misses (SIGKILL, crash) the sweeper removes on the
 * next run, because every artifact carries the `tabbyt-` prefix and its creator's pid (naming.ts).
 */
import { afterAll, onTestFinished } from "vitest";

export interface Cleanup {
  readonly what: string;
  /** The normal, asynchronous undo. */
  readonly run: () => Promise<void>;
  /** A best-effort synchronous undo for process exit (execFileSync, rmSync, process.kill). */
  readonly runSync?: () => void;
}

const pending = new Set<Cleanup>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of [...pending].reverse()) {
      try {
        c.runSync?.();
      } catch {
        // Exiting anyway; the sweeper gets what this misses.
      }
    }
  });
}

export class Scope {
  private readonly steps: Cleanup[] = [];
  private closed = false;

  /** Registers an undo step; it runs when the scope closes, in reverse order of registration. */
  defer(what: string, run: () => Promise<void> | void, runSync?: () => void): Cleanup {
    if (this.closed) throw new Error(`scope already closed; cannot defer ${what}`);
    installExitHook();
    const step: Cleanup = { what, run: async () => run(), ...(runSync ? { runSync } : {}) };
    this.steps.push(step);
    pending.add(step);
    return step;
  }

  /** Runs one step now (e.g. an explicit stop()) and forgets it, so close() does not run it twice. */
  async runNow(step: Cleanup): Promise<void> {
    const i = this.steps.indexOf(step);
    if (i < 0) return;
    this.steps.splice(i, 1);
    try {
      await step.run();
    } finally {
      pending.delete(step);
    }
  }

  /** Runs every step even when some fail; throws one error naming all failures. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (e) {
        failures.push(`${step.what}: ${(e as Error).message}`);
      } finally {
        pending.delete(step);
      }
    }
    if (failures.length > 0) throw new Error(`cleanup failed:\n  ${failures.join("\n  ")}`);
  }
}

/** A scope closed when the current test finishes (call inside a test). */
export function testScope(): Scope {
  const scope = new Scope();
  onTestFinished(() => scope.close());
  return scope;
}

/** A scope closed after the enclosing describe block (call in the describe body, not in a test). */
export function suiteScope(): Scope {
  const scope = new Scope();
  afterAll(() => scope.close());
  return scope;
}
