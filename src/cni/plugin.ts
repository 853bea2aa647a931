/**
 * `tabby-cni` and `tabby-ipam` verbs, in process: ADD (addresses, veth, endpoint, result), DEL
 * (endpoint unless a newer sandbox owns it, veth, addresses; nothing missing is an error), CHECK (every
 * piece ADD made, each mismatch named), STATUS (datastore reachable), GC (handles and veths of
 * attachments the runtime no longer lists), VERSION. An ADD that fails after taking addresses undoes
 * what it did, in reverse: the veth, then the addresses, so the host and the datastore hold what they
 * held before.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Ipam } from "../../ipam/client.js";
import type { Resource } from "../api/meta.js";
import type { DatastoreChoice } from "../datastore/choose.js";
import { openDatastore } from "../datastore/open.js";
import type { Datastore } from "../datastore/types.js";
import { openIpam } from "../ipam/open.js";
import { isTabbyError } from "../util/errors.js";
import type { Logger } from "../util/logger.js";
import { addressRequest } from "./address-request.js";
import type { CniRequest } from "./env.js";
import { CNI_CODE, CniError } from "./errors.js";
import {
  assignAddresses,
  handleOf,
  handleProblems,
  type IpamIdentity,
  ipamCniError,
  releaseAddresses,
} from "./ipam-core.js";
import type { NetConf } from "./netconf.js";
import { nodeName, podMtu } from "./node-files.js";
import {
  assertNotNetworked,
  checkPodNetwork,
  GATEWAY_V4,
  GATEWAY_V6,
  setUpPodNetwork,
  tearDownPodNetwork,
} from "./pod-network.js";
import { type CniResult, checkVersion, encodeResult, parseIpamResult, versionResult } from "./result.js";
import { socketListening } from "./socket-probe.js";
import { type Workload, workloadEndpoint, workloadFor } from "./workload.js";

export interface PluginDeps {
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Opens the datastore the config names (tests pass their own); closed when the call ends. */
  readonly openStore?: (conf: NetConf) => Promise<Datastore>;
  /** A long-lived process's datastore and IPAM client (the agent's), used as they are and never closed. */
  readonly shared?: { readonly ds: Datastore; readonly ipam: Ipam };
  /** Runs IPAM assignments and releases one at a time in a process that serves many calls. */
  readonly serialiseIpam?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The agent serving this call: its readiness, for STATUS. Absent in a plugin process. */
  readonly agentReadiness?: () => { readonly ready: boolean; readonly notReady: readonly string[] };
  /** Whether an agent answers on the socket (a plugin process's STATUS asks; tests replace it). */
  readonly agentListening?: (socket: string) => Promise<boolean>;
}

/** The plugin names whose IPAM runs in this process instead of being exec'd. */
const IN_PROCESS_IPAM = new Set(["tabby-ipam", "calico-ipam"]);

export function datastoreChoice(
  conf: NetConf,
  env: Readonly<Record<string, string | undefined>>,
): DatastoreChoice {
  if (conf.datastoreType === "kubernetes") {
    const kubeconfig = conf.kubeconfig ?? env.KUBECONFIG;
    if (kubeconfig !== undefined && kubeconfig !== "") return { type: "kubernetes", kubeconfig };
    if (conf.k8sApiRoot !== undefined) return { type: "kubernetes", apiEndpoint: conf.k8sApiRoot };
    return { type: "kubernetes" };
  }
  const endpoints =
    conf.etcdEndpoints.length > 0
      ? conf.etcdEndpoints
      : (env.ETCD_ENDPOINTS ?? "").split(",").filter((s) => s !== "");
  if (endpoints.length === 0)
    throw new CniError(CNI_CODE.invalidConfig, "network config: datastore_type etcdv3 needs etcd_endpoints");
  const tls = {
    ...(conf.etcdCaCertFile ? { caFile: conf.etcdCaCertFile } : {}),
    ...(conf.etcdCertFile ? { certFile: conf.etcdCertFile } : {}),
    ...(conf.etcdKeyFile ? { keyFile: conf.etcdKeyFile } : {}),
  };
  return { type: "etcdv3", endpoints, ...(Object.keys(tls).length > 0 ? { tls } : {}) };
}

