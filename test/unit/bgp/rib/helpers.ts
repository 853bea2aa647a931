import type { PathAttribute } from "../../../../bgp/codec/attributes.js";
import type { PeerRef } from "../../../../bgp/rib/loc-rib.js";
import { buildPathAttrs, type PathAttrs } from "../../../../bgp/rib/path-attrs.js";

export function peer(
  id: number,
  type: PeerRef["type"],
  address: string,
  routerId = address,
  rrClient = false,
): PeerRef {
  return { id, type, address, routerId, rrClient };
}

export interface AttrOpts {
  asPath?: number[];
  origin?: 0 | 1 | 2;
  med?: number;
  localPref?: number;
  communities?: number[];
  originatorId?: string;
  clusterList?: string[];
  nextHop?: string;
  extra?: PathAttribute[];
}

export function attrs(o: AttrOpts = {}): PathAttrs {
  const list: PathAttribute[] = [
    { kind: "origin", code: 1, flags: 0x40, origin: o.origin ?? 0 },
    {
      kind: "as-path",
      code: 2,
      flags: 0x40,
      segments: o.asPath && o.asPath.length > 0 ? [{ type: 2, asns: o.asPath }] : [],
    },
  ];
  if (o.med !== undefined) list.push({ kind: "med", code: 4, flags: 0x80, med: o.med });
  if (o.localPref !== undefined)
    list.push({ kind: "local-pref", code: 5, flags: 0x40, localPref: o.localPref });
  if (o.communities) list.push({ kind: "communities", code: 8, flags: 0xc0, communities: o.communities });
  if (o.originatorId)
    list.push({ kind: "originator-id", code: 9, flags: 0x80, originatorId: o.originatorId });
  if (o.clusterList) list.push({ kind: "cluster-list", code: 10, flags: 0x80, clusterList: o.clusterList });
  list.push(...(o.extra ?? []));
  return buildPathAttrs(list, o.nextHop ?? "10.0.0.9");
}
