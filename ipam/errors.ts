/**
 * ipam's typed errors: the failures a caller or an operator acts on (a pool with no free address for a
 * node, a request conflicting with what is stored, a release based on stale information). They carry
 * the brand of src/util/errors.ts (a `Symbol.for` key) so `isTabbyError(e, code)` recognises them
 * without ipam importing src/ (design.md). Messages follow libcalico-go's wording where Calico has one
 * (ipam.go, ipam_block.go). Bugs stay plain `Error`s.
 */

const brand: unique symbol = Symbol.for("tabby.error") as never;

export type IpamErrorCode =
  /** No free address in any qualifying pool for this node (after claiming and borrowing). */
  | "IPAM_POOL_EXHAUSTED"
  /** No pool qualifies for the request (family, selectors, allowed use, assignment mode). */
  | "IPAM_NO_POOLS"
  /** A requested pool (by name or CIDR) does not exist or is disabled. */
  | "IPAM_POOL_NOT_FOUND"
  /** The address is not inside any pool (AssignIP) or any block (release/show). */
  | "IPAM_NOT_IN_POOL"
  /** The node may not claim another block (maxBlocksPerHost). */
  | "IPAM_BLOCK_LIMIT"
  /** No usable affine block and claiming blocks is switched off (autoAllocateBlocks: false). */
  | "IPAM_NO_BLOCK"
  /** Compare-and-swap retries ran out; names the object that kept changing. */
  | "IPAM_BLOCK_CONFLICT"
  /** AssignIP of an address another handle holds. */
  | "IPAM_ADDRESS_IN_USE"
  /** A release whose sequence number no longer matches the allocation (ABA protection). */
  | "IPAM_BAD_SEQUENCE_NUMBER"
  /** A release naming a handle other than the one holding the address. */
  | "IPAM_HANDLE_MISMATCH"
  /** ReleaseByHandle / IPsByHandle of a handle that does not exist. */
  | "IPAM_HANDLE_NOT_FOUND"
  /** The node the request names does not exist (Calico reads it for pool nodeSelectors). */
  | "IPAM_NODE_NOT_FOUND"
  /** The request itself is malformed (no intended use, bad address, wrong family). */
  | "IPAM_INVALID_REQUEST"
  /** A block that must be empty (affinity release with mustBeEmpty) still holds addresses. */
  | "IPAM_BLOCK_NOT_EMPTY";

/** What an IPAM error is about; every field optional, set the ones known. */
export interface IpamErrorContext {
  readonly pool?: string;
  readonly node?: string;
  readonly block?: string;
  readonly address?: string;
  readonly handle?: string;
}

export class IpamError extends Error {
  readonly [brand] = true;
  override readonly name = "IpamError";
  constructor(
    readonly code: IpamErrorCode,
    message: string,
    readonly context: IpamErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isIpamError(e: unknown, code?: IpamErrorCode): e is IpamError {
  return isBranded(e, code);
}

/**
 * True when `e` carries the tabby brand (from any layer) and, if given, the code. The store interface
 * (store.ts) reports its outcomes this way: DATASTORE_NOT_FOUND, DATASTORE_ALREADY_EXISTS,
 * DATASTORE_CONFLICT, as src/datastore throws them.
 */
export function isBranded(e: unknown, code?: string): e is Error & { code: string } {
  if (typeof e !== "object" || e === null) return false;
  if ((e as Record<symbol, unknown>)[brand] !== true) return false;
  return code === undefined || (e as { code?: unknown }).code === code;
}

/**
 * Errors a store implementation throws (store.ts); ipam itself uses them in its in-memory test store, and
 * DATASTORE_IO for a write whose outcome it could not learn (context.ts).
 */
export class StoreError extends Error {
  readonly [brand] = true;
  override readonly name = "StoreError";
  constructor(
    readonly code: "DATASTORE_NOT_FOUND" | "DATASTORE_ALREADY_EXISTS" | "DATASTORE_CONFLICT" | "DATASTORE_IO",
    message: string,
    /** For a conflict, the object as stored now, when the store got it for free (an etcd txn's else). */
    readonly current?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A store failure after which a write may or may not have been applied: the connection dropped, the
 * request timed out, the server went away (the backends report all of these as DATASTORE_IO). A lost
 * race, a refusal or a bug is not: those are definite.
 */
export function isUnknownOutcome(e: unknown): boolean {
  return isBranded(e, "DATASTORE_IO");
}
