/**
 * CNI results: the versions we speak, the ADD result in the shape runtimes and chained plugins expect
 * (calico-bgp-cni.md §3.4), and its spelling for older configs (0.3.x/0.4.0 results carry
 * `ips[].version`; 1.0 dropped it). Pure.
 */
import { CNI_CODE, CniError } from "./errors.js";

export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

/** The config's cniVersion, or code 1 naming it and what we support. */
export function checkVersion(v: string): string {
  if ((SUPPORTED_VERSIONS as readonly string[]).includes(v)) return v;
  throw new CniError(
    CNI_CODE.incompatibleVersion,
    v === ""
      ? "network config: cniVersion is missing"
      : `network config: cniVersion ${JSON.stringify(v)} is not supported`,
    `supported versions: ${SUPPORTED_VERSIONS.join(", ")}`,
  );
}

export function versionResult(cniVersion: string): object {
  return { cniVersion: cniVersion || "1.1.0", supportedVersions: [...SUPPORTED_VERSIONS] };
}

export interface ResultInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox?: string;
}

export interface ResultIp {
  /** CIDR. */
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

export interface ResultRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly ResultInterface[];
  readonly ips: readonly ResultIp[];
  readonly routes?: readonly ResultRoute[];
  readonly dns: Readonly<Record<string, unknown>>;
}

const isV6 = (cidr: string) => cidr.includes(":");

/** The result as the config's version spells it. */
export function encodeResult(r: CniResult): Record<string, unknown> {
  const pre1 = r.cniVersion.startsWith("0.");
  const mtuAllowed = r.cniVersion === "1.1.0";
  return {
    cniVersion: r.cniVersion,
    ...(r.interfaces
      ? {
          interfaces: r.interfaces.map((i) => {
            if (mtuAllowed || i.mtu === undefined) return i;
            const { mtu: _mtu, ...rest } = i;
            return rest;
          }),
        }
      : {}),
    ips: r.ips.map((ip) => (pre1 ? { version: isV6(ip.address) ? "6" : "4", ...ip } : ip)),
    ...(r.routes && r.routes.length > 0 ? { routes: r.routes } : {}),
    dns: r.dns,
  };
}

/** An IPAM plugin's result read back (from `tabby-ipam` or another IPAM plugin), code 6 if malformed. */
export function parseIpamResult(text: string, plugin: string): { ips: ResultIp[]; routes: ResultRoute[] } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CniError(CNI_CODE.decode, `IPAM plugin ${plugin} printed no JSON`, (e as Error).message);
  }
  const o = v as { ips?: unknown; routes?: unknown; code?: unknown; msg?: unknown; details?: unknown };
  if (typeof o?.code === "number") {
    throw new CniError(
      o.code,
      `IPAM plugin ${plugin}: ${String(o.msg ?? "failed")}`,
      typeof o.details === "string" ? o.details : undefined,
    );
  }
  if (!Array.isArray(o?.ips))
    throw new CniError(CNI_CODE.decode, `IPAM plugin ${plugin}: result has no ips list`);
  const ips = (o.ips as unknown[]).map((ip, i) => {
    const a = (ip as { address?: unknown })?.address;
    if (typeof a !== "string")
      throw new CniError(CNI_CODE.decode, `IPAM plugin ${plugin}: ips[${i}].address is not a string`);
    const gw = (ip as { gateway?: unknown }).gateway;
    return { address: a, ...(typeof gw === "string" ? { gateway: gw } : {}) };
  });
  const routes = Array.isArray(o.routes)
    ? (o.routes as { dst?: unknown; gw?: unknown }[])
        .filter((r) => typeof r?.dst === "string")
        .map((r) => ({ dst: r.dst as string, ...(typeof r.gw === "string" ? { gw: r.gw } : {}) }))
    : [];
  return { ips, routes };
}
