/**
 * The node's local workload peering address on the host side of each workload that is a BGP peer of this
 * node (BGPConfiguration localWorkloadPeeringIPV4/6, BGPPeer localWorkloadSelector): Calico's endpoint
 * manager (ensureLocalBGPPeerIPOnInterface) hands it to its linkaddrs manager, which adds `<ip>/32` or
 * `/128` to the cali* with scope link (RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL) and removes it when the
 * interface stops being a peer's or the configured address changes.
 * Unlike Calico's linkaddrs (which removes every other address of the family on the interface, except
 * the kernel's fe80::/64), felix removes only addresses it owns: a /32 or /128 scope-link address on a
 * workload interface that it wanted there in this process or that is a configured peering IP, so a
 * restart over correct state writes nothing. diffLinkAddresses is pure; LinkAddresses writes.
 */
import type { Logger } from "pino";
import type { NetlinkError } from "../errors.js";
import type { DesiredLinkAddress } from "../model/desired.js";
import type { Addr } from "../netlink/addr-codec.js";
import { RT_SCOPE } from "../netlink/constants.js";
import type { Link } from "../netlink/link-codec.js";
import type { RtnetlinkApi } from "../netlink/rtnetlink.js";

/** One address write: on which interface, and for adds who wants it. */
export interface LinkAddrWrite {
  readonly index: number;
  readonly ifName: string;
  readonly address: string;
  readonly prefixLen: number;
  readonly owner?: string;
}

export interface LinkAddrPlan {
  /** Removed first: unwanted owned addresses, and a wanted address held with another prefix or scope. */
  readonly remove: readonly LinkAddrWrite[];
  readonly add: readonly LinkAddrWrite[];
}

export interface LinkAddrResult {
  readonly added: number;
  readonly removed: number;
  readonly errors: readonly NetlinkError[];
}

const hostLen = (a: Pick<Addr, "family">): number => (a.family === 4 ? 32 : 128);

/**
 * What to write so that each wanted address is on its interface (`/32` or `/128`, scope link) and no
 * owned address is anywhere else. `owned` are canonical IPs; an address is felix's only when it is one of
 * them, a host prefix, scope link, not point-to-point, and on a workload interface. Wanted addresses on
 * interfaces that do not exist wait for the interface (the pass re-runs on link events).
 */
export function diffLinkAddresses(
  desired: readonly DesiredLinkAddress[],
  owned: ReadonlySet<string>,
  actual: readonly Addr[],
  links: readonly Link[],
  isWorkloadIface: (name: string) => boolean,
): LinkAddrPlan {
  const byName = new Map(links.map((l) => [l.name, l.index]));
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const remove: LinkAddrWrite[] = [];
  const add: LinkAddrWrite[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    const index = byName.get(d.ifName);
    if (index === undefined) continue;
    wanted.add(`${index}|${d.address}`);
    const same = actual.filter((a) => a.index === index && a.address === d.address);
    const exact = same.some(
      (a) => a.prefixLen === d.prefixLen && a.scope === RT_SCOPE.LINK && a.peer === undefined,
    );
    if (exact) continue;
    // The address is there as something else (`ip addr add <ip>/24`, scope global): the kernel keeps the
    // scope of an existing address even on NLM_F_REPLACE, so it goes and comes back as Calico's.
    for (const a of same)
      remove.push({ index, ifName: d.ifName, address: a.address, prefixLen: a.prefixLen });
    add.push({ index, ifName: d.ifName, address: d.address, prefixLen: d.prefixLen, owner: d.owner });
  }
  for (const a of actual) {
    const ifName = byIndex.get(a.index);
    if (ifName === undefined || !isWorkloadIface(ifName)) continue;
    if (a.scope !== RT_SCOPE.LINK || a.prefixLen !== hostLen(a) || a.peer !== undefined) continue;
    if (!owned.has(a.address) || wanted.has(`${a.index}|${a.address}`)) continue;
    remove.push({ index: a.index, ifName, address: a.address, prefixLen: a.prefixLen });
  }
  return { remove, add };
}

const gone = (e: NetlinkError): boolean => e.errnoName === "ENODEV" || e.errnoName === "EADDRNOTAVAIL";

/**
 * Converges the peering addresses each pass from the pass's link and address dumps. Remembers the
 * addresses it was asked for until they are gone from every interface, so a changed configured address
 * or a workload that stopped peering has its old address removed even when nothing names it any more.
 */
export class LinkAddresses {
  private readonly remembered = new Set<string>();

  constructor(
    private readonly nl: RtnetlinkApi,
    private readonly isWorkloadIface: (name: string) => boolean,
    private readonly logger: Logger,
  ) {}

  async apply(
    desired: {
      readonly linkAddresses: readonly DesiredLinkAddress[];
      readonly ownedLinkAddresses: readonly string[];
    },
    links: readonly Link[],
    addrs: readonly Addr[],
  ): Promise<LinkAddrResult> {
    for (const d of desired.linkAddresses) this.remembered.add(d.address);
    const owned = new Set([...desired.ownedLinkAddresses, ...this.remembered]);
    const plan = diffLinkAddresses(desired.linkAddresses, owned, addrs, links, this.isWorkloadIface);
    const errors: NetlinkError[] = [];
    const stillThere = new Set<string>();
    let added = 0;
    let removed = 0;
    for (const w of plan.remove) {
      try {
        await this.nl.addr(
          "delete",
          { index: w.index, address: w.address, prefixLen: w.prefixLen },
          w.ifName,
        );
        removed++;
        this.logger.info(
          { iface: w.ifName, address: `${w.address}/${w.prefixLen}` },
          "peering address removed",
        );
      } catch (e) {
        // The interface went, or the address with it: nothing left to remove.
        if (gone(e as NetlinkError)) continue;
        errors.push(e as NetlinkError);
        stillThere.add(w.address);
      }
    }
    for (const w of plan.add) {
      try {
        await this.nl.addr(
          "add",
          { index: w.index, address: w.address, prefixLen: w.prefixLen, scope: RT_SCOPE.LINK },
          w.ifName,
        );
        added++;
        this.logger.info(
          { iface: w.ifName, address: `${w.address}/${w.prefixLen}`, owner: w.owner },
          "peering address assigned",
        );
      } catch (e) {
        // ENODEV: the veth went since the dump; its link event brings another pass.
        if ((e as NetlinkError).errnoName !== "ENODEV") errors.push(e as NetlinkError);
      }
    }
    // Every owned address not wanted now was removed above, unless the removal failed.
    const want = new Set(desired.linkAddresses.map((d) => d.address));
    for (const a of [...this.remembered]) if (!want.has(a) && !stillThere.has(a)) this.remembered.delete(a);
    return { added, removed, errors };
  }
}
