/**
 * What the agent serves: `/liveness` and `/readiness` over HTTP (calico-node's health port 9099;
 * readiness with bird-ready semantics: every BGP session Established, felix has programmed, the
 * datastore view is complete; the body says why not), Prometheus metrics (Felix's port 9091: the BGP
 * speaker's collectors plus the agent's own counters), and the status socket `tabbyctl node status`
 * reads (HTTP over a root-only unix socket: GET /status, /peers, /rib?family=&prefix=).
 */
import { createServer, type Server } from "node:http";
import { Gauge, Registry } from "prom-client";
import { speakerRegistry } from "../bgp/metrics.js";
import { TabbyError } from "../util/errors.js";
import { listenUnix } from "../util/unix-socket.js";
import type { NodeAgent } from "./node-agent.js";

export interface Closable {
  close(): Promise<void>;
  readonly port?: number;
}

function splitListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (m === null)
    throw new TabbyError(
      "AGENT_BAD_LISTEN",
      `listen address must be host:port, got ${JSON.stringify(listen)}`,
      { value: listen },
    );
  return { host: m[1]!, port: Number(m[2]) };
}

async function listenHttp(server: Server, listen: string): Promise<Closable> {
  const { host, port } = splitListen(listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr !== null ? addr.port : port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export function serveHealth(agent: NodeAgent, listen: string): Promise<Closable> {
  const server = createServer((req, res) => {
    const s = agent.status();
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/liveness") {
      res.writeHead(s.live ? 204 : 503).end();
    } else if (path === "/readiness") {
      if (s.ready) res.writeHead(204).end();
      else res.writeHead(503, { "content-type": "text/plain" }).end(`${s.notReady.join("\n")}\n`);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("try /liveness or /readiness\n");
    }
  });
  return listenHttp(server, listen);
}

function agentRegistry(agent: NodeAgent): Registry {
  const registry = new Registry();
  const counter = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  counter("tabby_agent_ready", "1 when the agent is ready (readiness probe)", () =>
    agent.status().ready ? 1 : 0,
  );
  counter(
    "tabby_agent_recomputes_total",
    "recomputations from datastore changes",
    () => agent.counters.recomputes,
  );
  counter(
    "tabby_agent_bgp_reconfigures_total",
    "BGP configuration changes applied",
    () => agent.counters.reconfigures,
  );
  counter(
    "tabby_agent_bgp_session_resets_total",
    "sessions reset by configuration changes",
    () => agent.counters.sessionResets,
  );
  counter("tabby_felix_passes_total", "dataplane passes", () => agent.counters.felixPasses);
  counter(
    "tabby_felix_route_writes_total",
    "kernel route replaces and deletes",
    () => agent.counters.routeWrites,
  );
  counter("tabby_agent_learned_routes", "best paths learned over BGP", () => agent.status().learnedRoutes);
  counter(
    "tabby_datastore_events_total",
    "datastore watch events applied",
    () => agent.status().datastore.events,
  );
  return registry;
}

export function serveAgentMetrics(agent: NodeAgent, listen: string): Promise<Closable> {
  const own = agentRegistry(agent);
  let bgp: { speaker: unknown; registry: Registry } | undefined;
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("see /metrics\n");
      return;
    }
    const speaker = agent.bgp;
    if (speaker !== undefined && bgp?.speaker !== speaker)
      bgp = { speaker, registry: speakerRegistry(speaker) };
    const parts = [
      own.metrics(),
      speaker !== undefined && bgp ? bgp.registry.metrics() : Promise.resolve(""),
    ];
    Promise.all(parts).then(
      (bodies) => res.writeHead(200, { "content-type": own.contentType }).end(bodies.join("")),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  return listenHttp(server, listen);
}

export async function serveAgentStatus(agent: NodeAgent, path: string): Promise<Closable> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body)}\n`);
    };
    try {
      switch (url.pathname) {
        case "/status":
        case "/summary":
          return send(200, agent.status());
        case "/peers":
          return send(200, agent.status().peers);
        case "/rib": {
          const family = url.searchParams.get("family") ?? "ipv4";
          if (family !== "ipv4" && family !== "ipv6")
            return send(400, { error: "family must be ipv4 or ipv6" });
          return send(200, agent.bgp?.ribEntries(family, url.searchParams.get("prefix") ?? undefined) ?? []);
        }
        default:
          return send(404, { error: `no ${url.pathname}; try /status, /peers, /rib` });
      }
    } catch (e) {
      return send(400, { error: (e as Error).message });
    }
  });
  const close = await listenUnix(
    server,
    path,
    0o600,
    () =>
      new TabbyError("STATUS_SOCKET_BUSY", "another agent already serves this status socket", { file: path }),
    () => server.closeAllConnections(),
  );
  return { close };
}
