/**
 * Failures as the Kubernetes API server reports them: a `Status` object (meta/v1) with the HTTP code,
 * a machine-readable `reason` and `details` (k8s.io/apimachinery/pkg/api/errors: NewNotFound,
 * NewAlreadyExists, NewConflict, NewInvalid, NewResourceExpired, NewBadRequest...), so that kubectl
 * prints the messages users know and client libraries branch on the reason. Messages follow
 * apimachinery's wording. Pure.
 */

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface StatusObject {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure" | "Success";
  readonly message: string;
  readonly reason: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** What a resource is called in messages: `ippools.crd.projectcalico.org`, or `pods` in the core group. */
export interface Named {
  readonly group: string;
  readonly plural: string;
}

const qualified = (r: Named) => (r.group === "" ? r.plural : `${r.plural}.${r.group}`);

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): StatusObject {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details !== undefined ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

const details = (r: Named, name: string): StatusDetails => ({ name, group: r.group, kind: r.plural });

export const notFound = (r: Named, name: string) =>
  new ApiError(404, "NotFound", `${qualified(r)} "${name}" not found`, details(r, name));

export const alreadyExists = (r: Named, name: string) =>
  new ApiError(409, "AlreadyExists", `${qualified(r)} "${name}" already exists`, details(r, name));

export const conflict = (r: Named, name: string, why: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`,
    details(r, name),
  );

export const MODIFIED =
  "the object has been modified; please apply your changes to the latest version and try again";

export const invalid = (r: Named & { kind: string }, name: string, causes: readonly StatusCause[]) =>
  new ApiError(
    422,
    "Invalid",
    `${r.kind}${r.group === "" ? "" : `.${r.group}`} "${name}" is invalid: ${
      causes.length === 1
        ? `${causes[0]!.field}: ${causes[0]!.message}`
        : `[${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}]`
    }`,
    { name, group: r.group, kind: r.kind, causes },
  );

export const expired = (given: string, oldest: number) =>
  new ApiError(410, "Expired", `too old resource version: ${given} (${oldest})`);

export const tooLarge = (given: string, current: number) =>
  new ApiError(504, "Timeout", `Too large resource version: ${given}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export const methodNotAllowed = (method: string) =>
  new ApiError(
    405,
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource (${method})`,
  );

export const unsupportedMediaType = (type: string) =>
  new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${type})`,
  );

export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");

export const pathNotFound = (path: string) =>
  new ApiError(404, "NotFound", `the server could not find the requested resource (${path})`);
