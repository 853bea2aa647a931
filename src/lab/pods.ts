/**
 * The lab's pods, put on the network the way a container runtime does it: a fresh network namespace
 * (the sandbox), the Pod object in the API (Kubernetes datastore), then the installed CNI plugin
 * (`tabby cni install`'s binaries) exec'd inside the node's namespace with the CNI_* environment and
 * Calico's network config on stdin. The plugin hands the call to the node's agent over its socket.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { sh } from "./host.js";
import type { PlannedPod } from "./plan.js";

export interface CniSetup {
  readonly binDir: string;
  readonly datastoreConf: Record<string, unknown>;
}

export interface PodNode {
  readonly name: string;
  readonly netns: string;
  readonly dir: string;
  readonly cniSocket: string;
}

/** Installs the plugin binaries into `<dir>/cni/bin` as calico/node's install-cni would. */
export async function installCni(
  tabby: readonly string[],
  dir: string,
  firstNode: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const binDir = join(dir, "cni", "bin");
  const netDir = join(dir, "cni", "net.d");
  await mkdir(binDir, { recursive: true });
  await sh(tabby[0]!, [...tabby.slice(1), "cni", "install"], {
    env: {
      ...env,
      CNI_BIN_DIR: binDir,
      CNI_NET_DIR: netDir,
      KUBERNETES_NODE_NAME: firstNode,
      CNI_MTU: "0",
      LOG_FILE_PATH: join(dir, "cni", "install.log"),
    },
  });
  return binDir;
}

/** The entry of Calico's conflist for one node, with tabby's plugin names and the lab's datastore. */
export function pluginConfig(setup: CniSetup, node: PodNode): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "k8s-pod-network",
    type: "tabby-cni",
    log_level: "info",
    log_file_path: join(node.dir, "cni.log"),
    nodename: node.name,
    mtu: 0,
    tabby_agent_socket: node.cniSocket,
    ipam_lock_file: join(node.dir, "ipam.lock"),
    ipam: { type: "tabby-ipam" },
    policy: { type: "k8s" },
    ...setup.datastoreConf,
  };
}

export class PodNetworkError extends Error {
  override readonly name = "PodNetworkError";
}

/** CNI ADD for `pod` on `node`; the pod's IPv4 address. */
export async function addPodNetwork(
  setup: CniSetup,
  node: PodNode,
  pod: PlannedPod,
  containerId: string,
): Promise<string> {
  const r = await sh("ip", ["netns", "exec", node.netns, join(setup.binDir, "tabby-cni")], {
    allowFailure: true,
    input: JSON.stringify(pluginConfig(setup, node)),
    timeoutMs: 60_000,
    env: {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/run/netns/${pod.netns}`,
      CNI_IFNAME: "eth0",
      CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${containerId}`,
      CNI_PATH: setup.binDir,
    },
  });
  let result: { ips?: { address?: string }[]; msg?: string; details?: string } = {};
  try {
    result = JSON.parse(r.stdout) as typeof result;
  } catch {
    // Reported below with what the plugin printed.
  }
  const address = result.ips?.find((i) => i.address !== undefined && !i.address.includes(":"))?.address;
  if (r.code !== 0 || address === undefined)
    throw new PodNetworkError(
      `CNI ADD for pod ${pod.namespace}/${pod.name} on ${node.name} failed (exit ${r.code}): ${result.msg ?? r.stdout.trim()}${result.details ? `: ${result.details}` : ""}${r.stderr.trim() ? `\n${r.stderr.trim()}` : ""}`,
    );
  return address.split("/")[0]!;
}
