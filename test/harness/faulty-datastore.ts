/**
 * A fault-injecting wrapper over any Datastore, for the tests that hold IPAM and the datastore contract
 * to "nothing lost when a reply is lost". Per call, by a seeded random draw or an explicit schedule, it
 * fails the call before passing it on (nothing applied), passes it on and then reports failure (applied,
 * the reply lost: the case a client cannot tell from the first), delays it by yielding to the event
 * loop (so concurrent calls reach the backend in another order), or, on a watch, drops the stream
 * before an event as a lost connection does. Injected failures are DATASTORE_IO errors, as the real
 * backends report a dropped connection, and say what was injected. `pause()` stops injecting, so a
 * test can read what is stored without faults. `batch` can be hidden, to drive callers through the
 * path they take on Kubernetes (no transactions).
 */
import type { Resource } from "../../src/api/meta.js";
import { DatastoreError, describeKey } from "../../src/datastore/errors.js";
import type {
  Datastore,
  DeleteOptions,
  ListOptions,
  ListResult,
  ObjectMeta,
  Watch,
  WatchEvent,
  WatchOptions,
  WriteOp,
} from "../../src/datastore/types.js";
import { keyOf } from "../../src/datastore/types.js";

export type Fault = "fail-before" | "fail-after" | "delay";

export interface FaultCall {
  /** 1-based, over every call of the wrapper. */
  readonly n: number;
  readonly method: "get" | "list" | "create" | "update" | "delete" | "updateStatus" | "batch";
  /** What the call is about, as libcalico-go names resources: `IPAMBlock(10-0-0-0-26)`. */
  readonly target: string;
}

export interface FaultOptions {
  /** Seed of the random draws (mulberry32); runs with the same seed and calls inject the same faults. */
  readonly seed?: number;
  /** Probability per read (get, list) of failing before it reaches the backend. */
  readonly readFailure?: number;
  /** Probability per write of failing before it is applied. */
  readonly failBefore?: number;
  /** Probability per write of being applied and then reported as failed. */
  readonly failAfter?: number;
  /** Probability per call of being delayed by 1 to `maxYields` event-loop turns. */
  readonly delay?: number;
  readonly maxYields?: number;
  /** Probability per watch event of the stream dropping just before it. */
  readonly dropWatch?: number;
  /** Decides the fault of a call instead of the random draws (undefined: none). */
  readonly schedule?: (call: FaultCall) => Fault | undefined;
  /** Hide the backend's `batch`, so callers take their no-transaction path. */
  readonly withoutBatch?: boolean;
}

/** Small, seedable, good enough to spread faults (not for anything else). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FaultyDatastore implements Datastore {
  readonly type: Datastore["type"];
  readonly batch?: Datastore["batch"];
  readonly updateStatus?: Datastore["updateStatus"];
  readonly readSecret?: Datastore["readSecret"];
  readonly readObjectMeta?: (
    kind: "Pod" | "Namespace",
    name: string,
    namespace?: string,
  ) => Promise<ObjectMeta>;
  /** How many of each fault were injected, and how many calls were made. */
  readonly injected = { "fail-before": 0, "fail-after": 0, delay: 0, "drop-watch": 0, calls: 0 };
  private readonly random: () => number;
  private paused = false;

  constructor(
    readonly inner: Datastore,
    private readonly options: FaultOptions = {},
  ) {
    this.type = inner.type;
    this.random = mulberry32(options.seed ?? 1);
    if (inner.batch !== undefined && options.withoutBatch !== true) {
      const batch = inner.batch.bind(inner);
      this.batch = (ops) => this.call("batch", ops.map(opTarget).join(", "), true, () => batch(ops));
    }
    if (inner.updateStatus !== undefined) {
      const updateStatus = inner.updateStatus.bind(inner);
      this.updateStatus = (r) =>
        this.call("updateStatus", describeKey(keyOf(r)), true, () => updateStatus(r));
    }
    if (inner.readSecret !== undefined) this.readSecret = inner.readSecret.bind(inner);
    if (inner.readObjectMeta !== undefined) this.readObjectMeta = inner.readObjectMeta.bind(inner);
  }

  /** Stop injecting (reads and writes pass straight through) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get(key: Parameters<Datastore["get"]>[0]): Promise<Resource> {
    return this.call("get", describeKey(key), false, () => this.inner.get(key));
  }

  list(kind: string, options?: ListOptions): Promise<ListResult> {
    return this.call("list", kind, false, () => this.inner.list(kind, options));
  }

  create(resource: Resource): Promise<Resource> {
    return this.call("create", describeKey(keyOf(resource)), true, () => this.inner.create(resource));
  }

  update(resource: Resource): Promise<Resource> {
    return this.call("update", describeKey(keyOf(resource)), true, () => this.inner.update(resource));
  }

  delete(key: Parameters<Datastore["delete"]>[0], options?: DeleteOptions): Promise<Resource> {
    return this.call("delete", describeKey(key), true, () => this.inner.delete(key, options));
  }

  watch(options: WatchOptions): Watch {
    const inner = this.inner.watch(options);
    const self = this;
    let dropped = false;
    return {
      close: () => inner.close(),
      get revision() {
        return inner.revision;
      },
      async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
        for await (const e of inner) {
          if (!self.paused && self.random() < (self.options.dropWatch ?? 0)) {
            dropped = true;
            self.injected["drop-watch"]++;
            inner.close();
            break;
          }
          yield e;
        }
        if (dropped) {
          throw new DatastoreError(
            "DATASTORE_IO",
            `injected fault: watch of ${options.kind} dropped after revision ${inner.revision ?? "?"}`,
          );
        }
      },
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private draw(call: FaultCall, write: boolean): Fault | undefined {
    if (this.options.schedule !== undefined) return this.options.schedule(call);
    const o = this.options;
    const r = this.random();
    if (write) {
      if (r < (o.failBefore ?? 0)) return "fail-before";
      if (r < (o.failBefore ?? 0) + (o.failAfter ?? 0)) return "fail-after";
    } else if (r < (o.readFailure ?? 0)) return "fail-before";
    return this.random() < (o.delay ?? 0) ? "delay" : undefined;
  }

  private async call<T>(
    method: FaultCall["method"],
    target: string,
    write: boolean,
    run: () => Promise<T>,
  ): Promise<T> {
    this.injected.calls++;
    if (this.paused) return run();
    const fault = this.draw({ n: this.injected.calls, method, target }, write);
    if (fault === undefined) return run();
    this.injected[fault]++;
    if (fault === "delay") {
      const turns = 1 + Math.floor(this.random() * (this.options.maxYields ?? 8));
      for (let i = 0; i < turns; i++) await yieldTurn();
      return run();
    }
    if (fault === "fail-before") {
      await yieldTurn();
      throw new DatastoreError("DATASTORE_IO", `injected fault: connection lost before ${method} ${target}`);
    }
    await run().catch(() => undefined);
    throw new DatastoreError(
      "DATASTORE_IO",
      `injected fault: connection lost after ${method} ${target} reached the datastore (its reply never came)`,
    );
  }
}

function opTarget(op: WriteOp): string {
  return `${op.op} ${describeKey(op.op === "delete" ? op.key : keyOf(op.resource))}`;
}
