/**
 * Per-interface and global sysctls felix sets, as Calico does (calico.md §2.3): on a workload interface
 * route_localnet, proxy_arp, proxy_delay=0 and forwarding for IPv4; proxy_ndp and forwarding for IPv6;
 * accept_ra=0 always. rp_filter is left at the value the interface inherited from `default` (Calico
 * writes that same value back). Writes go to /proc/sys of the target namespace: in-process through the
 * addon's helper thread when felix programs another namespace, plain file writes otherwise.
 */
import { writeFile } from "node:fs/promises";
import { DataplaneError } from "../errors.js";
import { loadNative } from "../netlink/native.js";

export interface Sysctls {
  /** `path` relative to /proc/sys, slash-separated (`net/ipv4/conf/cali1/proxy_arp`). */
  set(path: string, value: string): Promise<void>;
}

export function workloadSysctls(ifName: string, f: { ipv4: boolean; ipv6: boolean }): [string, string][] {
  const out: [string, string][] = [];
  if (f.ipv4) {
    out.push(
      [`net/ipv4/conf/${ifName}/route_localnet`, "1"],
      [`net/ipv4/neigh/${ifName}/proxy_delay`, "0"],
      [`net/ipv4/conf/${ifName}/proxy_arp`, "1"],
      [`net/ipv4/conf/${ifName}/forwarding`, "1"],
    );
  }
  if (f.ipv6) {
    out.push([`net/ipv6/conf/${ifName}/proxy_ndp`, "1"], [`net/ipv6/conf/${ifName}/forwarding`, "1"]);
  }
  out.push([`net/ipv6/conf/${ifName}/accept_ra`, "0"]);
  return out;
}

/** IPForwarding=Enabled. */
export function globalSysctls(f: { ipv6: boolean }): [string, string][] {
  return [
    ["net/ipv4/ip_forward", "1"],
    ...(f.ipv6 ? ([["net/ipv6/conf/all/forwarding", "1"]] as [string, string][]) : []),
  ];
}

export function procSysctls(netnsPath?: string): Sysctls {
  if (netnsPath === undefined) {
    return {
      async set(path, value) {
        try {
          await writeFile(`/proc/sys/${path}`, value);
        } catch (e) {
          throw new DataplaneError(
            "FELIX_SYSCTL",
            `sysctl ${path.replaceAll("/", ".")}=${value}: ${(e as Error).message}`,
          );
        }
      },
    };
  }
  const native = loadNative();
  return {
    async set(path, value) {
      try {
        native.writeSysctl(netnsPath, path, value);
      } catch (e) {
        throw new DataplaneError(
          "FELIX_SYSCTL",
          `sysctl ${path.replaceAll("/", ".")}=${value}: ${(e as Error).message}`,
        );
      }
    },
  };
}
