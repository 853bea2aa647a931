/**
 * What a test needs from the machine (root, iproute2, a peer daemon, etcd) and what happens without it.
 * On a developer box a suite that lacks something is skipped, with the reason in its name. Under
 * `CI=true` it is a failure instead, so that a green CI run means every real-world test really ran
 * (design.md "Testing"). .ci/run installs everything listed here.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { describe, it } from "vitest";

export type Requirement =
  | "root"
  | "iproute2"
  | "bird"
  | "frr"
  | "gobgp"
  | "etcd"
  | "ping"
  | "tshark"
  | "nft"
  | "tcpdump"
  | "kubectl"
  | "podman"
  | "containerd"
  | "chromium";

/** Executables each requirement stands for (absolute, or looked up on PATH). */
const BINARIES: Record<Exclude<Requirement, "root">, readonly string[]> = {
  iproute2: ["ip"],
  bird: ["bird", "birdc"],
  frr: ["/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "vtysh"],
  gobgp: ["gobgpd", "gobgp"],
  etcd: ["etcd", "etcdctl"],
  ping: ["ping"],
  tshark: ["tshark"],
  nft: ["nft"],
  tcpdump: ["tcpdump"],
  kubectl: ["kubectl"],
  // podman with the runtime and image that work here (container-runtime.md), and the reference plugins
  // chained after ours.
  podman: [
    "podman",
    "runc",
    "busybox",
    "nsenter",
    "/usr/lib/cni/portmap",
    "/usr/lib/cni/bandwidth",
    "/usr/lib/cni/tuning",
    "/usr/lib/cni/ptp",
    "/usr/lib/cni/host-local",
  ],
  // Debian's headless-capable browser, driven over CDP by puppeteer-core (the lab's topology page).
  chromium: ["chromium"],
  // containerd with its CRI plugin, driven as kubelet drives it (container-runtime.md §7).
  containerd: [
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "runc",
    "busybox",
    "nsenter",
    "/usr/lib/cni/loopback",
  ],
};

export function findExecutable(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .flatMap((d) => [join(d, name)])
        .concat([`/usr/sbin/${name}`, `/sbin/${name}`]);
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

/** Human-readable reasons the requirements are not met; empty when all are. */
export function unmet(reqs: readonly Requirement[]): string[] {
  const reasons: string[] = [];
  for (const r of reqs) {
    if (r === "root") {
      if (process.getuid?.() !== 0) reasons.push("root (network namespaces need CAP_NET_ADMIN)");
      continue;
    }
    const absent = BINARIES[r].filter((b) => findExecutable(b) === undefined);
    if (absent.length > 0) reasons.push(`${r} (${absent.join(", ")} not found)`);
  }
  return reasons;
}

export const inCi = (): boolean => process.env.CI === "true";

/**
 * `describe` that runs only when `reqs` are met. Otherwise: skipped with the reason in its title, or,
 * under CI=true, one failing test that names what is missing.
 */
export function describeWith(reqs: readonly Requirement[], name: string, body: () => void): void {
  const reasons = unmet(reqs);
  if (reasons.length === 0) {
    describe(name, body);
  } else if (inCi()) {
    describe(name, () => {
      it("has what it needs", () => {
        throw new Error(`CI=true forbids skipping: needs ${reasons.join("; ")}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: needs ${reasons.join("; ")}]`, body);
  }
}
