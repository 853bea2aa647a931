/**
 * This node's BGP addresses from IP / IP6 (startup.go configureIPsAndSubnets): `autodetect` runs the
 * autodetection method (host-interfaces.ts); left unset, it detects only when the Node has no address
 * yet; `none` keeps what the Node has; an explicit address takes its interface's prefix length. The
 * Node read first also gives kubernetes-internal-ip its InternalIP (the Kubernetes Node's status).
 */

import type { Resource } from "../api/meta.js";
import type { IpFamily } from "../api/net.js";
import type { NodeSpec } from "../api/node.js";
import { resolveConfiguredAddress } from "./autodetect.js";
import { detectAddress, listHostInterfaces } from "./host-interfaces.js";
import type { AgentSettings } from "./settings.js";

/** `address/len`, or undefined to keep what the Node has. */
export async function nodeAddress(
  s: AgentSettings,
  family: IpFamily,
  existing: Resource | undefined,
  netnsPath?: string,
): Promise<string | undefined> {
  const setting = family === 4 ? s.ip : s.ip6;
  const spec = existing?.spec as NodeSpec | undefined;
  const stored = family === 4 ? spec?.bgp?.ipv4Address : spec?.bgp?.ipv6Address;
  if (setting.mode === "none") return undefined;
  if (setting.mode === "address") {
    const ifs = await listHostInterfaces(netnsPath);
    return resolveConfiguredAddress(setting.address, family, ifs).cidr;
  }
  if (setting.keepExisting && stored) return undefined;
  const k8s = (spec?.addresses ?? [])
    .filter((a) => a.type === "InternalIP" || a.type === "ExternalIP")
    .map((a) => ({ type: a.type!, address: a.address }));
  const found = await detectAddress(family === 4 ? s.ipMethod : s.ip6Method, family, {
    ...(existing !== undefined ? { k8sNodeAddresses: k8s } : {}),
    ...(netnsPath !== undefined ? { netnsPath } : {}),
  });
  return found.cidr;
}