class Session {
  private ds: Datastore | undefined;
  private ipamClient: Ipam | undefined;

  constructor(
    readonly conf: NetConf,
    readonly env: Readonly<Record<string, string | undefined>>,
    readonly deps: PluginDeps,
  ) {}

  async store(): Promise<Datastore> {
    if (this.deps.shared !== undefined) return this.deps.shared.ds;
    if (this.ds === undefined) {
      try {
        this.ds = this.deps.openStore
          ? await this.deps.openStore(this.conf)
          : await openDatastore(datastoreChoice(this.conf, this.env), { logger: this.deps.logger });
      } catch (e) {
        if (e instanceof CniError) throw e;
        throw new CniError(CNI_CODE.tryAgainLater, "cannot open the datastore", (e as Error).message, {
          cause: e,
        });
      }
    }
    return this.ds;
  }

  async ipam(): Promise<Ipam> {
    if (this.deps.shared !== undefined) return this.deps.shared.ipam;
    this.ipamClient ??= openIpam(await this.store());
    return this.ipamClient;
  }

  /** `fn` with this process's IPAM serialisation, if it has one (separate processes take a flock). */
  withIpam<T>(fn: (ipam: Ipam) => Promise<T>): Promise<T> {
    const go = async () => fn(await this.ipam());
    return this.deps.serialiseIpam ? this.deps.serialiseIpam(go) : go();
  }

  async close(): Promise<void> {
    await this.ds?.close().catch(() => undefined);
  }
}

export async function runPlugin(
  req: CniRequest,
  conf: NetConf,
  env: Readonly<Record<string, string | undefined>>,
  deps: PluginDeps,
): Promise<object | undefined> {
  if (req.command === "VERSION") return versionResult(conf.cniVersion);
  checkVersion(conf.cniVersion);
  const s = new Session(conf, env, deps);
  try {
    switch (req.command) {
      case "ADD":
        return await add(s, req);
      case "DEL":
        await del(s, req);
        return undefined;
      case "CHECK":
        await check(s, req);
        return undefined;
      case "STATUS":
        await status(s);
        return undefined;
      case "GC":
        await gc(s);
        return undefined;
    }
  } finally {
    await s.close();
  }
}

/** Pod and namespace annotations and labels, when the datastore is Kubernetes and this is a pod. */
async function podContext(
  s: Session,
  w: Workload,
): Promise<{
  pod: Record<string, string>;
  ns: Record<string, string>;
  nsLabels?: Record<string, string>;
  podLabels: Record<string, string>;
}> {
  const empty = { pod: {}, ns: {}, podLabels: {} };
  if (w.orchestrator !== "k8s") return empty;
  const ds = await s.store();
  if (ds.readObjectMeta === undefined) return empty;
  try {
    const [pod, ns] = await Promise.all([
      ds.readObjectMeta("Pod", w.workload, w.namespace),
      ds.readObjectMeta("Namespace", w.namespace),
    ]);
    return {
      pod: { ...pod.annotations },
      ns: { ...ns.annotations },
      nsLabels: { ...ns.labels },
      podLabels: { ...pod.labels },
    };
  } catch (e) {
    if (isTabbyError(e, "DATASTORE_NOT_FOUND"))
      throw new CniError(
        CNI_CODE.unknownContainer,
        `pod ${w.namespace}/${w.workload} does not exist in the API server`,
        (e as Error).message,
      );
    throw ipamCniError(e, `cannot read pod ${w.namespace}/${w.workload}`);
  }
}

function identity(s: Session, req: CniRequest, w: Workload): IpamIdentity {
  return {
    network: s.conf.name,
    containerId: req.containerId,
    node: w.node,
    ...(w.orchestrator === "k8s" ? { pod: w.workload, namespace: w.namespace } : {}),
  };
}

interface Addresses {
  readonly ips: { address: string; family: 4 | 6; cidr: string }[];
}

