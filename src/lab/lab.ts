/**
 * `tabby lab`: a whole cluster on one machine, as root. `up` carries out the plan (plan.ts): a switch
 * namespace with one or two bridges, the host joined to the first one at 198.18.0.250 (where the
 * datastore listens), a ToR namespace routing between segments with a real BIRD or FRR peering with
 * every node, a namespace per node running a real `tabby node run`, and pods put on the network by the
 * installed CNI plugin. It prints the ping matrix and the ToR's routes, then stays in the foreground
 * until Ctrl-C (or `tabby lab down`), when it takes everything down again. `down` also removes what a
 * lab whose `up` died left: see state.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentStatus } from "../agent/node-agent.js";
import type { Resource } from "../api/meta.js";
import { statusGet } from "../bgp/status-server.js";
import { chooseDatastore } from "../datastore/choose.js";
import { openDatastore } from "../datastore/open.js";
import type { Datastore } from "../datastore/types.js";
import { writeKubeconfig } from "../kube/kubeconfig.js";
import { type Clock, delay } from "../util/clock.js";
import { MANAGED_BY, runEndpointSlices, type SliceWriter } from "./endpoint-slices.js";
import {
  addBridge,
  addNetns,
  addVeth,
  ip,
  isAlive,
  kernelHasIpip,
  labProcesses,
  listNetns,
  netnsPids,
  sh,
  spawnDaemon,
  stopAll,
} from "./host.js";
import { HOST_IP, HOST_LINK, type LabOptions, type LabPlan, planLab, SEGMENTS } from "./plan.js";
import { addPodNetwork, type CniSetup, installCni, type PodNode } from "./pods.js";
import { type PingResults, type PodAddress, pingKey, pingsAnswered, renderPingMatrix } from "./report.js";
import {
  kubeconfigFile,
  type LabDaemon,
  type LabPlace,
  type LabState,
  labPlace,
  nodeDir,
  readState,
  stateFile,
  writeState,
} from "./state.js";
import { FRR_BIN, startTor } from "./tor.js";
import { labObserver, serveTopology, type TopologyServer } from "./web.js";

export interface LabIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
}

export class LabError extends Error {
  override readonly name = "LabError";
}

/** How to run our own CLIs: the built file next to this one, else the TypeScript source through tsx. */
export function selfCommand(name: "tabby" | "tabbyctl"): string[] {
  const js = fileURLToPath(new URL(`../cli/${name}.js`, import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  return [process.execPath, "--import", "tsx", fileURLToPath(new URL(`../cli/${name}.ts`, import.meta.url))];
}

const CNI_SHIM = fileURLToPath(new URL("../../bin/tabby-cni", import.meta.url));
const CNI_SHIM_FROM_SOURCE = fileURLToPath(new URL("../../dist/bin/tabby-cni", import.meta.url));

/** Polls `probe` every 200 ms on the clock until it holds; a LabError naming `what` after `timeoutMs`. */
async function waitUntil(
  clock: Clock,
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const until = clock.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (clock.now() > until)
      throw new LabError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (${last})` : ""}`,
      );
    await delay(clock, 200);
  }
}

