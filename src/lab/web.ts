/**
 * Serves the topology page on loopback while the lab is up: `/` the page, `/events` server-sent
 * events (one Topology per change), `/topology.json` the current one. The observer asks every agent's
 * status socket twice a second (so a killed agent shows within a second) and reads block affinities
 * and each node's pod routes every two seconds; a snapshot is pushed only when it changed.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { AgentStatus } from "../agent/node-agent.js";
import { statusGet } from "../bgp/status-server.js";
import type { Datastore } from "../datastore/types.js";
import { type Clock, delay } from "../util/clock.js";
import { ip } from "./host.js";
import { TOPOLOGY_PAGE } from "./page.js";
import type { LabPlan } from "./plan.js";
import type { PodAddress } from "./report.js";
import { type AgentAnswer, buildTopology, type Topology } from "./topology.js";

export interface TopologyServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface ObserveInputs {
  readonly plan: LabPlan;
  readonly pods: () => readonly PodAddress[];
  readonly ds: Datastore;
  readonly nodeDir: (node: string) => string;
  readonly clock: Clock;
}

async function agentAnswer(socket: string): Promise<AgentAnswer> {
  try {
    const s = await statusGet<AgentStatus>(socket, "/status");
    return {
      ready: s.ready,
      notReady: s.notReady,
      peers: s.peers.map((p) => ({
        name: p.name,
        address: p.address,
        state: p.state,
        ...(p.lastError ? { lastError: p.lastError } : {}),
      })),
    };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      error: code === "ENOENT" || code === "ECONNREFUSED" ? "agent not running" : (e as Error).message,
    };
  }
}

async function blockAffinities(ds: Datastore): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const r of (await ds.list("BlockAffinity")).items) {
    const spec = r.spec as { node?: string; cidr?: string; state?: string };
    if (spec.node === undefined || spec.cidr === undefined || spec.state === "pendingDeletion") continue;
    out.set(spec.node, [...(out.get(spec.node) ?? []), spec.cidr].sort());
  }
  return out;
}

async function podRoutes(plan: LabPlan): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const prefix = plan.pool.cidr.split(".").slice(0, 2).join(".");
  await Promise.all(
    plan.nodes.map(async (n) => {
      const r = await ip(n.netns, "-4", "route", "show").catch(() => ({ stdout: "" }));
      out.set(
        n.name,
        r.stdout
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l.startsWith(`${prefix}.`) || l.startsWith("blackhole")),
      );
    }),
  );
  return out;
}

/**
 * The lab's picture, gathered: agents every call, block affinities and pod routes at most every 2 s.
 */
export function labObserver(o: ObserveInputs): () => Promise<Topology> {
  let blocks = new Map<string, string[]>();
  let routes = new Map<string, string[]>();
  let slowAt = 0;
  return async () => {
    if (o.clock.now() >= slowAt) {
      slowAt = o.clock.now() + 2_000;
      blocks = await blockAffinities(o.ds).catch(() => blocks);
      routes = await podRoutes(o.plan);
    }
    const agents = new Map<string, AgentAnswer>();
    await Promise.all(
      o.plan.nodes.map(async (n) =>
        agents.set(n.name, await agentAnswer(join(o.nodeDir(n.name), "node.sock"))),
      ),
    );
    return buildTopology({
      plan: o.plan,
      pods: o.pods(),
      agents,
      blocks,
      routes,
      wallTime: o.clock.wallTime(),
    });
  };
}

/** Serves the page and pushes `observe()`'s picture every 500 ms when it changed. */
export async function serveTopology(
  listen: { host: string; port: number },
  observe: () => Promise<Topology>,
  clock: Clock,
): Promise<TopologyServer> {
  let current: Topology | undefined;
  let text = "";
  const clients = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(TOPOLOGY_PAGE);
    } else if (path === "/topology.json") {
      res.writeHead(current ? 200 : 503, { "content-type": "application/json" });
      res.end(current ? text : '{"error":"not observed yet"}');
    } else if (path === "/events") {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write("retry: 1000\n\n");
      if (current) res.write(`data: ${text}\n\n`);
      clients.add(res);
      req.on("close", () => clients.delete(res));
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as { address: string; port: number };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const next = await observe().catch(() => current);
      if (next !== undefined) {
        // `at` changes every pass; compare the rest.
        const same =
          current !== undefined &&
          JSON.stringify({ ...next, at: "" }) === JSON.stringify({ ...current, at: "" });
        if (!same) {
          current = next;
          text = JSON.stringify(next);
          for (const c of clients) c.write(`data: ${text}\n\n`);
        }
      }
      await delay(clock, 500);
    }
  };
  const running = loop();
  return {
    url: `http://${addr.address}:${addr.port}/`,
    async close() {
      stopped = true;
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.catch(() => undefined);
    },
  };
}

export interface NodeObserveInputs {
  readonly node: string;
  readonly address: () => string;
  readonly status: () => AgentStatus;
  readonly ds: Datastore;
  readonly clock: Clock;
}

/**
 * One real node's picture, for `tabby node run --web`: its agent's sessions, the pods the datastore
 * places on it, its blocks, and the kernel's pod routes (Calico's protocols, cali* veths, tunnels,
 * blackholes), the slow parts at most every 2 s.
 */
export function nodeObserver(o: NodeObserveInputs): () => Promise<Topology> {
  let slowAt = 0;
  let pods: PodAddress[] = [];
  let blocks: string[] = [];
  let routes: string[] = [];
  let pools = "";
  return async () => {
    if (o.clock.now() >= slowAt) {
      slowAt = o.clock.now() + 2_000;
      const [weps, affinities, ippools] = await Promise.all([
        o.ds.list("WorkloadEndpoint"),
        blockAffinities(o.ds),
        o.ds.list("IPPool"),
      ]);
      pods = weps.items
        .filter((w) => (w.spec as { node?: string }).node === o.node)
        .map((w) => {
          const s = w.spec as { pod?: string; workload?: string; ipNetworks?: string[] };
          return {
            name: s.pod ?? s.workload ?? w.metadata.name,
            node: o.node,
            ip: (s.ipNetworks?.[0] ?? "").split("/")[0]!,
          };
        });
      blocks = affinities.get(o.node) ?? [];
      pools = ippools.items
        .map((p) => {
          const s = p.spec as { cidr?: string; ipipMode?: string; vxlanMode?: string };
          return `${s.cidr} ipipMode ${s.ipipMode ?? "Never"} vxlanMode ${s.vxlanMode ?? "Never"}`;
        })
        .join(", ");
      const r = await ip(undefined, "-4", "route", "show").catch(() => ({ stdout: "" }));
      routes = r.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => /proto (bird|80)\b|dev cali|^blackhole|vxlan\.calico|tunl0/.test(l));
    }
    const s = o.status();
    return {
      at: new Date(o.clock.wallTime()).toISOString(),
      encap: "per pool",
      pool: pools,
      nodes: [
        {
          name: o.node,
          ip: o.address(),
          segment: "",
          agent: s.ready ? "ready" : "not ready",
          ...(s.ready ? {} : { reason: s.notReady.join("; ") }),
          sessions: s.peers.map((p) => ({
            name: p.name,
            peer: p.address,
            state: p.state,
            up: p.state === "Established",
            ...(p.lastError ? { info: p.lastError } : {}),
          })),
          pods,
          blocks,
          routes,
        },
      ],
    };
  };
}
