/**
 * The Kubernetes API's failures as DatastoreErrors: @kubernetes/client-node throws ApiException with
 * the HTTP code and the Status body; 404 is not-found, 409 AlreadyExists or Conflict (a stale
 * resourceVersion or failed precondition), 410 gone, 422 invalid (with the server's message, which
 * names the fields); anything else, and network failures, DATASTORE_IO. Pure.
 */
import { alreadyExists, DatastoreError, describeKey, notFound } from "../errors.js";
import type { ResourceKey } from "../types.js";

interface StatusBody {
  reason?: string;
  message?: string;
}

function statusOf(body: unknown): StatusBody {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return (body ?? {}) as StatusBody;
}

export function httpCodeOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

export function fromApiError(e: unknown, key: ResourceKey | undefined, what: string): DatastoreError {
  if (e instanceof DatastoreError) return e;
  const code = httpCodeOf(e);
  const status = statusOf((e as { body?: unknown }).body);
  const message = status.message ?? (e as Error).message;
  const name = key === undefined ? what : describeKey(key);
  switch (code) {
    case 404:
      if (key !== undefined) return notFound(key);
      break;
    case 409:
      if (status.reason === "AlreadyExists" && key !== undefined) return alreadyExists(key);
      return new DatastoreError("DATASTORE_CONFLICT", `update conflict: ${name}: ${message}`, key);
    case 410:
      return new DatastoreError(
        "DATASTORE_GONE",
        `${name}: ${message}; list again and watch from its revision`,
        key,
      );
    case 422:
    case 400:
      return new DatastoreError("DATASTORE_INVALID", `${name}: ${message}`, key);
  }
  return new DatastoreError(
    "DATASTORE_IO",
    `kubernetes: ${what}: ${code !== undefined ? `HTTP ${code}: ` : ""}${message}`,
    key,
    { cause: e },
  );
}
