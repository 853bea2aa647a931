/**
 * felix's typed errors: the failures an operator can act on (a kernel refusal with its errno and the
 * request that caused it, an interface that does not exist, two workloads claiming one address). They
 * carry the brand of src/util/errors.ts (a Symbol.for key) so `isTabbyError(e, code)` recognises them
 * without felix importing src/ (design.md). Bugs stay plain `Error`s.
 */
import { constants } from "node:os";

const brand: unique symbol = Symbol.for("tabby.error") as never;

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Aliases os.constants lists under another name first.
errnoNames.set(11, "EAGAIN");
errnoNames.set(95, "EOPNOTSUPP");

/** `EEXIST` for 17; `E<n>` for numbers the platform does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** A malformed netlink message: which structure and the byte offset where it went wrong. */
export class NetlinkDecodeError extends Error {
  readonly [brand] = true;
  override readonly name = "NetlinkDecodeError";
  readonly code = "NETLINK_DECODE";
  constructor(
    detail: string,
    readonly offset: number,
  ) {
    super(`${detail} (at byte ${offset})`);
  }
}

/**
 * The kernel refused a request (NLMSG_ERROR with a negative errno) or the socket failed. `code` is
 * `NETLINK_<ERRNO>` (`NETLINK_EEXIST`, `NETLINK_ENODEV`, ...), `request` names what was asked for
 * (`replace route 10.65.1.0/26 via 10.0.0.2 dev eth0`), `extack` is the kernel's own explanation when it
 * gave one (NETLINK_EXT_ACK).
 */
export class NetlinkError extends Error {
  readonly [brand] = true;
  override readonly name = "NetlinkError";
  readonly code: string;
  readonly errnoName: string;
  constructor(
    readonly errno: number,
    readonly request: string,
    readonly extack?: string,
  ) {
    const n = errnoName(errno);
    super(`${request}: ${n}${extack ? ` (${extack})` : ""}`);
    this.code = `NETLINK_${n}`;
    this.errnoName = n;
  }
}

export type DataplaneErrorCode =
  | "FELIX_NO_INTERFACE"
  | "FELIX_ROUTE_CONFLICT"
  | "FELIX_BAD_INPUT"
  | "FELIX_NEXT_HOP_UNRESOLVABLE"
  | "FELIX_NFT"
  | "FELIX_SYSCTL"
  | "FELIX_UNSUPPORTED";

/**
 * Desired state that cannot be programmed as asked: a route via an interface that does not exist, one
 * address wanted on two interfaces, an input that does not parse. Names the route or interface; the
 * rest of the desired state is still applied.
 */
export class DataplaneError extends Error {
  readonly [brand] = true;
  override readonly name = "DataplaneError";
  constructor(
    readonly code: DataplaneErrorCode,
    detail: string,
    readonly subject: { readonly route?: string; readonly iface?: string; readonly cidr?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}