/** Runs the IPAM step: in process for tabby-ipam / calico-ipam, else the named plugin from CNI_PATH. */
async function ipamAdd(
  s: Session,
  req: CniRequest,
  w: Workload,
  ctx: Awaited<ReturnType<typeof podContext>>,
): Promise<Addresses> {
  const type = s.conf.ipam.type;
  if (type === "" || IN_PROCESS_IPAM.has(type)) {
    const want = addressRequest(s.conf, ctx.pod, ctx.ns, req.args);
    const ips = await s.withIpam((ipam) =>
      assignAddresses(ipam, identity(s, req, w), want, ctx.nsLabels, (s.deps.now ?? (() => new Date()))()),
    );
    return { ips };
  }
  const { execIpamPlugin } = await import("./delegate.js");
  const out = await execIpamPlugin(type, "ADD", req, s.conf, s.env);
  const r = parseIpamResult(out, type);
  return {
    ips: r.ips.map((ip) => {
      const address = ip.address.split("/")[0]!;
      return { address, cidr: ip.address, family: address.includes(":") ? 6 : 4 };
    }),
  };
}

async function ipamDel(s: Session, req: CniRequest, w: Workload): Promise<void> {
  const type = s.conf.ipam.type;
  if (type === "" || IN_PROCESS_IPAM.has(type)) {
    await s.withIpam((ipam) => releaseAddresses(ipam, identity(s, req, w)));
    return;
  }
  const { execIpamPlugin } = await import("./delegate.js");
  await execIpamPlugin(type, "DEL", req, s.conf, s.env);
}

async function add(s: Session, req: CniRequest): Promise<object> {
  // Before anything is taken, so a bad namespace costs no address.
  if (!existsSync(req.netns))
    throw new CniError(CNI_CODE.unknownContainer, `CNI_NETNS ${req.netns} does not exist`);
  const node = nodeName(s.conf);
  const mtu = podMtu(s.conf);
  const w = workloadFor(node, req.containerId, req.ifName, req.args);
  const log = s.deps.logger.child({ component: "cni", containerID: req.containerId, iface: w.hostIfName });
  const started = performance.now();
  const lap = (phase: string) =>
    log.debug({ phase, ms: Math.round(performance.now() - started) }, "ADD progress");
  await assertNotNetworked(req.netns, req.ifName);
  await s.store();
  lap("datastore open");
  const ctx = await podContext(s, w);
  lap("pod read");
  const addrs = await ipamAdd(s, req, w, ctx);
  lap("addresses assigned");
  const ipv4 = addrs.ips.filter((a) => a.family === 4).map((a) => a.address);
  const ipv6 = addrs.ips.filter((a) => a.family === 6).map((a) => a.address);
  let veth = false;
  try {
    const net = await setUpPodNetwork({
      hostIfName: w.hostIfName,
      containerIfName: req.ifName,
      netnsPath: req.netns,
      mtu,
      ipv4,
      ipv6,
      allowIpForwarding: s.conf.allowIpForwarding,
    });
    veth = true;
    lap("veth up");
    const networks = [...ipv4.map((a) => `${a}/32`), ...ipv6.map((a) => `${a}/128`)];
    await writeEndpoint(s, w, workloadEndpoint(w, networks, net.containerMac, ctx.podLabels));
    log.info({ ips: networks, ms: Math.round(performance.now() - started) }, "pod networked");
    const result: CniResult = {
      cniVersion: s.conf.cniVersion,
      interfaces: [
        { name: w.hostIfName },
        { name: req.ifName, mac: net.containerMac, mtu, sandbox: req.netns },
      ],
      ips: [
        ...ipv4.map((a) => ({ address: `${a}/32`, gateway: GATEWAY_V4, interface: 1 })),
        ...ipv6.map((a) => ({ address: `${a}/128`, gateway: GATEWAY_V6, interface: 1 })),
      ],
      routes: [
        ...(ipv4.length > 0 ? [{ dst: "0.0.0.0/0", gw: GATEWAY_V4 }] : []),
        ...(ipv6.length > 0 ? [{ dst: "::/0", gw: GATEWAY_V6 }] : []),
      ],
      dns: {},
    };
    return encodeResult(result);
  } catch (e) {
    log.warn({ err: (e as Error).message }, "ADD failed; undoing it");
    if (veth) {
      await tearDownPodNetwork({
        netnsPath: req.netns,
        containerIfName: req.ifName,
        hostIfName: w.hostIfName,
      }).catch((te: unknown) =>
        log.error({ err: (te as Error).message }, "cannot remove the veth after a failed ADD"),
      );
    }
    await ipamDel(s, req, w).catch((re: unknown) =>
      log.error({ err: (re as Error).message }, "cannot release the addresses after a failed ADD"),
    );
    throw e;
  }
}

