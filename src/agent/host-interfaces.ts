/**
 * The I/O half of IP autodetection (the pure half is autodetect.ts): list the host's interfaces and ask
 * the kernel which source address it would use towards a destination, as Calico's reachaddr.go does with
 * a UDP "connect" to port 80 (no packet is sent; the kernel only picks a route and a source).
 * In the agent's own network namespace this uses os.networkInterfaces() and node:dgram; for another
 * namespace (a path such as /var/run/netns/x or /proc/<pid>/ns/net) it runs `nsenter --net=... ip -j`,
 * because a Node process cannot enter a namespace itself. Startup only; not for hot paths.
 */
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import type { IpFamily } from "../api/net.js";
import { parseIp } from "../api/net.js";
import {
  AutodetectError,
  chooseAddress,
  type DetectedAddress,
  formatMethod,
  type HostInterface,
  type K8sNodeAddress,
  methodVariable,
} from "./autodetect.js";
import type { AutodetectMethod } from "./settings.js";

const run = promisify(execFile);

/** The interfaces with their addresses, in ifindex order where the index is known. */
export async function listHostInterfaces(netnsPath?: string): Promise<HostInterface[]> {
  if (netnsPath !== undefined) {
    const { stdout } = await run("nsenter", [`--net=${netnsPath}`, "ip", "-j", "addr", "show"]);
    return parseIpAddrJson(stdout);
  }
  const out: HostInterface[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const addresses = (addrs ?? []).flatMap((a) => {
      const len = a.cidr !== null ? Number(a.cidr.slice(a.cidr.lastIndexOf("/") + 1)) : undefined;
      return len === undefined || Number.isNaN(len) ? [] : [{ address: a.address, prefixLength: len }];
    });
    out.push({ name, ...(await sysfsLink(name)), addresses });
  }
  if (out.every((i) => i.index !== undefined)) out.sort((a, b) => a.index! - b.index!);
  return out;
}

/** ifindex and IFF_UP from sysfs, when readable (sysfs shows the namespace it was mounted in). */
async function sysfsLink(name: string): Promise<{ index?: number; up?: boolean }> {
  try {
    const [idx, flags] = await Promise.all([
      readFile(`/sys/class/net/${name}/ifindex`, "utf8"),
      readFile(`/sys/class/net/${name}/flags`, "utf8"),
    ]);
    return { index: Number(idx.trim()), up: (Number.parseInt(flags.trim(), 16) & 1) === 1 };
  } catch {
    return {};
  }
}

/** `ip -j addr show` output as HostInterfaces. Pure. */
export function parseIpAddrJson(text: string): HostInterface[] {
  const links = JSON.parse(text || "[]") as {
    ifindex: number;
    ifname: string;
    flags?: string[];
    addr_info?: { family: string; local?: string; prefixlen?: number }[];
  }[];
  return links.map((l) => ({
    name: l.ifname,
    index: l.ifindex,
    up: (l.flags ?? []).includes("UP"),
    addresses: (l.addr_info ?? [])
      .filter((a) => (a.family === "inet" || a.family === "inet6") && a.local !== undefined)
      .map((a) => ({ address: a.local!, prefixLength: a.prefixlen ?? (a.family === "inet" ? 32 : 128) })),
  }));
}

/**
 * The local address the kernel picks for traffic to `dest` (an address or a host name, resolved for
 * `family`): a UDP socket connect()ed to dest port 80, then its local address. In another namespace,
 * `ip route get` (dest must then be an address).
 */
export async function sourceAddressFor(
  dest: string,
  family: IpFamily = 4,
  netnsPath?: string,
): Promise<string> {
  if (netnsPath !== undefined) {
    if (parseIp(dest)?.family !== family)
      throw new Error(`sourceAddressFor in another namespace needs an IPv${family} address, not ${dest}`);
    const { stdout } = await run("nsenter", [
      `--net=${netnsPath}`,
      "ip",
      `-${family}`,
      "-j",
      "route",
      "get",
      dest,
    ]);
    const src = (JSON.parse(stdout) as { prefsrc?: string }[])[0]?.prefsrc;
    if (src === undefined) throw new Error(`no source address for ${dest} (ip route get: ${stdout.trim()})`);
    return src;
  }
  const sock = createSocket(family === 4 ? "udp4" : "udp6");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      // Node hands a failed connect (ENETUNREACH, a failed lookup) to the callback, not to "error";
      // @types/node declares the callback without arguments.
      const done = (...args: unknown[]) => {
        sock.off("error", reject);
        if (args[0] instanceof Error) reject(args[0]);
        else resolve();
      };
      sock.connect(80, dest, done);
    });
    const src = sock.address().address;
    if (src === "0.0.0.0" || src === "::") throw new Error(`the kernel chose no source address for ${dest}`);
    return src;
  } finally {
    sock.close();
  }
}

export interface DetectOptions {
  /** Variable named in errors; default IP_AUTODETECTION_METHOD / IP6_AUTODETECTION_METHOD. */
  readonly variable?: string;
  /** For kubernetes-internal-ip: the Kubernetes Node's status.addresses (undefined off Kubernetes). */
  readonly k8sNodeAddresses?: readonly K8sNodeAddress[];
  readonly netnsPath?: string;
}

/** Lists interfaces, asks the kernel when the method is can-reach, and selects (autodetect.ts). */
export async function detectAddress(
  method: AutodetectMethod,
  family: IpFamily,
  opts: DetectOptions = {},
): Promise<DetectedAddress> {
  const variable = opts.variable ?? methodVariable(family);
  const interfaces = await listHostInterfaces(opts.netnsPath);
  let sourceAddress: string | undefined;
  if (method.kind === "can-reach") {
    try {
      sourceAddress = await sourceAddressFor(method.dest, family, opts.netnsPath);
    } catch (e) {
      throw new AutodetectError(
        variable,
        formatMethod(method),
        `connecting a UDP socket to ${method.dest} port 80 failed: ${(e as Error).message}`,
      );
    }
  }
  return chooseAddress(
    method,
    family,
    {
      interfaces,
      ...(sourceAddress !== undefined ? { sourceAddress } : {}),
      ...(opts.k8sNodeAddresses !== undefined ? { k8sNodeAddresses: opts.k8sNodeAddresses } : {}),
    },
    variable,
  );
}