/** What `up` needs that the machine lacks, each with the Debian package that brings it. */
function missingTools(options: LabOptions): string[] {
  const out: string[] = [];
  const has = (bin: string) =>
    (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").some((d) => existsSync(join(d, bin)));
  if (!has("ip")) out.push("ip (apt-get install iproute2)");
  if (!has("ping")) out.push("ping (apt-get install iputils-ping)");
  if (options.tor === "bird" && options.encap !== "vxlan-backend" && !(has("bird") && has("birdc")))
    out.push("bird and birdc for --tor bird (apt-get install bird2), or --tor frr|none");
  if (options.tor === "frr" && options.encap !== "vxlan-backend" && !existsSync(`${FRR_BIN}/bgpd`))
    out.push("FRR for --tor frr (apt-get install frr), or --tor bird|none");
  if (options.datastore === "etcdv3" && !has("etcd"))
    out.push("etcd for --datastore etcdv3 (apt-get install etcd-server)");
  if (!existsSync(CNI_SHIM) && !existsSync(CNI_SHIM_FROM_SOURCE))
    out.push("the built CNI plugin (dist/bin/tabby-cni): run `npm run build` first");
  return out;
}

/** Why a lab cannot start here now, or undefined. */
async function whyNotHere(place: LabPlace): Promise<string | undefined> {
  const state = readState(place);
  if (state !== undefined && isAlive(state.pid) && state.pid !== process.pid)
    return `a lab is already up (tabby lab up, pid ${state.pid}, since ${state.startedAt}): use it, or run \`tabby lab down\` first`;
  const left = (await listNetns()).filter((n) => n.startsWith(`${place.prefix}-`));
  if (state !== undefined || left.length > 0)
    return `a lab that did not shut down is still here (${left.length} namespaces${state ? `, ${stateFile(place)}` : ""}): \`tabby lab down\` removes it`;
  const link = await sh("ip", ["-j", "link", "show", HOST_LINK], { allowFailure: true });
  if (link.code === 0)
    return `interface ${HOST_LINK} exists (another lab's, or left by one): \`tabby lab down\` removes it`;
  const route = await sh("ip", ["-j", "route", "show", "match", HOST_IP], { allowFailure: true });
  const overlapping = (JSON.parse(route.stdout.trim() || "[]") as { dst: string }[]).filter(
    (r) => r.dst !== "default",
  );
  if (overlapping.length > 0)
    return `this machine already routes ${HOST_IP} (${overlapping.map((r) => r.dst).join(", ")}); the lab's underlay is 198.18.0.0/23`;
  return undefined;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

class LabBuild {
  state: LabState;
  private stopping = false;
  readonly tabby = selfCommand("tabby");

  constructor(
    readonly place: LabPlace,
    readonly io: LabIo,
  ) {
    this.state = {
      version: 1,
      pid: process.pid,
      startedAt: new Date(io.clock.wallTime()).toISOString(),
      phase: "starting",
      daemons: [],
      pods: [],
    };
  }

  stop(): void {
    this.stopping = true;
  }

  /** Says what comes next; stops the build here if Ctrl-C came meanwhile. */
  step(text: string): void {
    if (this.stopping) throw new LabError("stopped (Ctrl-C)");
    this.io.out(`== ${text}\n`);
  }

  async save(change: Partial<LabState>): Promise<void> {
    this.state = { ...this.state, ...change };
    await writeState(this.place, this.state);
  }

  async daemon(d: LabDaemon): Promise<void> {
    await this.save({ daemons: [...this.state.daemons, d] });
  }

  wait(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
    return waitUntil(this.io.clock, what, timeoutMs, async () => {
      if (this.stopping) throw new LabError("stopped (Ctrl-C)");
      return probe();
    });
  }

  async network(options: LabOptions): Promise<LabPlan> {
    const sw = `${this.place.prefix}-switch`;
    await addNetns(sw, false);
    const plan = planLab(options, { ipip: await kernelHasIpip(sw) }, this.place.prefix);
    await this.save({ plan });
    for (const note of plan.notes) this.io.out(`note: ${note}\n`);
    this.step(
      `network: ${plan.segments.map((s) => s.subnet).join(" and ")}, ToR ${plan.tor ?? "none"}, ${plan.nodes.length} nodes, pool ${plan.pool.cidr} (ipipMode ${plan.pool.ipipMode}, vxlanMode ${plan.pool.vxlanMode})`,
    );
    for (const s of plan.segments) await addBridge(sw, s.bridge);
    await addVeth(
      { ns: undefined, name: HOST_LINK, addresses: [`${HOST_IP}/24`] },
      { ns: sw, name: "host", bridge: SEGMENTS[0]!.bridge },
    );
    await addNetns(plan.torNetns, true);
    for (const [i, s] of plan.segments.entries()) {
      await addVeth(
        { ns: plan.torNetns, name: `eth${i}`, addresses: [`${s.gateway}/24`] },
        { ns: sw, name: `tor-${s.name}`, bridge: s.bridge },
      );
      // The nodes over there must reach the datastore on the host.
      if (i > 0) await ip(undefined, "route", "add", s.subnet, "via", SEGMENTS[0]!.gateway, "dev", HOST_LINK);
    }
    for (const n of plan.nodes) {
      await addNetns(n.netns, true);
      await addVeth(
        { ns: n.netns, name: "eth0", addresses: [`${n.ip}/24`] },
        { ns: sw, name: `p-${n.name}`, bridge: n.segment.bridge },
      );
      // Real nodes have a default route; the pods' 169.254.1.1 proxy ARP answers only for what the node can route.
      await ip(n.netns, "route", "add", "default", "via", n.segment.gateway);
    }
    return plan;
  }

  async datastore(plan: LabPlan): Promise<{
    ds: Datastore;
    env: Record<string, string>;
    userKubeconfig?: string;
    cni: Record<string, unknown>;
  }> {
    const dir = this.place.dir;
    const opts = { env: process.env, labDir: dir };
    let env: Record<string, string>;
    let userKubeconfig: string | undefined;
    let cni: Record<string, unknown>;
    if (plan.options.datastore === "kubernetes") {
      const token = randomBytes(18).toString("base64url");
      const port = await freeLoopbackPort();
      this.step(
        `datastore: the embedded Kubernetes API at http://${HOST_IP}:6443 (for the nodes) and http://127.0.0.1:${port} (for you)`,
      );
      const pid = spawnDaemon(
        undefined,
        this.tabby[0]!,
        [
          ...this.tabby.slice(1),
          "datastore",
          "serve",
          "--listen",
          `${HOST_IP}:6443`,
          "--listen",
          `127.0.0.1:${port}`,
          "--data-dir",
          join(dir, "datastore"),
          "--token",
          token,
        ],
        { ...opts, logFile: join(dir, "datastore.log"), env: { ...process.env, TABBY_LOG_LEVEL: "warn" } },
      );
      await this.daemon({ what: "datastore (tabby datastore serve)", pid });
      const nodesKubeconfig = join(dir, "nodes-kubeconfig");
      userKubeconfig = kubeconfigFile(this.place);
      await writeKubeconfig(nodesKubeconfig, `http://${HOST_IP}:6443`, token);
      await writeKubeconfig(userKubeconfig, `http://127.0.0.1:${port}`, token);
      env = { DATASTORE_TYPE: "kubernetes", KUBECONFIG: nodesKubeconfig };
      cni = { datastore_type: "kubernetes", kubernetes: { kubeconfig: nodesKubeconfig } };
    } else {
      const url = `http://${HOST_IP}:2379`;
      this.step(`datastore: etcd at ${url}`);
      const peer = `http://${HOST_IP}:2380`;
      const pid = spawnDaemon(
        undefined,
        "etcd",
        [
          "--name",
          "lab",
          "--data-dir",
          join(dir, "etcd"),
          "--listen-client-urls",
          url,
          "--advertise-client-urls",
          url,
          "--listen-peer-urls",
          peer,
          "--initial-advertise-peer-urls",
          peer,
          "--initial-cluster",
          `lab=${peer}`,
          "--log-level",
          "warn",
        ],
        { ...opts, logFile: join(dir, "etcd.log") },
      );
      await this.daemon({ what: "datastore (etcd)", pid });
      env = { DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: url };
      cni = { datastore_type: "etcdv3", etcd_endpoints: url };
    }
    const choice = chooseDatastore(env);
    if ("error" in choice) throw new LabError(choice.error);
    const ds = await openDatastore(choice);
    await this.wait("the datastore to answer", 30_000, async () => {
      await ds.list("IPPool");
      return true;
    });
    await this.save({ datastoreEnv: env });
    return { ds, env, ...(userKubeconfig !== undefined ? { userKubeconfig } : {}), cni };
  }

  async resources(plan: LabPlan, ds: Datastore): Promise<void> {
    this.step(
      `resources: IPPool default-ipv4-ippool, BGPConfiguration default (serviceExternalIPs ${SERVICE_EXTERNAL_IPS}), a CalicoNodeStatus per node${plan.peers.length > 0 ? `, BGPPeer ${plan.peers.map((p) => p.name).join(" ")}` : ""}`,
    );
    await ds.create(v3("IPPool", "default-ipv4-ippool", plan.pool));
    // Services' external IPs in TEST-NET-2 are advertised (as Calico's serviceExternalIPs), so a
    // Service with externalTrafficPolicy: Local shows its /32 at the ToR via the nodes with its pods.
    await ds.create(
      v3("BGPConfiguration", "default", { serviceExternalIPs: [{ cidr: SERVICE_EXTERNAL_IPS }] }),
    );
    // Each agent reports into its CalicoNodeStatus, so `tabbyctl node status --all` reads every node.
    for (const n of plan.nodes)
      await ds.create(
        v3("CalicoNodeStatus", `${n.name}-status`, {
          node: n.name,
          classes: ["Agent", "BGP", "Routes"],
          updatePeriodSeconds: 5,
        }),
      );
    for (const p of plan.peers)
      await ds.create(
        v3("BGPPeer", p.name, {
          ...(p.node !== undefined ? { node: p.node } : {}),
          peerIP: p.peerIP,
          asNumber: p.asNumber,
        }),
      );
  }

  nodeEnv(plan: LabPlan, name: string, dsEnv: Record<string, string>): NodeJS.ProcessEnv {
    const dir = nodeDir(this.place, name);
    return {
      PATH: process.env.PATH,
      ...dsEnv,
      NODENAME: name,
      IP: "autodetect",
      IP_AUTODETECTION_METHOD: "interface=eth0",
      NO_DEFAULT_POOLS: "true",
      CALICO_NETWORKING_BACKEND: plan.backend,
      TABBY_DATA_DIR: dir,
      TABBY_MTU_FILE: join(dir, "mtu"),
      CALICO_NODENAME_FILE: join(dir, "nodename"),
      TABBY_STATUS_SOCKET: join(dir, "node.sock"),
      TABBY_BIRD_SOCKET_DIR: join(dir, "bird"),
      TABBY_CNI_SOCKET: join(dir, "cni.sock"),
      TABBY_LOG_LEVEL: "info",
    };
  }

  async agents(plan: LabPlan, dsEnv: Record<string, string>): Promise<void> {
    this.step(`agents: tabby node run in ${plan.nodes.map((n) => n.netns).join(", ")}`);
    for (const n of plan.nodes) {
      const dir = nodeDir(this.place, n.name);
      await mkdir(dir, { recursive: true });
      const pid = spawnDaemon(n.netns, this.tabby[0]!, [...this.tabby.slice(1), "node", "run"], {
        env: this.nodeEnv(plan, n.name, dsEnv),
        logFile: join(dir, "agent.log"),
        labDir: this.place.dir,
      });
      await this.daemon({ what: `agent ${n.name}`, pid, netns: n.netns });
    }
    const notReady = new Set(plan.nodes.map((n) => n.name));
    const reasons = new Map<string, string>();
    try {
      await this.wait("every agent to be ready", 60_000 + plan.nodes.length * 2_000, async () => {
        for (const name of [...notReady]) {
          try {
            const s = await statusGet<AgentStatus>(join(nodeDir(this.place, name), "node.sock"), "/status");
            if (s.ready) notReady.delete(name);
            else reasons.set(name, s.notReady.join("; "));
          } catch {
            reasons.set(name, "status socket not answering yet");
          }
        }
        return notReady.size === 0;
      });
    } catch (e) {
      const which = [...notReady].map(
        (n) => `${n}: ${reasons.get(n) ?? "?"} (log: ${join(nodeDir(this.place, n), "agent.log")})`,
      );
      throw new LabError(`${(e as Error).message}\n  ${which.join("\n  ")}`);
    }
  }

  async pods(
    plan: LabPlan,
    dsConf: Record<string, unknown>,
    userKubeconfig: string | undefined,
  ): Promise<PodAddress[]> {
    this.step(`pods: ${plan.pods.length} through the CNI plugin (tabby-cni, ADD as a runtime calls it)`);
    const binDir = await installCni(this.tabby, this.place.dir, plan.nodes[0]!.name, process.env);
    const setup: CniSetup = { binDir, datastoreConf: dsConf };
    const kube =
      userKubeconfig !== undefined ? await kubeletStandIn(userKubeconfig, this.io.clock) : undefined;
    if (kube !== undefined) for (const n of plan.nodes) await kube.nodeReady(n.name, n.ip);
    if (plan.pods.length === 0) return [];
    const out: PodAddress[] = [];
    await eachLimited(plan.pods, 4, async (pod) => {
      await addNetns(pod.netns, false);
      if (kube !== undefined) await kube.createPod(pod.namespace, pod.name, pod.node);
      const dir = nodeDir(this.place, pod.node);
      const netns = plan.nodes.find((n) => n.name === pod.node)!.netns;
      const node: PodNode = { name: pod.node, netns, dir, cniSocket: join(dir, "cni.sock") };
      const address = await addPodNetwork(setup, node, pod, randomBytes(32).toString("hex"));
      const hostIP = plan.nodes.find((n) => n.name === pod.node)!.ip;
      if (kube !== undefined) await kube.podRunning(pod.namespace, pod.name, address, hostIP);
      out.push({ name: pod.name, node: pod.node, ip: address });
    });
    const order = new Map(plan.pods.map((p, i) => [p.name, i]));
    out.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    await this.save({ pods: out });
    return out;
  }

  /**
   * Stays until `untilStopped`, saying when one of the lab's daemons dies (someone may be testing a
   * failure on purpose: nothing is restarted). The timer also keeps this process alive.
   */
  async supervise(untilStopped: Promise<void>): Promise<void> {
    let stopped = false;
    void untilStopped.then(() => {
      stopped = true;
    });
    const reported = new Set<number>();
    while (!stopped) {
      for (const d of this.state.daemons)
        if (!reported.has(d.pid) && !isAlive(d.pid)) {
          reported.add(d.pid);
          this.io.out(`${d.what} (pid ${d.pid}) is no longer running\n`);
        }
      await Promise.race([delay(this.io.clock, 1_000), untilStopped]);
    }
  }

  /** Pings every pod from every other until all answer or `timeoutMs` passes; the last results. */
  async pingMatrix(plan: LabPlan, pods: readonly PodAddress[], timeoutMs: number): Promise<PingResults> {
    const results = new Map<string, boolean>();
    const netnsOf = new Map(plan.pods.map((p) => [p.name, p.netns]));
    const pairs = pods.flatMap((a) => pods.filter((b) => b.name !== a.name).map((b) => [a, b] as const));
    this.step(`ping matrix: ${pairs.length} pings`);
    const until = this.io.clock.now() + timeoutMs;
    for (;;) {
      const todo = pairs.filter(([a, b]) => results.get(pingKey(a.name, b.name)) !== true);
      await eachLimited(todo, 8, async ([a, b]) => {
        const r = await sh(
          "ip",
          ["netns", "exec", netnsOf.get(a.name)!, "ping", "-c", "1", "-W", "1", b.ip],
          { allowFailure: true },
        );
        results.set(pingKey(a.name, b.name), r.code === 0);
      });
      const { ok, total } = pingsAnswered(pods, results);
      if (ok === total || this.io.clock.now() > until || this.stopping) return results;
      await delay(this.io.clock, 500);
    }
  }
}

/**
 * What the kubelet would write, so `kubectl get nodes,pods -o wide` reads as on a real cluster: the
 * Pod objects (the CNI plugin reads them back), then their status once they have an address, and
 * each Node's Ready condition and addresses.
 */
async function kubeletStandIn(kubeconfig: string, clock: Clock) {
  const { KubeConfig, CoreV1Api } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const now = () => new Date(clock.wallTime());
  return {
    async createPod(namespace: string, name: string, node: string): Promise<void> {
      await api.createNamespacedPod({
        namespace,
        body: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace, labels: { app: "lab", "lab-node": node } },
          spec: { nodeName: node, containers: [{ name: "app", image: "busybox" }] },
        },
      });
    },
    async podRunning(namespace: string, name: string, podIP: string, hostIP: string): Promise<void> {
      const pod = await api.readNamespacedPod({ namespace, name });
      pod.status = {
        phase: "Running",
        podIP,
        podIPs: [{ ip: podIP }],
        hostIP,
        startTime: now(),
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: now() }],
      };
      await api.replaceNamespacedPodStatus({ namespace, name, body: pod });
    },
    async nodeReady(name: string, address: string): Promise<void> {
      const node = await api.readNode({ name });
      node.status = {
        ...node.status,
        addresses: [
          { type: "InternalIP", address },
          { type: "Hostname", address: name },
        ],
        conditions: [
          ...(node.status?.conditions ?? []).filter((c) => c.type !== "Ready"),
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            lastTransitionTime: now(),
            lastHeartbeatTime: now(),
          },
        ],
      };
      await api.replaceNodeStatus({ name, body: node });
    },
  };
}

