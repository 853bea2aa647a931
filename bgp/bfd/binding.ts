/**
 * BFD as a client of BGP (RFC 5882): one BFD session per BGP peer that asks for it (`bfd:` in its
 * PeerConfig), on the BGP session's local address. When BFD goes from Up to Down because the detection
 * time passed in silence or the peer said Down, the BGP session is ended at once with Cease / BFD Down
 * (subcode 10, RFC 9384, what FRR sends; BIRD closes with a plain Cease) and started again after
 * `restartAfterMs`. A peer that goes AdminDown does not take BGP down (RFC 5882 §3.2). A BFD session
 * that never comes Up blocks nothing (§4.2): BGP comes up without it, and only a transition from Up
 * counts, so a BFD path that stays broken under a working BGP session is no flap loop.
 * Defaults 300 ms / 300 ms / 3, as BIRD and FRR. No authentication, no echo, single hop only.
 */
import type { Clock } from "../session/session.js";
import type { BfdStateName } from "./codec.js";
import type { BfdDownCause, BfdParams } from "./fsm.js";
import { BfdSession, type BfdSessionStatus } from "./session.js";
import { type BfdEndpoint, type BfdTransport, udpBfdTransport } from "./transport.js";

/** `bfd:` of a BGP peer; milliseconds. */
export interface BfdConfig {
  /** Required Min RX Interval we advertise (default 300). */
  readonly minRxMs?: number;
  /** Desired Min TX Interval we advertise once Up (default 300; at least 1000 while not Up). */
  readonly minTxMs?: number;
  /** Detect Mult (default 3). */
  readonly multiplier?: number;
}

export const BFD_DEFAULTS = { minRxMs: 300, minTxMs: 300, multiplier: 3 } as const;

/** Field rules shared by the speaker's validation and the YAML reader: [key, min, max]. */
export const BFD_LIMITS = [
  ["minRxMs", 1, 4_294_967],
  ["minTxMs", 1, 4_294_967],
  ["multiplier", 1, 255],
] as const;

/** The first broken rule of `b` as [field, message], or undefined. */
export function checkBfdConfig(b: BfdConfig): [string, string] | undefined {
  for (const [k, min, max] of BFD_LIMITS) {
    const v = (b as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      return [k, `must be an integer in ${min}..${max} (value ${String(v)})`];
  }
  for (const k of Object.keys(b))
    if (!BFD_LIMITS.some(([n]) => n === k)) return [k, "unknown field (minRxMs, minTxMs, multiplier)"];
  return undefined;
}

export function bfdParams(b: BfdConfig): BfdParams {
  return {
    desiredMinTxUs: (b.minTxMs ?? BFD_DEFAULTS.minTxMs) * 1000,
    requiredMinRxUs: (b.minRxMs ?? BFD_DEFAULTS.minRxMs) * 1000,
    detectMult: b.multiplier ?? BFD_DEFAULTS.multiplier,
  };
}

/** The reason BGP shows when BFD took it down, or undefined when BFD must not (RFC 5882 §3.2). */
export function bfdDownWords(cause: BfdDownCause): string | undefined {
  switch (cause.kind) {
    case "detect-expired":
      return `BFD: detection time expired (${cause.detectMult} × ${cause.intervalUs / 1000} ms)`;
    case "neighbour-down":
      return "BFD: neighbour signalled down";
    default:
      return undefined;
  }
}

export interface BfdPeerStatus extends Partial<Omit<BfdSessionStatus, "state">> {
  /** "Starting" until the local address is known and the sockets are open. */
  readonly state: BfdStateName | "Starting" | "Failed";
  readonly localAddress?: string;
  readonly sourcePort?: number;
  /** Why BFD last took (or did not take) BGP down, in words. */
  readonly lastDown?: string;
  /** Opening the sockets failed, in words. */
  readonly error?: string;
}

export interface BfdBindingHooks {
  /** End the BGP session with Cease / BFD Down and `words` as the reason. */
  cease(words: string): void;
  /** Start the BGP session again. */
  start(): void;
  log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>): void;
}

export interface BfdBindingOptions {
  readonly peer: string;
  readonly config: BfdConfig;
  readonly clock: Clock;
  readonly hooks: BfdBindingHooks;
  readonly netnsPath?: string;
  readonly transport?: BfdTransport;
  /** How long BGP rests after BFD took it down (default 1 s). */
  readonly restartAfterMs?: number;
  readonly random?: () => number;
}

