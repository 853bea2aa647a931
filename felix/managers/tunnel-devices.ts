/**
 * The tunnel devices felix owns (calico.md §2.8-2.9). vxlan.calico: VNI, UDP port, parent interface,
 * source IP and VTEP MAC as computed; learning off; any mismatch in those means delete and recreate, as
 * Calico's vxlan_mgr does, while MTU and up/down are fixed in place. tunl0: the kernel's IP-in-IP fallback
 * device, created if missing, given its MTU and /32 tunnel address. Each device carries exactly its
 * tunnel address (other IPv4 addresses on it are removed). vxlanMismatch is pure; ensure* write.
 */
import type { Logger } from "pino";
import { DataplaneError, NetlinkError } from "../errors.js";
import { IPIP_IFACE, VXLAN_IFACE } from "../model/compute-desired.js";
import type { DesiredIpip, DesiredVxlan } from "../model/desired.js";
import type { Addr } from "../netlink/addr-codec.js";
import { isUp, type Link } from "../netlink/link-codec.js";
import type { RtnetlinkApi } from "../netlink/rtnetlink.js";

/** Why an existing VXLAN device cannot be kept (and must be recreated), or undefined if it can. */
export function vxlanMismatch(
  have: Link,
  want: DesiredVxlan,
  parentIndex: number | undefined,
): string | undefined {
  if (have.kind !== "vxlan") return `is a ${have.kind ?? "device of unknown kind"}, not vxlan`;
  const v = have.vxlan ?? {};
  if (v.vni !== want.vni) return `VNI ${v.vni} != ${want.vni}`;
  if ((v.port ?? 0) !== want.port) return `port ${v.port} != ${want.port}`;
  if (v.local !== want.localIp) return `source ${v.local} != ${want.localIp}`;
  if (parentIndex !== undefined && v.parentIndex !== parentIndex)
    return `parent #${v.parentIndex} != #${parentIndex}`;
  if (v.learning !== false) return "learning is on";
  if (have.address !== want.mac) return `MAC ${have.address} != ${want.mac}`;
  return undefined;
}

export interface DeviceResult {
  /** True when links changed (created, deleted, renamed): the caller should re-read them. */
  readonly changed: boolean;
  readonly errors: readonly Error[];
}

/** Keeps exactly `address`/32 (IPv4) on the device. */
async function syncTunnelAddress(
  nl: RtnetlinkApi,
  link: Link,
  addrs: readonly Addr[],
  address: string | undefined,
): Promise<void> {
  const mine = addrs.filter((a) => a.index === link.index && a.family === 4);
  for (const a of mine) {
    if (a.address !== address || a.prefixLen !== 32) {
      await nl.addr("delete", { index: link.index, address: a.address, prefixLen: a.prefixLen }, link.name);
    }
  }
  if (address !== undefined && !mine.some((a) => a.address === address && a.prefixLen === 32)) {
    await nl.addr("replace", { index: link.index, address, prefixLen: 32 }, link.name);
  }
}

async function fixInPlace(nl: RtnetlinkApi, link: Link, mtu: number): Promise<void> {
  if (link.mtu !== mtu) await nl.setLink(link.index, { mtu }, link.name);
  if (!isUp(link)) await nl.setLink(link.index, { up: true }, link.name);
}

export async function ensureVxlan(
  nl: RtnetlinkApi,
  links: readonly Link[],
  addrs: readonly Addr[],
  want: DesiredVxlan | undefined,
  logger: Logger,
): Promise<DeviceResult> {
  const name = want?.name ?? VXLAN_IFACE;
  let have = links.find((l) => l.name === name);
  try {
    if (want === undefined) {
      if (have?.kind !== "vxlan") return { changed: false, errors: [] };
      logger.info({ iface: name }, "VXLAN no longer used: deleting device");
      await nl.delLink(have.index, name);
      return { changed: true, errors: [] };
    }
    const parentIndex = want.parentIface && links.find((l) => l.name === want.parentIface)?.index;
    if (want.parentIface !== undefined && parentIndex === undefined) {
      return {
        changed: false,
        errors: [
          new DataplaneError(
            "FELIX_NO_INTERFACE",
            `${name}: parent interface ${want.parentIface} does not exist`,
            {
              iface: want.parentIface,
            },
          ),
        ],
      };
    }
    let changed = false;
    const reason = have && vxlanMismatch(have, want, parentIndex || undefined);
    if (have !== undefined && reason !== undefined) {
      logger.warn({ iface: name, reason }, "VXLAN device does not match: recreating");
      await nl.delLink(have.index, name);
      have = undefined;
    }
    if (have === undefined) {
      await nl.newLink({
        name,
        kind: "vxlan",
        address: want.mac,
        mtu: want.mtu,
        up: true,
        vxlan: {
          vni: want.vni,
          port: want.port,
          local: want.localIp,
          learning: false,
          ...(parentIndex ? { parentIndex } : {}),
        },
      });
      logger.info({ iface: name, vni: want.vni, port: want.port, mac: want.mac }, "VXLAN device created");
      have = (await nl.dumpLinks()).find((l) => l.name === name);
      if (have === undefined) throw new Error(`${name} vanished right after creation`);
      changed = true;
    } else {
      await fixInPlace(nl, have, want.mtu);
    }
    await syncTunnelAddress(nl, have, addrs, want.address);
    return { changed, errors: [] };
  } catch (e) {
    if (e instanceof NetlinkError || e instanceof DataplaneError) return { changed: true, errors: [e] };
    throw e;
  }
}

export async function ensureIpip(
  nl: RtnetlinkApi,
  links: readonly Link[],
  addrs: readonly Addr[],
  want: DesiredIpip | undefined,
  logger: Logger,
): Promise<DeviceResult> {
  let have = links.find((l) => l.name === IPIP_IFACE);
  try {
    if (want === undefined) {
      if (have !== undefined) await syncTunnelAddress(nl, have, addrs, undefined);
      return { changed: false, errors: [] };
    }
    let changed = false;
    if (have === undefined) {
      try {
        await nl.newLink({ name: IPIP_IFACE, kind: "ipip" });
      } catch (e) {
        if (e instanceof NetlinkError && e.errnoName === "EEXIST") {
          // The ipip module's fallback device appeared meanwhile.
        } else if (e instanceof NetlinkError && (e.errnoName === "EOPNOTSUPP" || e.errnoName === "ENOTSUP")) {
          throw new DataplaneError(
            "FELIX_UNSUPPORTED",
            `IP-in-IP pool in use but this kernel has no ipip support (${e.extack ?? e.errnoName})`,
            { iface: IPIP_IFACE },
            { cause: e },
          );
        } else throw e;
      }
      logger.info({ iface: IPIP_IFACE }, "IP-in-IP device created");
      have = (await nl.dumpLinks()).find((l) => l.name === IPIP_IFACE);
      if (have === undefined) throw new Error("tunl0 vanished right after creation");
      changed = true;
    }
    await fixInPlace(nl, have, want.mtu);
    await syncTunnelAddress(nl, have, addrs, want.address);
    return { changed, errors: [] };
  } catch (e) {
    if (e instanceof NetlinkError || e instanceof DataplaneError) return { changed: true, errors: [e] };
    throw e;
  }
}