const SERVICE_EXTERNAL_IPS = "198.51.100.0/24";

/** EndpointSlice writes for the lab's controller (endpoint-slices.ts), through the user's kubeconfig. */
async function sliceWriter(kubeconfig: string): Promise<SliceWriter> {
  const { KubeConfig, DiscoveryV1Api } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(DiscoveryV1Api);
  return {
    async list() {
      const l = await api.listEndpointSliceForAllNamespaces({ labelSelector: `${MANAGED_BY}=tabby-lab` });
      // What is stored is replaced once, on the first round: the text is not compared.
      return new Map(l.items.map((x) => [`${x.metadata?.namespace}/${x.metadata?.name}`, ""]));
    },
    async put(slice, exists) {
      const { name, namespace } = slice.metadata;
      if (exists) await api.replaceNamespacedEndpointSlice({ name, namespace, body: slice });
      else await api.createNamespacedEndpointSlice({ namespace, body: slice });
    },
    async remove(namespace, name) {
      await api.deleteNamespacedEndpointSlice({ name, namespace });
    },
  };
}

export async function labUp(options: LabOptions, io: LabIo, untilStopped: Promise<void>): Promise<number> {
  if (process.getuid?.() !== 0) {
    io.err("tabby lab: needs root (it creates network namespaces): run it as root or with sudo\n");
    return 1;
  }
  const missing = missingTools(options);
  if (missing.length > 0) {
    io.err(`tabby lab up: this machine lacks:\n  ${missing.join("\n  ")}\n`);
    return 1;
  }
  const place = labPlace(io.env);
  const why = await whyNotHere(place);
  if (why !== undefined) {
    io.err(`tabby lab up: ${why}\n`);
    return 1;
  }
  await mkdir(place.dir, { recursive: true });
  const build = new LabBuild(place, io);
  await build.save({});
  const started = io.clock.now();
  let ds: Datastore | undefined;
  let web: TopologyServer | undefined;
  void untilStopped.then(() => build.stop());
  try {
    const plan = await build.network(options);
    const store = await build.datastore(plan);
    ds = store.ds;
    await build.resources(plan, store.ds);
    let torShow: readonly string[] | undefined;
    if (plan.tor !== undefined) {
      build.step(
        `ToR: ${plan.tor === "bird" ? "BIRD" : "FRR"} in ${plan.torNetns}, AS 65000, a session to every node`,
      );
      const tor = await startTor(plan, join(place.dir, "tor"), place.dir, (what, probe) =>
        build.wait(what, 20_000, probe),
      );
      for (const d of tor.daemons) await build.daemon(d);
      torShow = tor.showCommand;
    }
    await build.agents(plan, store.env);
    web = await serveTopology(
      options.web,
      labObserver({
        plan,
        pods: () => build.state.pods,
        ds: store.ds,
        nodeDir: (n) => nodeDir(place, n),
        clock: io.clock,
      }),
      io.clock,
    );
    await build.save({ webUrl: web.url });
    io.out(`topology page: ${web.url}\n`);
    if (store.userKubeconfig !== undefined && store.ds.type === "kubernetes")
      void runEndpointSlices(store.ds, await sliceWriter(store.userKubeconfig), io.clock, untilStopped, (e) =>
        io.err(`endpoint slices: ${e.message}\n`),
      );
    const pods = await build.pods(plan, store.cni, store.userKubeconfig);
    const results = await build.pingMatrix(plan, pods, 60_000);
    io.out(renderPingMatrix(pods, results));
    const seconds = ((io.clock.now() - started) / 1000).toFixed(1);
    const { ok, total } = pingsAnswered(pods, results);
    if (plan.tor !== undefined) {
      io.out(`\n== the ToR's routing table (ip -n ${plan.torNetns} route)\n`);
      io.out((await ip(plan.torNetns, "route")).stdout);
      if (torShow !== undefined)
        io.out(
          `\n== ${torShow.join(" ")}\n${(await sh(torShow[0]!, torShow.slice(1), { allowFailure: true })).stdout}`,
        );
    }
    await build.save({ phase: "up" });
    io.out(
      [
        "",
        `lab is up in ${seconds} s: ${plan.nodes.length} nodes, ${pods.length} pods, ${ok}/${total} pings answered`,
        ...(store.userKubeconfig !== undefined
          ? [`  export KUBECONFIG=${store.userKubeconfig}   # kubectl get nodes,pods -o wide`]
          : []),
        `  topology page: ${web.url}`,
        "  tabby lab status",
        `  tabby lab exec ${plan.nodes[0]!.name} -- tabbyctl node status`,
        "  tabby lab down    (or Ctrl-C here)",
        "",
      ].join("\n"),
    );
    await build.supervise(untilStopped);
  } catch (e) {
    io.err(`tabby lab up: ${(e as Error).message}\n`);
    await web?.close();
    await ds?.close?.();
    await labDown(place, io, true);
    return 1;
  }
  await web?.close();
  await ds?.close?.();
  await labDown(place, io, true);
  return 0;
}

