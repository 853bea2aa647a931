/**
 * Prometheus metrics of a BGP speaker (prom-client), read from the speaker's status when scraped, so
 * the speaker itself keeps no metric objects: sessions by state, prefixes per peer, family and direction,
 * messages in and out by type, session flaps, prefix-limit trips, Loc-RIB size. Served over HTTP at /metrics.
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";
import type { Speaker } from "../../bgp/speaker/speaker.js";

const STATES = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"];

export function speakerRegistry(speaker: Speaker): Registry {
  const registry = new Registry();
  new Gauge({
    name: "tabby_bgp_sessions",
    help: "BGP sessions by FSM state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const counts = new Map(STATES.map((s) => [s, 0]));
      for (const p of speaker.peerStatus()) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "tabby_bgp_session_up",
    help: "1 when the session with the peer is Established",
    labelNames: ["peer", "peer_as"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.peerStatus())
        this.set({ peer: p.address, peer_as: String(p.asn) }, p.state === "Established" ? 1 : 0);
    },
  });
  new Gauge({
    name: "tabby_bgp_prefixes",
    help: "Prefixes per peer and family: received, accepted (after import policy) and advertised",
    labelNames: ["peer", "family", "direction"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.peerStatus()) {
        for (const family of ["ipv4", "ipv6"] as const) {
          const c = p.prefixes[family];
          this.set({ peer: p.address, family, direction: "received" }, c.received);
          this.set({ peer: p.address, family, direction: "accepted" }, c.accepted);
          this.set({ peer: p.address, family, direction: "advertised" }, c.advertised);
        }
      }
    },
  });
  new Counter({
    name: "tabby_bgp_messages_total",
    help: "BGP messages sent and received, by peer and type",
    labelNames: ["peer", "direction", "type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.peerStatus()) {
        for (const [type, n] of Object.entries(p.messages.sent))
          if (n > 0) this.inc({ peer: p.address, direction: "out", type }, n);
        for (const [type, n] of Object.entries(p.messages.received))
          if (n > 0) this.inc({ peer: p.address, direction: "in", type }, n);
      }
    },
  });
  new Counter({
    name: "tabby_bgp_session_flaps_total",
    help: "Times an Established session went down",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.peerStatus()) if (p.flaps > 0) this.inc({ peer: p.address }, p.flaps);
    },
  });
  new Counter({
    name: "tabby_bgp_prefix_limit_trips_total",
    help: "Times a peer's accepted prefixes went over its limit (maxPrefixes), by family, whatever the action",
    labelNames: ["peer", "family"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of speaker.peerStatus())
        for (const l of p.prefixLimits ?? []) this.inc({ peer: p.address, family: l.family }, l.trips);
    },
  });
  new Gauge({
    name: "tabby_bgp_routes",
    help: "Prefixes in the Loc-RIB",
    labelNames: ["family"],
    registers: [registry],
    collect() {
      this.set({ family: "ipv4" }, speaker.routeCount("ipv4"));
      this.set({ family: "ipv6" }, speaker.routeCount("ipv6"));
    },
  });
  return registry;
}

/** Serves `registry` at http://listen/metrics; `listen` is host:port ([v6]:port for IPv6). */
export async function serveMetrics(
  registry: Registry,
  listen: string,
): Promise<{ close(): Promise<void>; port: number }> {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (m === null) throw new Error(`metrics listen address must be host:port, got ${JSON.stringify(listen)}`);
  const server: Server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("see /metrics\n");
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(m[2]), m[1], () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr !== null ? addr.port : Number(m[2]),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
