/**
 * The typed failures every datastore backend reports, so callers branch on `isTabbyError(e, code)` and
 * never on a backend's own messages: not found, already exists, conflict (a stale resourceVersion), gone
 * (a watch revision older than what is retained), invalid (the Kubernetes API server refused the object), locked (another process owns the embedded store),
 * unsupported (a backend that has not landed yet) and I/O. Messages follow libcalico-go's errors package
 * (`resource does not exist: IPPool(pool-1)`), which is what calicoctl users know.
 */
import { TabbyError } from "../util/errors.js";
import type { ResourceKey } from "./types.js";

export type DatastoreErrorCode =
  | "DATASTORE_NOT_FOUND"
  | "DATASTORE_ALREADY_EXISTS"
  | "DATASTORE_CONFLICT"
  | "DATASTORE_GONE"
  | "DATASTORE_INVALID"
  | "DATASTORE_LOCKED"
  | "DATASTORE_UNSUPPORTED"
  | "DATASTORE_IO";

export class DatastoreError extends TabbyError {
  override readonly name = "DatastoreError";

  constructor(
    override readonly code: DatastoreErrorCode,
    detail: string,
    readonly key?: ResourceKey,
    options?: { cause?: unknown },
  ) {
    super(code, detail, {}, options);
  }
}

/** `IPPool(pool-1)` or `WorkloadEndpoint(default/n1-k8s-pod-eth0)`, as libcalico-go names resources. */
export function describeKey(key: ResourceKey): string {
  return `${key.kind}(${key.namespace ? `${key.namespace}/` : ""}${key.name})`;
}

export const notFound = (key: ResourceKey) =>
  new DatastoreError("DATASTORE_NOT_FOUND", `resource does not exist: ${describeKey(key)}`, key);

export const alreadyExists = (key: ResourceKey) =>
  new DatastoreError("DATASTORE_ALREADY_EXISTS", `resource already exists: ${describeKey(key)}`, key);

export const conflict = (key: ResourceKey, given: string, latest: string) =>
  new DatastoreError(
    "DATASTORE_CONFLICT",
    `update conflict: ${describeKey(key)}: resource version ${given} is out of date (latest: ${latest}); get it again and reapply`,
    key,
  );
