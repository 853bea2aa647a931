/**
 * A small cluster for node-agent tests, in network namespaces: one L2 segment (a bridge namespace),
 * the datastore in its own namespace (`tabby datastore serve`, or a real etcd), N node namespaces each
 * running a real `tabby node run` process, an optional BIRD ToR, and pods as namespaces wired with the
 * CNI conventions (cali* veth, /32, 169.254.1.1) whose address and WorkloadEndpoint come from
 * cluster-ctl.ts inside the datastore's namespace, as the CNI plugin would write them.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentStatus } from "../../src/agent/node-agent.js";
import type { Resource } from "../../src/api/meta.js";
import { statusGet } from "../../src/bgp/status-server.js";
import { run } from "../harness/exec.js";
import { makeTempDir } from "../harness/naming.js";
import { connectToBridge, connectVeth, Netns, type NsProcess } from "../harness/netns.js";
import type { Scope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";

const ROOT = join(import.meta.dirname, "../..");
const TABBY = join(ROOT, "src/cli/tabby.ts");
const CTL = join(ROOT, "test/agent/cluster-ctl.ts");
export const API_IP = "10.0.0.250";
export const TOR_IP = "10.0.0.254";
export const FAR_GW = "10.0.1.254";

export interface LabNode {
  readonly name: string;
  readonly ip: string;
  readonly ns: Netns;
  readonly dir: string;
  readonly socket: string;
  readonly env: NodeJS.ProcessEnv;
  proc: NsProcess | undefined;
}

export interface LabPod {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly ifName: string;
  readonly ns: Netns;
}

export class AgentLab {
  readonly nodes: LabNode[] = [];
  private constructor(
    private readonly scope: Scope,
    readonly dir: string,
    readonly sw: Netns,
    readonly api: Netns,
    readonly tor: Netns,
    readonly dsEnv: NodeJS.ProcessEnv,
  ) {}

  /** The segment, the datastore namespace with `tabby datastore serve`, and a ToR namespace (no daemon yet). */
  static async create(scope: Scope, datastore: "kubernetes" | "etcdv3" = "kubernetes"): Promise<AgentLab> {
    const dir = await makeTempDir(scope);
    const sw = await Netns.create(scope);
    await sw.createBridge("br0");
    const api = await Netns.create(scope);
    await connectToBridge(sw, "br0", "papi", { ns: api, name: "eth0", addresses: [`${API_IP}/24`] });
    const tor = await Netns.create(scope, { forwarding: true });
    await connectToBridge(sw, "br0", "ptor", { ns: tor, name: "eth0", addresses: [`${TOR_IP}/24`] });
    let dsEnv: NodeJS.ProcessEnv;
    if (datastore === "etcdv3") {
      // A real etcd, reachable from every node namespace at API_IP:2379.
      api.spawn(
        "etcd",
        [
          "--data-dir",
          join(dir, "etcd"),
          "--listen-client-urls",
          `http://${API_IP}:2379`,
          "--advertise-client-urls",
          `http://${API_IP}:2379`,
          "--listen-peer-urls",
          "http://127.0.0.1:2380",
          "--logger",
          "zap",
          "--log-level",
          "warn",
        ],
        { logFile: join(dir, "etcd.log") },
      );
      dsEnv = { DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: `http://${API_IP}:2379` };
    } else {
      const kubeconfig = join(dir, "kubeconfig");
      api.spawnNode(
        TABBY,
        [
          "datastore",
          "serve",
          "--listen",
          `${API_IP}:6443`,
          // kubectl sends no bearer token over plain HTTP; loopback lets it in without one.
          "--listen",
          "127.0.0.1:6443",
          "--data-dir",
          join(dir, "api"),
          "--kubeconfig-out",
          kubeconfig,
        ],
        { logFile: join(dir, "api.log"), env: { ...process.env, TABBY_LOG_LEVEL: "warn" } },
      );
      dsEnv = { DATASTORE_TYPE: "kubernetes", KUBECONFIG: kubeconfig };
    }
    const lab = new AgentLab(scope, dir, sw, api, tor, dsEnv);
    await eventually(async () => (await lab.ctl("list", "IPPool")) !== undefined, {
      what: `the ${datastore} datastore to answer`,
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    return lab;
  }

  /** Runs cluster-ctl inside the datastore's namespace and parses its JSON answer. */
  async ctl<T = unknown>(...args: string[]): Promise<T> {
    const r = await this.api.exec(process.execPath, ["--import", "tsx", CTL, ...args], {
      env: { ...process.env, ...this.dsEnv },
    });
    return JSON.parse(r.stdout) as T;
  }

  /** The real kubectl against the embedded API server (Kubernetes datastore only), from its namespace. */
  async kubectl(args: readonly string[], input?: string): Promise<string> {
    const nodes = this.dsEnv.KUBECONFIG;
    if (nodes === undefined) throw new Error("kubectl needs the Kubernetes datastore");
    const kubeconfig = join(this.dir, "kubeconfig-loopback");
    const text = await readFile(nodes, "utf8");
    await writeFile(kubeconfig, text.replace(`http://${API_IP}:6443`, "http://127.0.0.1:6443"), {
      mode: 0o600,
    });
    const r = await this.api.exec("kubectl", args, {
      env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(this.dir, "kube-cache") },
      ...(input !== undefined ? { input } : {}),
    });
    return r.stdout;
  }

  async apply(resources: readonly Resource[]): Promise<void> {
    const file = join(this.dir, `apply-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
    await writeFile(file, JSON.stringify(resources));
    await this.ctl("apply", file);
  }

  private farSegment = false;

  /** A second segment, 10.0.1.0/24 on br1, routed to the first by the ToR namespace (10.0.1.254). */
  private async ensureFarSegment(): Promise<void> {
    if (this.farSegment) return;
    this.farSegment = true;
    await this.sw.createBridge("br1");
    await connectToBridge(this.sw, "br1", "ptor1", {
      ns: this.tor,
      name: "eth1",
      addresses: [`${FAR_GW}/24`],
    });
    // The datastore's namespace must answer nodes over there too.
    await this.api.addRoute("10.0.1.0/24", "via", TOR_IP);
  }

  /** A node on the first segment, or with `far` on the second one (behind the ToR, another subnet). */
  async addNode(
    name: string,
    ip: string,
    extraEnv: NodeJS.ProcessEnv = {},
    far = false,
    args: readonly string[] = [],
  ): Promise<LabNode> {
    const node = await this.addHost(name, ip, extraEnv, far);
    this.start(node, args);
    return node;
  }

  /** A node's namespace, wired and with its environment, but no agent started (CNI-only tests). */
  async addHost(name: string, ip: string, extraEnv: NodeJS.ProcessEnv = {}, far = false): Promise<LabNode> {
    if (far) await this.ensureFarSegment();
    const ns = await Netns.create(this.scope, { forwarding: true });
    await connectToBridge(this.sw, far ? "br1" : "br0", `p${name}`.slice(0, 15), {
      ns,
      name: "eth0",
      addresses: [`${ip}/24`],
    });
    // A default route, as real nodes have: proxy ARP for the pods' 169.254.1.1 answers only for
    // destinations the host can route.
    await ns.addRoute("default", "via", far ? FAR_GW : TOR_IP);
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true });
    const socket = join(dir, "node.sock");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.dsEnv,
      NODENAME: name,
      IP: "autodetect",
      IP_AUTODETECTION_METHOD: "interface=eth0",
      NO_DEFAULT_POOLS: "true",
      CALICO_NETWORKING_BACKEND: "bird",
      TABBY_DATA_DIR: dir,
      TABBY_MTU_FILE: join(dir, "mtu"),
      CALICO_NODENAME_FILE: join(dir, "nodename"),
      TABBY_STATUS_SOCKET: socket,
      TABBY_BIRD_SOCKET_DIR: join(dir, "bird"),
      TABBY_CNI_SOCKET: join(dir, "cni.sock"),
      TABBY_LOG_LEVEL: "info",
      ...extraEnv,
    };
    const node: LabNode = { name, ip, ns, dir, socket, env, proc: undefined };
    this.nodes.push(node);
    return node;
  }

  start(node: LabNode, args: readonly string[] = []): void {
    node.proc = node.ns.spawnNode(TABBY, ["node", "run", ...args], {
      logFile: join(node.dir, "agent.log"),
      env: node.env,
    });
  }

  async kill9(node: LabNode): Promise<void> {
    const p = node.proc;
    if (p === undefined) return;
    process.kill(p.pid, "SIGKILL");
    await p.exited;
    node.proc = undefined;
  }

  async status(node: LabNode): Promise<AgentStatus> {
    return statusGet<AgentStatus>(node.socket, "/status");
  }

  async waitReady(node: LabNode, timeoutMs = 45_000): Promise<AgentStatus> {
    return this.withLog(node, () =>
      eventually(
        async () => {
          const s = await this.status(node);
          return s.ready ? s : false;
        },
        { what: `agent ${node.name} ready`, timeoutMs, intervalMs: 200 },
      ),
    );
  }

  /** Runs `body`; if it throws, the agent's last log lines are added to the error. */
  async withLog<T>(node: LabNode, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (e) {
      const log = await readFile(join(node.dir, "agent.log"), "utf8").catch(() => "");
      (e as Error).message +=
        `\n--- ${node.name} agent.log (tail) ---\n${log.split("\n").slice(-25).join("\n")}`;
      throw e;
    }
  }

  /** A pod on `node`: address and endpoint from the datastore side, the veth as Calico's CNI plugin makes it. */
  async addPod(node: LabNode, name: string, namespace = "default"): Promise<LabPod> {
    const { ip, ifName } = await this.ctl<{ ip: string; ifName: string }>("pod", node.name, namespace, name);
    const ns = await Netns.create(this.scope);
    await connectVeth({ ns, name: "eth0", addresses: [`${ip}/32`] }, { ns: node.ns, name: ifName });
    await ns.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
    await ns.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
    return { name, node: node.name, ip, ifName, ns };
  }
}

export async function ping(from: Netns, ip: string): Promise<boolean> {
  const r = await from.exec("ping", ["-c", "1", "-W", "1", ip], { allowFailure: true });
  return r.code === 0;
}

/** Kernel routes of `ns` as `dst proto via dev` lines, sorted (ip -j route). */
export async function routeLines(ns: Netns): Promise<string[]> {
  const rs = await ns.routes();
  return rs.map((r) => `${r.dst} ${r.protocol ?? ""} ${r.gateway ?? ""} ${r.dev ?? ""}`.trim()).sort();
}

export { run };