/**
 * KDD: patches the pod's annotations; etcd: creates the endpoint, replacing one of an old sandbox. A
 * write whose reply was lost may have landed: the failed ADD then removes the endpoint if it is this
 * sandbox's, so that nothing of it outlives the rollback.
 */
async function writeEndpoint(s: Session, w: Workload, wep: Resource): Promise<void> {
  const ds = await s.store();
  if (ds.type === "kubernetes" && w.orchestrator !== "k8s") return; // No pod to annotate (podman on KDD).
  try {
    await writeEndpointOnce(ds, w, wep);
  } catch (e) {
    if (isTabbyError((e as { cause?: unknown }).cause, "DATASTORE_IO")) {
      await removeOwnEndpoint(ds, w, (wep.spec as { containerID?: string }).containerID).catch(
        () => undefined,
      );
    }
    throw e;
  }
}

async function removeOwnEndpoint(ds: Datastore, w: Workload, containerId: string | undefined): Promise<void> {
  const key = { kind: "WorkloadEndpoint", name: w.endpointName, namespace: w.namespace };
  const now = await ds.get(key);
  if ((now.spec as { containerID?: string }).containerID !== containerId) return;
  await ds.delete(key, { resourceVersion: now.metadata.resourceVersion ?? "" });
}

async function writeEndpointOnce(ds: Datastore, w: Workload, wep: Resource): Promise<void> {
  try {
    await ds.create(wep);
  } catch (e) {
    if (!isTabbyError(e, "DATASTORE_ALREADY_EXISTS"))
      throw ipamCniError(e, `cannot write WorkloadEndpoint ${w.endpointName}`);
    try {
      const old = await ds.get({ kind: "WorkloadEndpoint", name: w.endpointName, namespace: w.namespace });
      await ds.update({
        ...wep,
        metadata: { ...wep.metadata, resourceVersion: old.metadata.resourceVersion ?? "" },
      });
    } catch (ue) {
      throw ipamCniError(ue, `cannot write WorkloadEndpoint ${w.endpointName}`);
    }
  }
}

async function del(s: Session, req: CniRequest): Promise<void> {
  const node = nodeName(s.conf);
  const w = workloadFor(node, req.containerId, req.ifName, req.args);
  const log = s.deps.logger.child({ component: "cni", containerID: req.containerId, iface: w.hostIfName });
  const ds = await s.store();
  let current = true;
  if (!(ds.type === "kubernetes" && w.orchestrator !== "k8s")) {
    const key = { kind: "WorkloadEndpoint", name: w.endpointName, namespace: w.namespace };
    try {
      const wep = await ds.get(key);
      const owner = (wep.spec as { containerID?: string }).containerID;
      if (owner !== undefined && owner !== "" && owner !== req.containerId) {
        current = false;
        log.info({ owner }, "DEL for an old sandbox: the endpoint belongs to a newer one and stays");
      } else {
        await ds.delete(
          key,
          wep.metadata.resourceVersion ? { resourceVersion: wep.metadata.resourceVersion } : {},
        );
      }
    } catch (e) {
      if (!isTabbyError(e, "DATASTORE_NOT_FOUND"))
        throw ipamCniError(e, `cannot delete WorkloadEndpoint ${w.endpointName}`);
    }
  }
  // The new sandbox of the same pod uses the same host interface name: leave it alone.
  await tearDownPodNetwork({
    netnsPath: req.netns,
    containerIfName: req.ifName,
    hostIfName: current ? w.hostIfName : "",
  });
  await ipamDel(s, req, w);
}