/** Stops every process of the lab in `place` and removes its namespaces, interface and directory. */
export async function labDown(place: LabPlace, io: LabIo, fromUp = false): Promise<number> {
  const state = readState(place);
  const wait = (ms: number) => delay(io.clock, ms);
  if (!fromUp && state !== undefined && state.pid !== process.pid && isAlive(state.pid)) {
    // `up` is alive: let it take its own lab down, and sweep after it.
    io.out(`stopping tabby lab up (pid ${state.pid}), which takes its lab down\n`);
    process.kill(state.pid, "SIGTERM");
    for (let waited = 0; waited < 30_000 && isAlive(state.pid); waited += 100) await wait(100);
  }
  if (fromUp) io.out("== taking the lab down\n");
  const namespaces = (await listNetns()).filter((n) => n.startsWith(`${place.prefix}-`));
  // Recorded daemons carry the TABBY_LAB mark as well (a reused pid would not), so the mark and the
  // namespaces find everything.
  const pids = new Set<number>(labProcesses(place.dir));
  for (const ns of namespaces) for (const p of await netnsPids(ns)) pids.add(p);
  pids.delete(process.pid);
  if (state !== undefined && fromUp) await writeState(place, { ...state, phase: "stopping" }).catch(() => {});
  await stopAll([...pids], 5_000, wait);
  // Pods first, then nodes: a node's cali* veths go with either end.
  const order = (n: string) => (n.includes("-pod-") ? 0 : n.endsWith("-switch") ? 2 : 1);
  for (const ns of namespaces.sort((a, b) => order(a) - order(b)))
    await sh("ip", ["netns", "del", ns], { allowFailure: true });
  const link = await sh("ip", ["link", "del", HOST_LINK], { allowFailure: true });
  const hadDir = existsSync(place.dir);
  await rm(place.dir, { recursive: true, force: true });
  const parts = [
    `${pids.size} processes stopped`,
    `${namespaces.length} namespaces removed`,
    ...(link.code === 0 ? [`${HOST_LINK} removed`] : []),
    ...(hadDir ? [`${place.dir} removed`] : []),
  ];
  io.out(
    namespaces.length === 0 && pids.size === 0 && !hadDir && link.code !== 0
      ? state !== undefined && !fromUp
        ? "lab down\n"
        : "no lab here: nothing to take down\n"
      : `lab down: ${parts.join(", ")}\n`,
  );
  return 0;
}

export { labPlace, nodeDir, readState };
