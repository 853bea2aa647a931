/**
 * The async-iterable end of a watch: the backend pushes events (or one failure, or the end) as they
 * arrive from etcd, the API server or the embedded store, and the consumer pulls them in order with
 * `for await`. Unbounded by design, as a Kubernetes watch channel drained by a reflector is: a consumer
 * that stops reading should close the watch. Delivers a failure only after the events before it.
 */
import type { Watch, WatchEvent } from "./types.js";

export class EventQueue implements Watch {
  private readonly buffered: WatchEvent[] = [];
  private failure: Error | undefined;
  private ended = false;
  private wake: (() => void) | undefined;
  private lastRevision: string | undefined;

  /** `onClose` runs once, when the consumer closes or stops iterating, to release the backend's stream. */
  constructor(private readonly onClose: () => void = () => {}) {}

  get revision(): string | undefined {
    return this.lastRevision;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(e: WatchEvent): void {
    if (this.ended) return;
    this.buffered.push(e);
    this.wake?.();
  }

  /** Records progress without an event (a BOOKMARK): the consumer's resume point moves on. */
  progress(revision: string): void {
    if (this.buffered.length === 0) this.lastRevision = revision;
    else this.pendingProgress = revision;
  }

  private pendingProgress: string | undefined;

  /** Ends the stream with an error after the events already pushed. */
  fail(e: Error): void {
    if (this.ended || this.failure !== undefined) return;
    this.failure = e;
    this.wake?.();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    this.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: async () => {
        for (;;) {
          const e = this.buffered.shift();
          if (e !== undefined) {
            this.lastRevision = e.revision;
            const pending = this.pendingProgress;
            if (pending !== undefined) {
              // A bookmark that arrived behind buffered events counts once they are all delivered.
              if (Number(e.revision) >= Number(pending)) this.pendingProgress = undefined;
              else if (this.buffered.length === 0) {
                this.lastRevision = pending;
                this.pendingProgress = undefined;
              }
            }
            return { value: e, done: false };
          }
          if (this.failure !== undefined) {
            const f = this.failure;
            this.failure = undefined;
            this.close();
            throw f;
          }
          if (this.ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          this.wake = undefined;
        }
      },
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