async function check(s: Session, req: CniRequest): Promise<void> {
  const node = nodeName(s.conf);
  const w = workloadFor(node, req.containerId, req.ifName, req.args);
  const prev = s.conf.prevResult as { ips?: { address?: string }[] } | undefined;
  if (prev === undefined)
    throw new CniError(CNI_CODE.invalidConfig, "CHECK needs prevResult: the runtime sent none");
  const addresses = (prev.ips ?? [])
    .map((ip) => String(ip.address ?? "").split("/")[0]!)
    .filter((a) => a !== "");
  const ipv4 = addresses.filter((a) => !a.includes(":"));
  const ipv6 = addresses.filter((a) => a.includes(":"));
  const problems = await checkPodNetwork({
    hostIfName: w.hostIfName,
    containerIfName: req.ifName,
    netnsPath: req.netns,
    mtu: 0,
    ipv4,
    ipv6,
    allowIpForwarding: s.conf.allowIpForwarding,
  });
  const type = s.conf.ipam.type;
  if (type === "" || IN_PROCESS_IPAM.has(type)) {
    problems.push(...(await handleProblems(await s.ipam(), handleOf(identity(s, req, w)), addresses)));
  } else {
    // The delegated plugin checks its own store (host-local: its files) against the same prevResult.
    const { execIpamPlugin } = await import("./delegate.js");
    await execIpamPlugin(type, "CHECK", req, s.conf, s.env).catch((e: unknown) => {
      problems.push(`IPAM plugin ${type}: ${(e as Error).message}`);
    });
  }
  const ds = await s.store();
  if (!(ds.type === "kubernetes" && w.orchestrator !== "k8s")) {
    try {
      const wep = await ds.get({ kind: "WorkloadEndpoint", name: w.endpointName, namespace: w.namespace });
      const spec = wep.spec as { containerID?: string; ipNetworks?: string[] };
      if (spec.containerID !== undefined && spec.containerID !== req.containerId)
        problems.push(`WorkloadEndpoint ${w.endpointName} belongs to container ${spec.containerID}`);
      for (const a of addresses) {
        const net = `${a}/${a.includes(":") ? 128 : 32}`;
        if (!(spec.ipNetworks ?? []).includes(net))
          problems.push(`WorkloadEndpoint ${w.endpointName} does not list ${net}`);
      }
    } catch (e) {
      if (!isTabbyError(e, "DATASTORE_NOT_FOUND"))
        throw ipamCniError(e, `cannot read WorkloadEndpoint ${w.endpointName}`);
      problems.push(`WorkloadEndpoint ${w.endpointName} is missing`);
    }
  }
  if (problems.length > 0) throw new CniError(CNI_CODE.internal, problems[0]!, problems.join("; "));
}

/**
 * CNI 1.1 STATUS. 50 (no ADDs now): the datastore does not answer, or the agent never started here.
 * 51 (ADDs work, connectivity limited): the agent is not running or not ready, so a pod would get an
 * address and a veth but its block might not be announced or routes learned: a runtime should hold
 * pods back, as kubelet does on a failed STATUS.
 */
async function status(s: Session): Promise<void> {
  try {
    const ds = await s.store();
    await ds.list("IPPool");
  } catch (e) {
    throw new CniError(CNI_CODE.notAvailable, "the datastore cannot be reached", (e as Error).message);
  }
  if (s.conf.nodename === undefined && !s.conf.nodenameFileOptional) {
    try {
      readFileSync(s.conf.nodenameFile);
    } catch {
      throw new CniError(
        CNI_CODE.notAvailable,
        `${s.conf.nodenameFile} is missing: the node agent has not started on this node`,
      );
    }
  }
  const readiness = s.deps.agentReadiness;
  if (readiness !== undefined) {
    const r = readiness();
    if (!r.ready)
      throw new CniError(
        CNI_CODE.notAvailableLimited,
        `the node agent is not ready: ${r.notReady.join("; ")}`,
        r.notReady.join("; "),
      );
    return;
  }
  // A plugin process: the shim found no agent (or the Node plugin was installed on its own).
  const listening = s.deps.agentListening ?? socketListening;
  if (!(await listening(s.conf.agentSocket)))
    throw new CniError(
      CNI_CODE.notAvailableLimited,
      "the node agent is not running on this node: pods would get addresses, but no routes are announced for them",
      s.conf.agentSocket,
    );
}

