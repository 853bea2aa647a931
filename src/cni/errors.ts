/**
 * CNI error results (spec 1.1 "Error"): the code tells the runtime what kind of failure it was, `msg`
 * is the short text kubelet and podman show, `details` carries the cause. Codes 0-99 are the spec's;
 * 999 is what Go's skel uses for an untyped failure, so tooling that knows Calico's plugin reads ours
 * the same way. Pure.
 */
export const CNI_CODE = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  io: 5,
  decode: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  notAvailableLimited: 51,
  internal: 999,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CniError";
  }
}

export interface CniErrorJson {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** Any thrown value as the error result; an untyped error becomes 999 with its message. */
export function errorResult(e: unknown, cniVersion: string): CniErrorJson {
  if (e instanceof CniError) {
    return { cniVersion, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) };
  }
  const message = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
  return { cniVersion, code: CNI_CODE.internal, msg: message, ...(cause ? { details: cause } : {}) };
}
