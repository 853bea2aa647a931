/**
 * Which addresses a pod asks for, from Calico's annotations (calico-bgp-cni.md §3.2): on the pod
 * `cni.projectcalico.org/ipAddrs` (exact addresses through IPAM) or `ipAddrsNoIpam` (always refused: tabby
 * does not bypass IPAM; Calico needs `feature_control.ip_addrs_no_ipam` for it; never both), `ipv4pools` / `ipv6pools` on the pod beating the
 * same on its namespace, `ipFamilies`; then `IP=` in CNI_ARGS; then the config's `ipam` section.
 * A malformed annotation is code 7 naming it. Pure.
 */
import { CNI_CODE, CniError } from "./errors.js";
import type { NetConf } from "./netconf.js";

export const ANN_IPV4_POOLS = "cni.projectcalico.org/ipv4pools";
export const ANN_IPV6_POOLS = "cni.projectcalico.org/ipv6pools";
export const ANN_IP_ADDRS = "cni.projectcalico.org/ipAddrs";
export const ANN_IP_ADDRS_NO_IPAM = "cni.projectcalico.org/ipAddrsNoIpam";
export const ANN_IP_FAMILIES = "cni.projectcalico.org/ipFamilies";

export type AddressRequest =
  | {
      readonly kind: "auto";
      readonly num4: number;
      readonly num6: number;
      readonly pools4: readonly string[];
      readonly pools6: readonly string[];
    }
  /** Exact addresses, assigned through IPAM (ipAddrs or IP=). */
  | { readonly kind: "exact"; readonly addresses: readonly string[] };

type Annotations = Readonly<Record<string, string>>;

function jsonStrings(ann: Annotations, key: string, where: string): string[] | undefined {
  const text = ann[key];
  if (text === undefined || text.trim() === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CniError(
      CNI_CODE.invalidConfig,
      `${where} annotation ${key} is not JSON: ${JSON.stringify(text)}`,
    );
  }
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string"))
    throw new CniError(
      CNI_CODE.invalidConfig,
      `${where} annotation ${key} must be a JSON list of strings, got ${JSON.stringify(text)}`,
    );
  return v as string[];
}

const looksLikeIp = (s: string) => /^[0-9.]+$/.test(s) || (s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s));

export function addressRequest(
  conf: NetConf,
  pod: Annotations,
  namespace: Annotations,
  cniArgs: ReadonlyMap<string, string>,
): AddressRequest {
  const exact = jsonStrings(pod, ANN_IP_ADDRS, "pod");
  const noIpam = jsonStrings(pod, ANN_IP_ADDRS_NO_IPAM, "pod");
  if (exact !== undefined && noIpam !== undefined)
    throw new CniError(
      CNI_CODE.invalidConfig,
      `pod has both ${ANN_IP_ADDRS} and ${ANN_IP_ADDRS_NO_IPAM}; use one`,
    );
  if (noIpam !== undefined)
    throw new CniError(
      CNI_CODE.unsupportedField,
      `pod annotation ${ANN_IP_ADDRS_NO_IPAM} is not supported by tabby-cni`,
      "addresses outside IPAM would be invisible to the pool's accounting; use ipAddrs instead",
    );
  const fromArgs = cniArgs.get("IP");
  const addresses =
    exact ??
    (fromArgs
      ? fromArgs
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : undefined);
  if (addresses !== undefined) {
    for (const a of addresses) {
      if (!looksLikeIp(a))
        throw new CniError(
          CNI_CODE.invalidConfig,
          `${exact ? `pod annotation ${ANN_IP_ADDRS}` : "CNI_ARGS IP"}: ${JSON.stringify(a)} is not an IP address`,
        );
    }
    if (addresses.length === 0)
      throw new CniError(
        CNI_CODE.invalidConfig,
        `${exact ? `pod annotation ${ANN_IP_ADDRS}` : "CNI_ARGS IP"} lists no address`,
      );
    return { kind: "exact", addresses };
  }
  let v4 = conf.ipam.assignIpv4;
  let v6 = conf.ipam.assignIpv6;
  const families = jsonStrings(pod, ANN_IP_FAMILIES, "pod");
  if (families !== undefined) {
    for (const f of families)
      if (f !== "IPv4" && f !== "IPv6")
        throw new CniError(
          CNI_CODE.invalidConfig,
          `pod annotation ${ANN_IP_FAMILIES}: ${JSON.stringify(f)} is not IPv4 or IPv6`,
        );
    v4 = families.includes("IPv4");
    v6 = families.includes("IPv6");
  }
  const pools4 =
    jsonStrings(pod, ANN_IPV4_POOLS, "pod") ??
    jsonStrings(namespace, ANN_IPV4_POOLS, "namespace") ??
    conf.ipam.ipv4Pools;
  const pools6 =
    jsonStrings(pod, ANN_IPV6_POOLS, "pod") ??
    jsonStrings(namespace, ANN_IPV6_POOLS, "namespace") ??
    conf.ipam.ipv6Pools;
  if (!v4 && !v6)
    throw new CniError(
      CNI_CODE.invalidConfig,
      "ipam: neither assign_ipv4 nor assign_ipv6 is on: no address to give the pod",
    );
  return { kind: "auto", num4: v4 ? 1 : 0, num6: v6 ? 1 : 0, pools4, pools6 };
}
