/**
 * CNI tests' cluster: the agent lab's segment and datastore (the embedded API server, or etcd), node
 * namespaces (agents optional), and a way to exec the plugins exactly as a runtime does: the installed
 * executables (wrapper scripts over the built dist/, as `tabby cni install` lays them out), run inside
 * the node's namespace with the CNI_* environment and the config on stdin. Pods' sandboxes are fresh
 * namespaces.
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Resource } from "../../src/api/meta.js";
import { AgentLab, API_IP, type LabNode } from "../agent/agent-lab.js";
import { makeTempDir } from "../harness/naming.js";
import { Netns } from "../harness/netns.js";
import type { Scope } from "../harness/scope.js";

const ROOT = join(import.meta.dirname, "../..");
export const CNI_ENTRY = join(ROOT, "dist/src/cli/tabby-cni.js");
export const CNI_SHIM = join(ROOT, "dist/bin/tabby-cni");
export const TABBY_CLI = join(ROOT, "dist/src/cli/tabby.js");

export interface CniCall {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed, or undefined when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: CNI results and API objects are probed field by field in assertions
  readonly json: any;
}

export interface CniEnv {
  readonly command: string;
  readonly containerId: string;
  readonly netns?: string;
  readonly ifName?: string;
  readonly args?: string;
}

export class CniLab {
  private constructor(
    readonly lab: AgentLab,
    readonly binDir: string,
    readonly kubeconfig: string | undefined,
    /** What `tabby cni install` printed and the config dir it wrote. */
    readonly install: { readonly stdout: string; readonly netDir: string },
  ) {}

  static async create(scope: Scope, datastore: "kubernetes" | "etcdv3" = "kubernetes"): Promise<CniLab> {
    for (const f of [CNI_ENTRY, CNI_SHIM, TABBY_CLI])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
    const lab = await AgentLab.create(scope, datastore);
    const top = await makeTempDir(scope);
    const binDir = join(top, "bin");
    const netDir = join(top, "net.d");
    await mkdir(binDir, { recursive: true });
    // Installed as an operator would: the shim under Calico's and tabby's names, the Node fallback,
    // Calico's conflist for node n1.
    const { stdout } = await promisify(execFile)(process.execPath, [TABBY_CLI, "cni", "install"], {
      env: {
        PATH: process.env.PATH,
        CNI_BIN_DIR: binDir,
        CNI_NET_DIR: netDir,
        KUBERNETES_NODE_NAME: "n1",
        CNI_MTU: "0",
        LOG_FILE_PATH: join(top, "cni-installed.log"),
        ...(lab.dsEnv.KUBECONFIG !== undefined ? { KUBECONFIG: lab.dsEnv.KUBECONFIG } : {}),
      },
    });
    return new CniLab(lab, binDir, lab.dsEnv.KUBECONFIG, { stdout, netDir });
  }

  /** The network config of Calico's manifest, with tabby's plugin names and this lab's datastore. */
  conflistPlugin(node: LabNode, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const ds =
      this.kubeconfig !== undefined
        ? { datastore_type: "kubernetes", kubernetes: { kubeconfig: this.kubeconfig } }
        : { datastore_type: "etcdv3", etcd_endpoints: `http://${API_IP}:2379` };
    return {
      type: "tabby-cni",
      log_level: "debug",
      log_file_path: join(node.dir, "cni.log"),
      nodename: node.name,
      mtu: 0,
      // Where the node's agent serves CNI calls; without an agent the shim runs the Node plugin.
      tabby_agent_socket: node.env.TABBY_CNI_SOCKET,
      ipam_lock_file: join(node.dir, "ipam.lock"),
      ipam: { type: "tabby-ipam" },
      policy: { type: "k8s" },
      ...ds,
      ...extra,
    };
  }

  /** Execs `plugin` inside `node`'s namespace as a runtime would. */
  async exec(node: LabNode, plugin: string, env: CniEnv, conf: Record<string, unknown>): Promise<CniCall> {
    const r = await node.ns.exec(join(this.binDir, plugin), [], {
      allowFailure: true,
      input: JSON.stringify(conf),
      timeoutMs: 60_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CNI_COMMAND: env.command,
        CNI_CONTAINERID: env.containerId,
        CNI_NETNS: env.netns ?? "",
        CNI_IFNAME: env.ifName ?? "eth0",
        CNI_ARGS: env.args ?? "",
        CNI_PATH: `${this.binDir}:/usr/lib/cni`,
      },
    });
    // biome-ignore lint/suspicious/noExplicitAny: CNI results and API objects are probed field by field in assertions
    let json: any;
    try {
      json = r.stdout.trim() === "" ? undefined : JSON.parse(r.stdout);
    } catch {
      json = { unparsable: r.stdout };
    }
    return { code: r.code, stdout: r.stdout, stderr: r.stderr, json };
  }

  /** A pod sandbox: a fresh namespace, as a runtime makes one before calling ADD. */
  async sandbox(scope: Scope): Promise<Netns> {
    return Netns.create(scope);
  }

  /** A raw Kubernetes API request made inside the datastore's namespace; the parsed body. */
  // biome-ignore lint/suspicious/noExplicitAny: CNI results and API objects are probed field by field in assertions
  async kube<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    if (this.kubeconfig === undefined) throw new Error("Pods and Namespaces need the Kubernetes datastore");
    const args = ["kube", method, path];
    if (body !== undefined) {
      const file = join(this.lab.dir, `k-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
      await writeFile(file, JSON.stringify(body));
      args.push(file);
    }
    return this.lab.ctl<T>(...args);
  }

  /** Creates Nodes, Pods and Namespaces as the API would from `kubectl create`. */
  // biome-ignore lint/suspicious/noExplicitAny: CNI results and API objects are probed field by field in assertions
  async createObjects(objects: readonly any[]): Promise<void> {
    for (const o of objects) {
      const path =
        o.kind === "Namespace"
          ? "/api/v1/namespaces"
          : o.kind === "Node"
            ? "/api/v1/nodes"
            : `/api/v1/namespaces/${o.metadata.namespace ?? "default"}/pods`;
      await this.kube("POST", path, o);
    }
  }

  apply(resources: readonly Resource[]): Promise<void> {
    return this.lab.apply(resources);
  }

  /** Every IPAM handle ID in the datastore, sorted. */
  async handles(): Promise<string[]> {
    const items = await this.lab.ctl<Resource[]>("list", "IPAMHandle");
    return items.map((h) => (h.spec as { handleID: string }).handleID).sort();
  }

  /** The cali* host interfaces in `node`, sorted. */
  async caliLinks(node: LabNode): Promise<string[]> {
    const out = (await node.ns.ip("-o", "link", "show")).stdout;
    return [...out.matchAll(/^\d+: (cali[0-9a-f]+)@/gm)].map((m) => m[1]!).sort();
  }
}
