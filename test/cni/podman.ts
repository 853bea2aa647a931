/**
 * Real podman (4.3, CNI backend, runc) driving the installed plugins, as ../shared/reference/
 * container-runtime.md measured it here. Nothing goes to /etc or podman's default storage: each run has
 * its own storage root, run root and tmpdir under a temp dir, and each lab node its own containers.conf
 * and network config dir. podman runs with only its network namespace switched to the node's (nsenter
 * --net), so it calls the plugins inside the node and its mounts stay in the host's mount namespace
 * where the next podman command sees them. The image is a static busybox imported from a tarball: no
 * registry is reachable.
 */

import { readdirSync } from "node:fs";
import { copyFile, mkdir, rmdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { LabNode } from "../agent/agent-lab.js";
import { type RunResult, run } from "../harness/exec.js";
import { makeTempDir } from "../harness/naming.js";
import type { Scope } from "../harness/scope.js";

export const IMAGE = "localhost/tabby-busybox:latest";
const APPLETS = ["sh", "ip", "ping", "sleep", "cat", "ls", "nc", "echo", "sysctl", "hostname"];

export class Podman {
  private readonly confs = new Map<string, string>();
  private readonly nodes = new Map<string, LabNode>();

  private constructor(private readonly dir: string) {}

  /** A private podman with the busybox image imported. Its cleanup removes every container and image. */
  static async create(scope: Scope): Promise<Podman> {
    const dir = await makeTempDir(scope);
    const p = new Podman(dir);
    const rootfs = join(dir, "rootfs");
    for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp", "run"])
      await mkdir(join(rootfs, d), { recursive: true });
    await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
    for (const a of APPLETS) await symlink("busybox", join(rootfs, "bin", a));
    await writeFile(join(dir, "none.conf"), podmanConf(undefined));
    await run("tar", ["-C", rootfs, "-cf", join(dir, "busybox.tar"), "."]);
    // Registered after the temp dir, so it runs before the dir is removed: containers first (their DEL
    // goes through the plugins while the node still exists), then the image and its overlay layers.
    scope.defer("remove podman containers and images", () => p.cleanup());
    const r = await p.podman(undefined, [
      "import",
      "--change",
      'CMD ["/bin/sh"]',
      join(dir, "busybox.tar"),
      IMAGE,
    ]);
    if (r.code !== 0) throw new Error(`podman import failed: ${r.stderr}`);
    return p;
  }

  /** Gives `node` a podman network named `network` from `conflist` (the plugin list), calling `binDir` first. */
  async addNetwork(node: LabNode, binDir: string, conflist: Record<string, unknown>): Promise<void> {
    const netDir = join(this.dir, `net.d-${node.name}`);
    await mkdir(netDir, { recursive: true });
    await writeFile(join(netDir, "10-tabby.conflist"), JSON.stringify(conflist, null, 2));
    const conf = join(this.dir, `containers-${node.name}.conf`);
    await writeFile(conf, podmanConf({ binDir, netDir }));
    this.confs.set(node.name, conf);
    this.nodes.set(node.name, node);
  }

  /** `podman <args>` inside `node`'s network namespace (or the host's), never throwing. */
  async podman(node: LabNode | undefined, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    const conf = node === undefined ? undefined : this.confs.get(node.name);
    if (node !== undefined && conf === undefined) throw new Error(`no podman network on ${node.name}`);
    const global = [
      "--root",
      join(this.dir, "root"),
      "--runroot",
      join(this.dir, "runroot"),
      "--tmpdir",
      join(this.dir, "tmp"),
    ];
    const argv =
      node === undefined
        ? ["podman", ...global, ...args]
        : ["nsenter", `--net=/run/netns/${node.ns.name}`, "podman", ...global, ...args];
    return run(argv[0]!, argv.slice(1), {
      allowFailure: true,
      timeoutMs,
      env: { PATH: process.env.PATH, CONTAINERS_CONF: conf ?? join(this.dir, "none.conf") },
    });
  }

  /** As `podman`, but a non-zero exit is an error carrying podman's stderr. */
  async ok(node: LabNode, args: readonly string[]): Promise<string> {
    const r = await this.podman(node, args);
    if (r.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  private async cleanup(): Promise<void> {
    // Each node's containers are removed from inside it, through its network config, so their DEL runs
    // where ADD ran.
    for (const node of this.nodes.values()) await this.podman(node, ["rm", "-af", "-t", "0"]);
    await this.podman(undefined, ["rmi", "-af"]);
    // podman's cgroupfs parent directories, when no other container uses them.
    for (const ctl of safeReaddir("/sys/fs/cgroup")) {
      await rmdir(join("/sys/fs/cgroup", ctl, "libpod_parent")).catch(() => undefined);
    }
  }
}

/** runc, cgroupfs, file events and these ulimits are what works on this kernel (container-runtime.md §2). */
function podmanConf(net: { binDir: string; netDir: string } | undefined): string {
  return [
    "[containers]",
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    "[engine]",
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    "[network]",
    'network_backend = "cni"',
    ...(net === undefined
      ? []
      : [
          `cni_plugin_dirs = [${JSON.stringify(net.binDir)}, "/usr/lib/cni"]`,
          `network_config_dir = ${JSON.stringify(net.netDir)}`,
        ]),
    'default_network = "tabbydefault"',
    "",
  ].join("\n");
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
