/**
 * Real containerd (Debian's 1.6) driven through its CRI plugin, as kubelet drives it: a private
 * containerd (root, state, sockets and CNI dirs under a temp dir) started with only its network
 * namespace switched to a lab node's (nsenter --net, so the pod netns it mounts under /var/run/netns
 * are in the host's mount namespace, where the node agent sees them), and a gRPC client for the CRI
 * calls that network a pod: RunPodSandbox, PodSandboxStatus, StopPodSandbox, RemovePodSandbox
 * (../shared/reference/container-runtime.md §7). No registry is reachable, so the sandbox image is a
 * static busybox answering "hello" on port 8080, written as an OCI archive here and imported with ctr.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rmdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { LabNode } from "../agent/agent-lab.js";
import { killAndWait, run } from "../harness/exec.js";
import { makeTempDir } from "../harness/naming.js";
import type { Scope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";

export const PAUSE_IMAGE = "localhost/tabby-pause:latest";
const PROTO = fileURLToPath(new URL("./fixtures/cri-runtime-v1.proto", import.meta.url));

export interface SandboxStatus {
  readonly id: string;
  readonly state: "SANDBOX_READY" | "SANDBOX_NOTREADY";
  readonly network?: { readonly ip: string; readonly additionalIps: { ip: string }[] };
}

type Call<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;
interface RuntimeClient extends grpc.Client {
  Version: Call<
    { version: string },
    { runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }
  >;
  RunPodSandbox: Call<object, { podSandboxId: string }>;
  StopPodSandbox: Call<{ podSandboxId: string }, object>;
  RemovePodSandbox: Call<{ podSandboxId: string }, object>;
  PodSandboxStatus: Call<{ podSandboxId: string; verbose?: boolean }, { status: SandboxStatus }>;
}

export class Containerd {
  private readonly sandboxes = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly socket: string,
    private readonly proc: ChildProcess,
    private readonly client: RuntimeClient,
  ) {}

  /**
   * containerd inside `node`'s network namespace, calling the plugins of `conflist` from `binDir` (the
   * reference plugins are linked in beside them: containerd 1.6 takes one bin dir). Its cleanup removes
   * every sandbox (their DEL runs while the node still exists), stops containerd and its shims, and
   * unmounts what it left under its root.
   */
  static async start(
    scope: Scope,
    node: LabNode,
    binDir: string,
    conflist: Record<string, unknown>,
  ): Promise<Containerd> {
    const dir = await makeTempDir(scope);
    const bin = join(dir, "cni-bin");
    const netDir = join(dir, "net.d");
    await mkdir(bin, { recursive: true });
    await mkdir(netDir, { recursive: true });
    for (const p of ["tabby-cni", "tabby-ipam"]) await symlink(join(binDir, p), join(bin, p));
    for (const p of ["tabby-cni.fallback"])
      await symlink(join(binDir, p), join(bin, p)).catch(() => undefined);
    for (const p of ["loopback", "portmap", "bandwidth", "tuning"])
      await symlink(join("/usr/lib/cni", p), join(bin, p));
    await writeFile(join(netDir, "10-tabby.conflist"), JSON.stringify(conflist, null, 2));
    const socket = join(dir, "containerd.sock");
    const config = join(dir, "config.toml");
    await writeFile(config, containerdConfig(dir, socket, bin, netDir));
    const fd = openSync(join(dir, "containerd.log"), "a");
    const proc = spawn(
      "nsenter",
      [`--net=/run/netns/${node.ns.name}`, "containerd", "--config", config, "--log-level", "info"],
      { stdio: ["ignore", fd, fd], env: { PATH: process.env.PATH } },
    );
    closeSync(fd);
    const def = protoLoader.loadSync(PROTO, {
      keepCase: false,
      enums: String,
      longs: String,
      defaults: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: {
        v1: { RuntimeService: new (addr: string, creds: grpc.ChannelCredentials) => RuntimeClient };
      };
    };
    const client = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
    const c = new Containerd(dir, socket, proc, client);
    scope.defer("stop containerd and remove its sandboxes", () => c.cleanup());
    try {
      await eventually(async () => (await c.version().catch(() => undefined)) !== undefined, {
        what: "containerd's CRI answering",
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      await c.importPauseImage();
    } catch (e) {
      const log = await readFile(join(dir, "containerd.log"), "utf8").catch(() => "");
      (e as Error).message += `\n--- containerd.log (tail) ---\n${log.split("\n").slice(-30).join("\n")}`;
      throw e;
    }
    return c;
  }

  private call<Req, Res>(fn: Call<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) =>
      fn.call(this.client, req, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  version() {
    return this.call(this.client.Version, { version: "v1" });
  }

  /** RunPodSandbox as kubelet sends it for a pod; the sandbox id. */
  async runPodSandbox(pod: {
    name: string;
    namespace: string;
    uid: string;
    hostPorts?: { containerPort: number; hostPort: number; hostIp: string }[];
  }): Promise<string> {
    const logs = join(this.dir, "pods", `${pod.namespace}_${pod.name}_${pod.uid}`);
    await mkdir(logs, { recursive: true });
    const r = await this.call(this.client.RunPodSandbox, {
      config: {
        metadata: { name: pod.name, uid: pod.uid, namespace: pod.namespace, attempt: 0 },
        hostname: pod.name,
        logDirectory: logs,
        portMappings: (pod.hostPorts ?? []).map((p) => ({ protocol: "TCP", ...p })),
        labels: { "io.kubernetes.pod.name": pod.name, "io.kubernetes.pod.namespace": pod.namespace },
        linux: { cgroupParent: "" },
      },
      runtimeHandler: "",
    });
    this.sandboxes.add(r.podSandboxId);
    return r.podSandboxId;
  }

  async status(id: string): Promise<SandboxStatus> {
    return (await this.call(this.client.PodSandboxStatus, { podSandboxId: id })).status;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call(this.client.StopPodSandbox, { podSandboxId: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call(this.client.RemovePodSandbox, { podSandboxId: id });
    this.sandboxes.delete(id);
  }

  /** `ctr` against this containerd, in the CRI's namespace. */
  ctr(args: readonly string[]) {
    return run("ctr", ["--address", this.socket, "--namespace", "k8s.io", ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  }

  private async importPauseImage(): Promise<void> {
    const archive = await writePauseArchive(this.dir);
    const r = await this.ctr(["images", "import", archive]);
    if (r.code !== 0) throw new Error(`ctr images import failed: ${r.stderr}`);
  }

  private async cleanup(): Promise<void> {
    for (const id of [...this.sandboxes]) {
      await this.stopPodSandbox(id).catch(() => undefined);
      await this.removePodSandbox(id).catch(() => undefined);
    }
    this.client.close();
    if (this.proc.pid !== undefined) await killAndWait(this.proc.pid, this.proc);
    // Shims outlive containerd by design (they keep containers running across its restarts).
    for (const pid of shimPids(this.socket)) await killAndWait(pid).catch(() => undefined);
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(this.dir))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run("umount", ["-l", m], { allowFailure: true });
    // containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir: remove it if empty.
    await rmdir("/run/containerd/s").catch(() => undefined);
    await rmdir("/run/containerd").catch(() => undefined);
    // The cgroupfs parent containerd made for the CRI's sandboxes, once nothing else uses it.
    for (const ctl of readdirSync("/sys/fs/cgroup")) {
      await rmdir(join("/sys/fs/cgroup", ctl, "k8s.io")).catch(() => undefined);
    }
  }
}

/** Processes whose command line names this containerd's socket (its runc shims). */
function shimPids(socket: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (cmd.includes("containerd-shim") && cmd.includes(socket)) out.push(Number(e));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** containerd's config: everything private, the CRI plugin on this CNI dir, runc v2 with cgroupfs. */
function containerdConfig(dir: string, socket: string, binDir: string, netDir: string): string {
  const q = JSON.stringify;
  return [
    "version = 2",
    `root = ${q(join(dir, "root"))}`,
    `state = ${q(join(dir, "state"))}`,
    "[grpc]",
    `  address = ${q(socket)}`,
    "[ttrpc]",
    `  address = ${q(`${socket}.ttrpc`)}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(dir, "opt"))}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${q(PAUSE_IMAGE)}`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    "  disable_hugetlb_controller = true",
    // The sandbox asks for oom_score_adj -998; raising it needs CAP_SYS_RESOURCE, which this machine denies.
    "  restrict_oom_score_adj = true",
    "  enable_selinux = false",
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    `  bin_dir = ${q(binDir)}`,
    `  conf_dir = ${q(netDir)}`,
    "  max_conf_num = 1",
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    "  SystemdCgroup = false",
    `  Root = ${q(join(dir, "runc"))}`,
    "",
  ].join("\n");
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** An OCI image archive: one uncompressed layer with a static busybox, `sleep` as the command. */
async function writePauseArchive(dir: string): Promise<string> {
  const rootfs = join(dir, "pause-rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp", "run"])
    await mkdir(join(rootfs, d), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const a of ["sh", "sleep", "ip", "nc", "echo"]) await symlink("busybox", join(rootfs, "bin", a));
  const layout = join(dir, "pause-oci");
  const blobs = join(layout, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const layerTar = join(dir, "pause-layer.tar");
  await run("tar", ["--numeric-owner", "-C", rootfs, "-cf", layerTar, "."]);
  const layer = await readFile(layerTar);
  const layerDigest = sha256(layer);
  await writeFile(join(blobs, layerDigest), layer);
  const blob = async (obj: unknown) => {
    const bytes = Buffer.from(JSON.stringify(obj));
    const digest = sha256(bytes);
    await writeFile(join(blobs, digest), bytes);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const config = await blob({
    architecture: "amd64",
    os: "linux",
    // The sandbox is the only process of these pods: it answers on 8080, so a hostPort can be tested.
    config: { Cmd: ["/bin/sh", "-c", "while true; do echo hello | nc -l -p 8080; done"], Env: ["PATH=/bin"] },
    rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
  });
  const manifest = await blob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [
      {
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: `sha256:${layerDigest}`,
        size: layer.length,
      },
    ],
  });
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: {
            "io.containerd.image.name": PAUSE_IMAGE,
            "org.opencontainers.image.ref.name": "latest",
          },
        },
      ],
    }),
  );
  const archive = join(dir, "pause-oci.tar");
  await run("tar", ["-C", layout, "-cf", archive, "."]);
  return archive;
}
