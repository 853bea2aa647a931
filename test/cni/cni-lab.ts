/**
 * CNI tests' cluster: the agent lab's segment and datastore (the embedded API server, or etcd), node
 * namespaces (agents optional), and a way to exec the plugins exactly as a runtime does: the installed
 * executables (wrapper scripts over the built dist/, as `tabby cni install` lays them out), run inside
 * the node's namespace with the CNI_* environment and the config on stdin. Pods' sandboxes are fresh
 * namespaces.
 */

import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Resource } from "../../src/api/meta.js";
import { AgentLab, API_IP, type LabNode } from "../agent/agent-lab.js";
import { makeTempDir } from "../harness/naming.js";
import { Netns } from "../harness/netns.js";
import type { Scope } from "../harness/scope.js";

const ROOT = join(import.meta.dirname, "../..");
export const CNI_ENTRY = join(ROOT, "dist/src/cli/tabby-cni.js");
export const CNI_SHIM = join(ROOT, "dist/bin/tabby-cni");

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
  ) {}

  static async create(scope: Scope, datastore: "kubernetes" | "etcdv3" = "kubernetes"): Promise<CniLab> {
    for (const f of [CNI_ENTRY, CNI_SHIM])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
    const lab = await AgentLab.create(scope, datastore);
    const binDir = join(await makeTempDir(scope), "bin");
    await mkdir(binDir, { recursive: true });
    // The layout install lays down: the native shim under both names, the Node plugin as its fallback.
    await copyFile(CNI_SHIM, join(binDir, "tabby-cni"));
    await copyFile(CNI_SHIM, join(binDir, "tabby-ipam"));
    const fallback = join(binDir, "tabby-cni.fallback");
    await writeFile(fallback, `#!/bin/sh\nexec ${process.execPath} ${CNI_ENTRY} "$@"\n`);
    await chmod(fallback, 0o755);
    return new CniLab(lab, binDir, lab.dsEnv.KUBECONFIG);
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
}
