/**
 * The lab's live picture: what the topology page shows, built from the plan, each agent's status (or
 * the fact that it does not answer), the datastore's block affinities and each node's kernel routes.
 * Pure: the observer (web.ts) gathers the inputs and pushes each new snapshot to the page.
 */
import type { LabPlan } from "./plan.js";
import type { PodAddress } from "./report.js";

export interface SessionView {
  /** Calico's protocol name: Mesh_198_18_0_12, Global_198_18_0_254, Node_... */
  readonly name: string;
  readonly peer: string;
  readonly state: string;
  readonly up: boolean;
  readonly info?: string;
}

export interface NodeView {
  readonly name: string;
  readonly ip: string;
  readonly segment: string;
  /** "ready", "not ready", or "down" when its status socket does not answer. */
  readonly agent: "ready" | "not ready" | "down";
  readonly reason?: string;
  readonly sessions: readonly SessionView[];
  readonly pods: readonly PodAddress[];
  readonly blocks: readonly string[];
  readonly routes: readonly string[];
}

export interface Topology {
  readonly at: string;
  readonly encap: string;
  readonly pool: string;
  readonly tor?: { readonly kind: string; readonly ip: string };
  readonly nodes: readonly NodeView[];
}

/** What one agent said, or why it said nothing. */
export type AgentAnswer =
  | {
      readonly ready: boolean;
      readonly notReady: readonly string[];
      readonly peers: readonly { name: string; address: string; state: string; lastError?: string }[];
    }
  | { readonly error: string };

export interface TopologyInputs {
  readonly plan: LabPlan;
  readonly pods: readonly PodAddress[];
  readonly agents: ReadonlyMap<string, AgentAnswer>;
  /** Block CIDRs by the node they are affine to. */
  readonly blocks: ReadonlyMap<string, readonly string[]>;
  readonly routes: ReadonlyMap<string, readonly string[]>;
  readonly wallTime: number;
}

export function buildTopology(i: TopologyInputs): Topology {
  const p = i.plan;
  const nodes = p.nodes.map((n): NodeView => {
    const a = i.agents.get(n.name) ?? { error: "not asked yet" };
    const base = {
      name: n.name,
      ip: n.ip,
      segment: n.segment.subnet,
      pods: i.pods.filter((x) => x.node === n.name),
      blocks: i.blocks.get(n.name) ?? [],
      routes: i.routes.get(n.name) ?? [],
    };
    if ("error" in a) {
      // A dead agent's sessions are down whatever it last said: show each planned one as such.
      return { ...base, agent: "down", reason: a.error, sessions: expectedSessions(p, n.name, a.error) };
    }
    return {
      ...base,
      agent: a.ready ? "ready" : "not ready",
      ...(a.ready ? {} : { reason: a.notReady.join("; ") }),
      sessions: a.peers.map((s) => ({
        name: s.name,
        peer: s.address,
        state: s.state,
        up: s.state === "Established",
        ...(s.lastError ? { info: s.lastError } : {}),
      })),
    };
  });
  return {
    at: new Date(i.wallTime).toISOString(),
    encap: p.options.encap,
    pool: `${p.pool.cidr} ipipMode ${p.pool.ipipMode} vxlanMode ${p.pool.vxlanMode}`,
    ...(p.tor !== undefined ? { tor: { kind: p.tor, ip: p.segments[0]!.gateway } } : {}),
    nodes,
  };
}

const protocolName = (kind: string, ip: string) => `${kind}_${ip.replaceAll(".", "_")}`;

/** The sessions a node would have: the mesh to every other node, and its ToR peer. */
function expectedSessions(p: LabPlan, node: string, why: string): SessionView[] {
  if (p.backend !== "bird") return [];
  const out: SessionView[] = p.nodes
    .filter((o) => o.name !== node)
    .map((o) => ({ name: protocolName("Mesh", o.ip), peer: o.ip, state: "down", up: false, info: why }));
  for (const peer of p.peers)
    if (peer.node === undefined || peer.node === node)
      out.push({
        name: protocolName(peer.node === undefined ? "Global" : "Node", peer.peerIP),
        peer: peer.peerIP,
        state: "down",
        up: false,
        info: why,
      });
  return out;
}
