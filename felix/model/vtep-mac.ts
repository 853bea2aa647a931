/**
 * The VXLAN tunnel MAC Calico gives a node when `vxlanTunnelMACAddr` is not set: byte 0x66 ('f', a
 * locally administered unicast address) followed by the first five bytes of sha1(nodeName), or of
 * sha1(nodeName + "-v6") for the IPv6 device (calico.md §2.9). Every node derives every other node's
 * MAC the same way, so no node needs to publish it. Pure.
 */
import { createHash } from "node:crypto";
import { formatMac } from "../ip.js";

export function computeVtepMac(nodeName: string, family: 4 | 6 = 4): string {
  const digest = createHash("sha1")
    .update(family === 6 ? `${nodeName}-v6` : nodeName)
    .digest();
  const mac = new Uint8Array(6);
  mac[0] = 0x66;
  mac.set(digest.subarray(0, 5), 1);
  return formatMac(mac);
}
