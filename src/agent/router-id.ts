/**
 * The BGP router ID this node uses, as confd decides it (confd/pkg/backends/calico/bgp_processor.go):
 * CALICO_ROUTER_ID=hash derives it from the node name (confd/pkg/resource/template/util.go HashToIPv4),
 * any other non-empty value is used as written, and otherwise it is the node's IPv4 address (also for an
 * IPv6-only session set, since a router ID is 4 octets even in MP-BGP, RFC 4271 4.2). Pure.
 */
import { createHash } from "node:crypto";
import { formatIp, parseIp } from "../api/net.js";

/**
 * HashToIPv4: the first 4 bytes of SHA-256(nodeName) as a dotted quad; a first octet above 223 (class D/E,
 * not usable as a router ID) has 32 subtracted.
 */
export function hashRouterId(nodeName: string): string {
  const b = createHash("sha256").update(nodeName, "utf8").digest();
  const first = b[0]! > 223 ? b[0]! - 32 : b[0]!;
  return `${first}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * `setting` is CALICO_ROUTER_ID as parsed by settings.ts ("hash", a dotted quad, or undefined); `ipv4` is
 * the node's IPv4 address, with or without a prefix length. Undefined when there is nothing to use: the
 * caller must then refuse to start BGP (BIRD would refuse its config too).
 */
export function resolveRouterId(
  setting: string | undefined,
  ipv4: string | undefined,
  nodeName: string,
): string | undefined {
  if (setting === "hash") return hashRouterId(nodeName);
  if (setting !== undefined && setting !== "") return setting;
  if (ipv4 === undefined || ipv4 === "") return undefined;
  const ip = parseIp(ipv4.split("/")[0]!);
  return ip !== undefined && ip.family === 4 ? formatIp(ip) : undefined;
}