/** Releases this network's handles on this node whose container is not a valid attachment. */
async function gc(s: Session): Promise<void> {
  const valid = s.conf.validAttachments;
  if (valid === undefined) return; // Nothing to compare with: a GC without the list must not release everything.
  const node = nodeName(s.conf);
  const keep = new Set(valid.map((a) => handleOf({ network: s.conf.name, containerId: a.containerId })));
  const ds = await s.store();
  const prefix = `${s.conf.name}.`;
  const handles = (await ds.list("IPAMHandle")).items
    .map((h) => (h.spec as { handleID?: string }).handleID ?? h.metadata.name)
    .filter((h) => h.startsWith(prefix) && !keep.has(h));
  const ipam = await s.ipam();
  const errors: string[] = [];
  for (const h of handles) {
    const addrs = await ipam.ipsByHandle(h).catch(() => [] as string[]);
    const infos = await Promise.all(addrs.map((a) => ipam.addressInfo(a).catch(() => undefined)));
    const mine = infos.find((i) => i?.attrs.node === node);
    if (mine === undefined) continue;
    try {
      // In the agent, one at a time with the ADDs and DELs it serves (they would race for the block).
      await s.withIpam((i) => i.releaseByHandle(h));
      // A pod's host interface is named after the pod, so a newer sandbox of it has the same one: only
      // an interface named after the container itself is certainly this attachment's.
      if (mine.attrs.pod === undefined) {
        const containerId = h.slice(prefix.length);
        await tearDownPodNetwork({
          netnsPath: "",
          containerIfName: "",
          hostIfName: `cali${containerId.slice(0, 11)}`,
        });
      }
    } catch (e) {
      errors.push(`${h}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0)
    throw new CniError(
      CNI_CODE.internal,
      `GC could not release ${errors.length} handle(s)`,
      errors.join("; "),
    );
}

/** `tabby-ipam`: the IPAM plugin alone, as a chained runtime or Calico's plugin calls it. */
export async function runIpamPlugin(
  req: CniRequest,
  conf: NetConf,
  env: Readonly<Record<string, string | undefined>>,
  deps: PluginDeps,
): Promise<object | undefined> {
  if (req.command === "VERSION") return versionResult(conf.cniVersion);
  checkVersion(conf.cniVersion);
  const s = new Session(conf, env, deps);
  try {
    const node = nodeName(conf);
    const w = workloadFor(node, req.containerId, req.ifName, req.args);
    switch (req.command) {
      case "ADD": {
        const ctx = await podContext(s, w);
        const want = addressRequest(conf, ctx.pod, ctx.ns, req.args);
        const ips = await s.withIpam((ipam) =>
          assignAddresses(ipam, identity(s, req, w), want, ctx.nsLabels, (deps.now ?? (() => new Date()))()),
        );
        return encodeResult({
          cniVersion: conf.cniVersion,
          ips: ips.map((a) => ({ address: a.cidr })),
          routes: ips.map((a) => ({ dst: a.cidr })),
          dns: {},
        });
      }
      case "DEL":
        await s.withIpam((ipam) => releaseAddresses(ipam, identity(s, req, w)));
        return undefined;
      case "CHECK": {
        const prev = conf.prevResult as { ips?: { address?: string }[] } | undefined;
        const addresses = (prev?.ips ?? [])
          .map((ip) => String(ip.address ?? "").split("/")[0]!)
          .filter(Boolean);
        const problems = await handleProblems(await s.ipam(), handleOf(identity(s, req, w)), addresses);
        if (problems.length > 0) throw new CniError(CNI_CODE.internal, problems[0]!, problems.join("; "));
        return undefined;
      }
      case "STATUS":
        await status(s);
        return undefined;
      case "GC":
        await gc(s);
        return undefined;
    }
  } finally {
    await s.close();
  }
}
