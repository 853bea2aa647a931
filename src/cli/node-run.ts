/**
 * `tabby node run`: the per-node agent, configured by calico-node's environment (docs/agent.md): reads
 * the settings (errors name the variable), picks the node's addresses by the autodetection method,
 * opens the datastore, writes the node name file for the CNI plugin, then runs the agent with its
 * health port, metrics and status socket until SIGTERM/SIGINT (Cease to every peer, routes left).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { serveAgentMetrics, serveAgentStatus, serveHealth } from "../agent/agent-servers.js";
import { serveBirdControl } from "../agent/bird-control.js";
import { nodeAddress } from "../agent/node-address.js";
import { NodeAgent } from "../agent/node-agent.js";
import { resolveRouterId } from "../agent/router-id.js";
import { defaultPoolResources, determineNodeName, parseSettings, SettingsError } from "../agent/settings.js";
import type { Resource } from "../api/meta.js";
import type { NodeSpec } from "../api/node.js";
import { serialiser, serveCniSocket } from "../cni/agent-socket.js";
import { DEFAULT_AGENT_SOCKET } from "../cni/netconf.js";
import { chooseDatastore } from "../datastore/choose.js";
import { openDatastore } from "../datastore/open.js";
import { openIpam } from "../ipam/open.js";
import { parseLoopbackListen } from "../lab/plan.js";
import { nodeObserver, serveTopology } from "../lab/web.js";
import { delay, systemClock } from "../util/clock.js";
import { isTabbyError } from "../util/errors.js";
import { childLogger, createLogger } from "../util/logger.js";
import type { CliIo } from "./io.js";

export const nodeRunUsage = `Usage: tabby node run [--health HOST:PORT] [--metrics HOST:PORT] [--socket PATH] [--web HOST:PORT]

Runs the node agent: registers this node, peers over BGP as Calico's resources say, programs routes and
tunnels, and serves health (FELIX_HEALTHHOST:FELIX_HEALTHPORT, default localhost:9099), metrics (when
FELIX_PROMETHEUSMETRICSENABLED=true, port 9091), the status socket
(default /var/run/tabby/node.sock) and the CNI plugin's calls (TABBY_CNI_SOCKET, default
/var/run/tabby/cni.sock). Configured by calico-node's environment variables (NODENAME, IP,
IP_AUTODETECTION_METHOD, AS, CALICO_ROUTER_ID, CALICO_NETWORKING_BACKEND, CALICO_IPV4POOL_*, ...) and
the datastore ones (DATASTORE_TYPE, KUBECONFIG, ETCD_ENDPOINTS); see docs/agent.md.
--web serves the live topology page for this node (sessions, pods, blocks, routes) on a loopback
address; off by default.
`;

/** What this command reads from the environment itself, besides the agent settings and the datastore's. */
export const NODE_RUN_ENV = [
  "CALICO_NAMESPACE",
  "POD_NAMESPACE",
  "NAMESPACE",
  "TABBY_STATUS_SOCKET",
  "TABBY_BIRD_SOCKET_DIR",
  "TABBY_CNI_SOCKET",
  "TABBY_LOG_LEVEL",
  "TABBY_MTU_FILE",
] as const;

