/**
 * MTUs as Calico computes them (int_dataplane.go findHostMTU / ConfigureDefaultMTUs, calico.md §2.14):
 * the host MTU is the smallest MTU among up interfaces whose names match MTUIfacePattern, 1460 when none
 * do; IP-in-IP costs 20 bytes, VXLAN over IPv4 50, over IPv6 70; a pod gets the smallest MTU of the
 * encapsulations in use, else the host's. Pure.
 */
import { IFF } from "../netlink/constants.js";

export const FALLBACK_HOST_MTU = 1460;
export const IPIP_OVERHEAD = 20;
export const VXLAN_OVERHEAD = 50;
export const VXLAN_V6_OVERHEAD = 70;

export interface MtuLink {
  readonly name: string;
  readonly flags: number;
  readonly mtu?: number;
}

/** Smallest MTU of the matching up interfaces; `undefined` means none matched (use the fallback). */
export function computeHostMtu(links: readonly MtuLink[], pattern: RegExp): number | undefined {
  let best: number | undefined;
  for (const l of links) {
    if ((l.flags & IFF.UP) === 0 || l.mtu === undefined || !pattern.test(l.name)) continue;
    if (best === undefined || l.mtu < best) best = l.mtu;
  }
  return best;
}

export function computeEncapMtus(
  hostMtu: number,
  configured: { readonly vxlanMtu: number; readonly ipipMtu: number },
): { vxlan: number; ipip: number } {
  return {
    vxlan: configured.vxlanMtu > 0 ? configured.vxlanMtu : hostMtu - VXLAN_OVERHEAD,
    ipip: configured.ipipMtu > 0 ? configured.ipipMtu : hostMtu - IPIP_OVERHEAD,
  };
}