let nextDiscr = 0;
/** A process-wide unique, non-zero local discriminator. */
function allocateDiscr(): number {
  if (nextDiscr === 0) nextDiscr = 1 + Math.floor(Math.random() * 0x7fff0000);
  nextDiscr = nextDiscr >= 0xfffffffe ? 1 : nextDiscr + 1;
  return nextDiscr;
}

export class BfdBinding {
  private session: BfdSession | undefined;
  private endpoint: BfdEndpoint | undefined;
  private local: string | undefined;
  private opening: Promise<void> | undefined;
  private restartTimer: { cancel(): void } | undefined;
  private lastDown: string | undefined;
  private error: string | undefined;
  private config: BfdConfig;
  private closed = false;

  constructor(private readonly o: BfdBindingOptions) {
    this.config = o.config;
  }

  /** Runs BFD from `local` (the BGP session's address); a no-op when it already does. */
  ensure(local: string | undefined): void {
    if (local === undefined || local === "" || this.closed) return;
    if (this.local === local && (this.session !== undefined || this.opening !== undefined)) return;
    this.stopSession();
    this.local = local;
    this.error = undefined;
    const session = new BfdSession({
      clock: this.o.clock,
      localDiscr: allocateDiscr(),
      params: bfdParams(this.config),
      send: (b) => this.endpoint?.send(b),
      onStateChange: (c) => {
        this.o.hooks.log(c.to === "Up" ? "info" : "warn", `BFD ${c.from} -> ${c.to}`, {
          peer: this.o.peer,
          diag: c.diag,
        });
        if (c.from === "Up" && c.cause !== undefined) this.bfdDown(c.cause);
      },
      ...(this.o.random !== undefined ? { random: this.o.random } : {}),
    });
    this.session = session;
    const transport = this.o.transport ?? udpBfdTransport;
    this.opening = transport
      .open({
        local,
        peer: this.o.peer,
        ...(this.o.netnsPath !== undefined ? { netnsPath: this.o.netnsPath } : {}),
        onPacket: (bytes) => session.receive(bytes),
      })
      .then(
        (ep) => {
          this.opening = undefined;
          if (this.session !== session) {
            ep.close();
            return;
          }
          this.endpoint = ep;
          session.start();
        },
        (e: Error) => {
          this.opening = undefined;
          if (this.session !== session) return;
          this.error = e.message;
          this.session = undefined;
          this.o.hooks.log("error", "BFD: cannot open its sockets; BGP runs without BFD", {
            peer: this.o.peer,
            error: e.message,
          });
        },
      );
  }

  /** New intervals: a Poll Sequence while Up (RFC 5880 §6.8.3), no BGP reset. */
  reconfigure(config: BfdConfig): void {
    this.config = config;
    this.session?.setParams(bfdParams(config));
  }

  /** The BGP peer was shut down by the operator: no automatic restart from BFD. */
  cancelRestart(): void {
    this.restartTimer?.cancel();
    this.restartTimer = undefined;
  }

  close(): void {
    this.closed = true;
    this.cancelRestart();
    this.stopSession();
  }

  status(): BfdPeerStatus {
    const s = this.session?.status();
    return {
      ...(s ?? {}),
      state: s?.state ?? (this.error !== undefined ? "Failed" : "Starting"),
      ...(this.local !== undefined ? { localAddress: this.local } : {}),
      ...(this.endpoint !== undefined ? { sourcePort: this.endpoint.sourcePort } : {}),
      ...(this.lastDown !== undefined ? { lastDown: this.lastDown } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  private bfdDown(cause: BfdDownCause): void {
    const words = bfdDownWords(cause);
    if (words === undefined) {
      this.lastDown = "BFD: neighbour went AdminDown; BGP session kept (RFC 5882 §3.2)";
      return;
    }
    this.lastDown = words;
    this.o.hooks.log("warn", "BFD down: ending the BGP session", { peer: this.o.peer, reason: words });
    this.o.hooks.cease(words);
    this.cancelRestart();
    this.restartTimer = this.o.clock.setTimer(this.o.restartAfterMs ?? 1000, () => {
      this.restartTimer = undefined;
      if (!this.closed) this.o.hooks.start();
    });
  }

  private stopSession(): void {
    this.session?.close();
    this.session = undefined;
    this.endpoint?.close();
    this.endpoint = undefined;
  }
}
