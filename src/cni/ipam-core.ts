/**
 * The IPAM half of a CNI call, in process (what `tabby-ipam` and `tabby-cni` with `ipam.type`
 * tabby-ipam or calico-ipam both run): assign under the handle `<network>.<containerID>` with Calico's
 * attributes, release by that handle and by the legacy `<namespace>.<pod>`. A failure part-way (the IPv6
 * address after the IPv4 one) releases the whole handle, so an ADD that fails holds nothing. Errors
 * become CNI errors: a datastore that cannot be reached is 11 (try again), a pool or address the
 * request names wrongly is 7.
 */
import type { Ipam } from "../../ipam/client.js";
import { isIpamError } from "../../ipam/errors.js";
import { isTabbyError } from "../util/errors.js";
import type { AddressRequest } from "./address-request.js";
import { CNI_CODE, CniError } from "./errors.js";

export interface IpamIdentity {
  readonly network: string;
  readonly containerId: string;
  readonly node: string;
  readonly pod?: string;
  readonly namespace?: string;
}

export interface AssignedCidr {
  /** With the block's prefix (`10.244.1.5/26`) from auto-assignment, /32 or /128 for an exact one. */
  readonly cidr: string;
  readonly address: string;
  readonly family: 4 | 6;
}

export const handleOf = (id: Pick<IpamIdentity, "network" | "containerId">) =>
  `${id.network}.${id.containerId}`;

export function ipamCniError(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (isTabbyError(e, "DATASTORE_IO") || isTabbyError(e, "DATASTORE_GONE"))
    return new CniError(CNI_CODE.tryAgainLater, `${what}: the datastore cannot be reached`, message, {
      cause: e,
    });
  if (
    isIpamError(e, "IPAM_POOL_NOT_FOUND") ||
    isIpamError(e, "IPAM_NOT_IN_POOL") ||
    isIpamError(e, "IPAM_INVALID_REQUEST")
  )
    return new CniError(CNI_CODE.invalidConfig, `${what}: ${message}`, undefined, { cause: e });
  return new CniError(CNI_CODE.internal, `${what}: ${message}`, undefined, { cause: e });
}

export async function assignAddresses(
  ipam: Ipam,
  id: IpamIdentity,
  req: AddressRequest,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  now: Date,
): Promise<AssignedCidr[]> {
  const handleId = handleOf(id);
  const attrs: Record<string, string> = {
    node: id.node,
    timestamp: now.toISOString(),
    ...(id.pod !== undefined ? { pod: id.pod } : {}),
    ...(id.namespace !== undefined ? { namespace: id.namespace } : {}),
  };
  try {
    if (req.kind === "exact") {
      const out: AssignedCidr[] = [];
      for (const address of req.addresses) {
        const r = await ipam.assignIP({ address, handleId, node: id.node, attrs });
        const v6 = r.address.includes(":");
        out.push({ cidr: `${r.address}/${v6 ? 128 : 32}`, address: r.address, family: v6 ? 6 : 4 });
      }
      return out;
    }
    const r = await ipam.autoAssign({
      handleId,
      node: id.node,
      num4: req.num4,
      num6: req.num6,
      attrs,
      pools4: req.pools4,
      pools6: req.pools6,
      ...(namespaceLabels !== undefined ? { namespaceLabels } : {}),
    });
    if (r.ipv4.length < req.num4 || r.ipv6.length < req.num6) {
      const family = r.ipv4.length < req.num4 ? "IPv4" : "IPv6";
      throw new CniError(
        CNI_CODE.internal,
        `no ${family} address available for ${handleId}: the pools are exhausted`,
      );
    }
    return [
      ...r.ipv4.map((a) => ({ cidr: a.cidr, address: a.address, family: 4 as const })),
      ...r.ipv6.map((a) => ({ cidr: a.cidr, address: a.address, family: 6 as const })),
    ];
  } catch (e) {
    await ipam.releaseByHandle(handleId).catch(() => undefined);
    throw ipamCniError(e, "IPAM assignment failed");
  }
}

/** Releases both handles; one that does not exist is not an error (DEL is idempotent). */
export async function releaseAddresses(ipam: Ipam, id: IpamIdentity): Promise<string[]> {
  const released: string[] = [];
  const handles = [handleOf(id)];
  if (id.namespace !== undefined && id.pod !== undefined) handles.push(`${id.namespace}.${id.pod}`);
  for (const h of handles) {
    try {
      released.push(...(await ipam.releaseByHandle(h)));
    } catch (e) {
      if (isIpamError(e, "IPAM_HANDLE_NOT_FOUND")) continue;
      throw ipamCniError(e, `IPAM release of ${h} failed`);
    }
  }
  return released;
}

/** What CHECK finds wrong with the handle: it must hold every address the runtime's prevResult lists. */
export async function handleProblems(
  ipam: Ipam,
  handle: string,
  addresses: readonly string[],
): Promise<string[]> {
  let held: string[] = [];
  try {
    held = await ipam.ipsByHandle(handle);
  } catch (e) {
    if (!isIpamError(e, "IPAM_HANDLE_NOT_FOUND")) throw ipamCniError(e, `cannot read IPAM handle ${handle}`);
  }
  if (held.length === 0) return [`IPAM handle ${handle} holds no addresses`];
  return addresses.filter((a) => !held.includes(a)).map((a) => `IPAM handle ${handle} does not hold ${a}`);
}
