/**
 * The OPEN the benchmarks' light speakers send (feeder, receiver, mesh-sim): IPv4 unicast (and IPv6
 * when asked), route refresh, 4-octet AS (AS_TRANS in the 2-octet field above 65535), hold time 240.
 */
import { encodeOpen } from "../bgp/codec/open.js";

export function benchOpen(as: number, bgpId: string, opts: { ipv6?: boolean } = {}): Uint8Array {
  return encodeOpen({
    type: "OPEN",
    version: 4,
    myAs: as > 0xffff ? 23456 : as,
    holdTime: 240,
    bgpId,
    params: [
      {
        type: 2,
        capabilities: [
          { name: "multiprotocol", code: 1, afi: 1, safi: 1 },
          ...(opts.ipv6 ? [{ name: "multiprotocol" as const, code: 1 as const, afi: 2, safi: 1 }] : []),
          { name: "route-refresh", code: 2 },
          { name: "four-octet-as", code: 65, as },
        ],
      },
    ],
  });
}