export async function runNode(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  let values: { health?: string; metrics?: string; socket?: string; web?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        health: { type: "string" },
        metrics: { type: "string" },
        socket: { type: "string" },
        web: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.stderr(`tabby node run: ${(e as Error).message}\n\n${nodeRunUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(nodeRunUsage);
    return 0;
  }
  const web = values.web === undefined ? undefined : parseLoopbackListen(values.web);
  if (values.web !== undefined && web === undefined) {
    io.stderr(
      `tabby node run: --web: ${JSON.stringify(values.web)} is not a loopback HOST:PORT (e.g. 127.0.0.1:8080)\n`,
    );
    return 2;
  }
  const env = io.env;
  let settings: ReturnType<typeof parseSettings>;
  try {
    settings = parseSettings(env, hostname());
  } catch (e) {
    if (!(e instanceof SettingsError)) throw e;
    io.stderr(`tabby node run: ${e.message}\n`);
    return 2;
  }
  const choice = chooseDatastore(env);
  if ("error" in choice) {
    io.stderr(`tabby node run: ${choice.error}\n`);
    return 2;
  }
  const stored = await readFile(settings.nodenameFile, "utf8").catch(() => undefined);
  const nodeName = determineNodeName(settings, stored);
  const log = createLogger({ level: env.TABBY_LOG_LEVEL ?? "info", name: "tabby-node" }).child({
    node: nodeName,
  });

  // The CNI plugin reads the node name from here (Calico: /var/lib/calico/nodename).
  await mkdir(dirname(settings.nodenameFile), { recursive: true });
  await writeFile(settings.nodenameFile, nodeName);
  const mtuFile = env.TABBY_MTU_FILE || settings.mtuFile;
  await mkdir(dirname(mtuFile), { recursive: true });

  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    signal?.addEventListener("abort", stop, { once: true });
  });
  const stopped = stopRequested;
  const ds = await openDatastore(choice, {
    clock: systemClock,
    logger: childLogger(log, { component: "datastore" }),
  });
  let v4: string | undefined;
  let v6: string | undefined;
  let existing: Resource | undefined;
  // The datastore may not be up yet (a node booting with its control plane): retry, saying why.
  for (let pause = 1000; ; pause = Math.min(30_000, pause * 2)) {
    try {
      existing = await ds.get({ kind: "Node", name: nodeName });
      break;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "DATASTORE_NOT_FOUND") break;
      if (code !== "DATASTORE_IO") throw e;
      log.warn({ err: e, retryInMs: pause }, "datastore not reachable; retrying");
      const aborted = await Promise.race([
        delay(systemClock, pause).then(() => false),
        stopRequested.then(() => true),
      ]);
      if (aborted) {
        await ds.close();
        return 1;
      }
    }
  }
  try {
    v4 = await nodeAddress(settings, 4, existing);
    v6 = await nodeAddress(settings, 6, existing);
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabby node run: ${(e as Error).message}\n`);
    await ds.close();
    return 1;
  }
  log.info({ ipv4: v4, ipv6: v6 }, "node addresses");
  const storedV4 = (existing?.spec as NodeSpec | undefined)?.bgp?.ipv4Address;
  const routerId = resolveRouterId(settings.routerId, (v4 ?? storedV4)?.split("/")[0], nodeName);

  const ipam = openIpam(ds);
  const agent = new NodeAgent({
    ds,
    ipam,
    identity: {
      name: nodeName,
      ...(v4 !== undefined ? { ipv4: v4 } : {}),
      ...(v6 !== undefined ? { ipv6: v6 } : {}),
      ...(settings.asn !== undefined ? { asn: settings.asn } : {}),
    },
    backend: settings.networkingBackend,
    defaultPools: settings.noDefaultPools ? [] : defaultPoolResources(settings),
    ...(routerId !== undefined ? { routerId } : {}),
    secretNamespace: env.CALICO_NAMESPACE || env.POD_NAMESPACE || env.NAMESPACE || "kube-system",
    ...(settings.k8sNodeRef !== undefined ? { kubernetesNodeName: settings.k8sNodeRef } : {}),
    clock: systemClock,
    logger: log,
    mtuFile,
  });

  const servers: { close(): Promise<void> }[] = [];
  try {
    const hostPort = (h: string, p: number) => (h.includes(":") ? `[${h}]:${p}` : `${h || "0.0.0.0"}:${p}`);
    // Health always answers (the DaemonSet's probes use it); metrics when Felix's variable enables them.
    servers.push(
      await serveHealth(agent, values.health ?? hostPort(settings.health.host, settings.health.port)),
    );
    const metrics =
      values.metrics ??
      (settings.metrics.enabled ? hostPort(settings.metrics.host, settings.metrics.port) : undefined);
    if (metrics !== undefined) servers.push(await serveAgentMetrics(agent, metrics));
    servers.push(
      await serveAgentStatus(agent, values.socket ?? env.TABBY_STATUS_SOCKET ?? "/var/run/tabby/node.sock"),
    );
    // BIRD's control sockets, for calicoctl node status, birdc, readiness probes and the bird exporter.
    // A socket another process holds (a BIRD left running) costs only this view, not the node.
    if (settings.networkingBackend === "bird") {
      const dir = env.TABBY_BIRD_SOCKET_DIR || "/var/run/calico";
      const sockets: ["ipv4" | "ipv6", string][] = [["ipv4", "bird.ctl"]];
      if (v6 !== undefined) sockets.push(["ipv6", "bird6.ctl"]);
      for (const [family, file] of sockets) {
        try {
          servers.push(await serveBirdControl(join(dir, file), () => agent.birdView(family)));
        } catch (e) {
          if (!isTabbyError(e)) throw e;
          log.error({ err: e.message, file: join(dir, file) }, "BIRD control socket not served");
        }
      }
    }
    if (web !== undefined) {
      const page = await serveTopology(
        web,
        nodeObserver({
          node: nodeName,
          address: () => v4 ?? storedV4 ?? "",
          status: () => agent.status(),
          ds,
          clock: systemClock,
        }),
        systemClock,
      );
      servers.push(page);
      log.info({ url: page.url }, "topology page");
    }
    // The CNI plugin's fast path: the installed shim forwards each pod's call here.
    servers.push(
      await serveCniSocket(env.TABBY_CNI_SOCKET || DEFAULT_AGENT_SOCKET, {
        logger: log,
        shared: { ds, ipam },
        serialiseIpam: serialiser(),
        agentReadiness: () => agent.status(),
      }),
    );
  } catch (e) {
    io.stderr(`tabby node run: ${(e as Error).message}\n`);
    for (const s of servers) await s.close();
    await ds.close();
    return 1;
  }
  const started = agent.start().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  const first = await Promise.race([started, stopped.then(() => "stop" as const)]);
  let code = 0;
  if (first instanceof Error) {
    log.error({ err: first }, "node agent could not start");
    io.stderr(`tabby node run: ${first.message}\n`);
    code = 1;
  } else {
    if (first === undefined) {
      log.info("node agent running");
      await stopped;
    }
    log.info("node agent stopping");
  }
  await agent.stop();
  for (const s of servers) await s.close();
  await ds.close();
  return code;
}
