/**
 * The codec's one error type. Every decode failure says what RFC 4271 §6 / RFC 7606 requires of the
 * session: reset it with this NOTIFICATION (code, subcode, data), treat the UPDATE as a withdraw,
 * or discard one attribute, plus where (byte offset in the message) and, for attributes, which type.
 * The codec throws nothing else on any input (property- and fuzz-tested).
 */
import { errorCodeName, errorSubcodeName } from "./constants.js";

/** RFC 7606 §2 approaches, strongest first. */
export type Rfc7606Action = "session-reset" | "afisafi-disable" | "treat-as-withdraw" | "attribute-discard";

const STRENGTH: Record<Rfc7606Action, number> = {
  "session-reset": 3,
  "afisafi-disable": 2,
  "treat-as-withdraw": 1,
  "attribute-discard": 0,
};

const brand: unique symbol = Symbol.for("tabby.error") as never;

export class BgpDecodeError extends Error {
  readonly [brand] = true;
  override readonly name = "BgpDecodeError";
  readonly code = "BGP_DECODE";

  constructor(
    /** NOTIFICATION error code (RFC 4271 §4.5). */
    readonly errorCode: number,
    readonly subcode: number,
    /** Byte offset from the start of the message (its marker) where the problem starts. */
    readonly offset: number,
    readonly action: Rfc7606Action,
    /** NOTIFICATION data to send when the action is a session reset. */
    readonly data: Uint8Array = new Uint8Array(0),
    readonly detail = "",
    /** Path attribute type code when the error concerns one. */
    readonly attrType?: number,
  ) {
    super(
      `${detail ? `${detail}: ` : ""}${errorCodeName(errorCode)} / ${errorSubcodeName(errorCode, subcode)} ` +
        `(${action}${attrType !== undefined ? `, attribute ${attrType}` : ""}, at byte ${offset})`,
    );
  }

  /** Same error seen from an outer offset (e.g. an attribute's error inside the whole message). */
  at(offset: number): BgpDecodeError {
    return new BgpDecodeError(
      this.errorCode,
      this.subcode,
      offset,
      this.action,
      this.data,
      this.detail,
      this.attrType,
    );
  }
}

export function isBgpDecodeError(e: unknown): e is BgpDecodeError {
  return e instanceof BgpDecodeError;
}

/** RFC 7606 §3(j): when several errors exist, the strongest action wins. */
export function strongest(a: BgpDecodeError | undefined, b: BgpDecodeError): BgpDecodeError {
  if (a === undefined) return b;
  return STRENGTH[b.action] > STRENGTH[a.action] ? b : a;
}
