/**
 * `tabbyctl node status --all`: every node of the cluster at once, from the datastore rather than this
 * host's BIRD socket. Each node's agent reports into its CalicoNodeStatus resource (Calico's way to
 * ask a node for its status: spec.node, classes, updatePeriodSeconds), so the command prints, per
 * Node, the BGP table of its latest report in calicoctl's shape, says when the report is stale (older
 * than three periods: the agent has stopped reporting), and names the nodes that have no
 * CalicoNodeStatus with the YAML that asks for one. Exit status: 0 when every node reported and every
 * session is Established, 3 when the table shows something that is not, 1 when the datastore cannot
 * be read.
 */
import { stringify } from "yaml";
import type { CalicoNodePeer, CalicoNodeStatusStatus } from "../../api/calico-node-status.js";
import type { Resource } from "../../api/meta.js";
import { renderPeers } from "./node-status.js";

const TYPE_WORDS: Record<
  NonNullable<CalicoNodePeer["type"]>,
  "node-to-node mesh" | "global" | "node specific"
> = {
  NodeMesh: "node-to-node mesh",
  GlobalPeer: "global",
  NodePeer: "node specific",
};

export interface NodeReport {
  readonly node: string;
  /** Undefined: the node has no CalicoNodeStatus. */
  readonly status?: CalicoNodeStatusStatus;
  readonly statusName?: string;
  readonly stale?: string;
}

/** Matches each Node with the freshest CalicoNodeStatus for it. Pure. */
export function nodeReports(
  nodes: readonly Resource[],
  statuses: readonly Resource[],
  nowMs: number,
): NodeReport[] {
  return nodes
    .map((n) => n.metadata.name)
    .sort()
    .map((node): NodeReport => {
      const mine = statuses
        .filter((s) => (s.spec as { node?: string }).node === node)
        .sort((a, b) => lastUpdated(b).localeCompare(lastUpdated(a)))[0];
      if (mine === undefined) return { node };
      const status = (mine.status ?? {}) as CalicoNodeStatusStatus;
      const period = (mine.spec as { updatePeriodSeconds?: number }).updatePeriodSeconds ?? 10;
      const at = status.lastUpdated !== undefined ? Date.parse(status.lastUpdated) : Number.NaN;
      const age = Math.round((nowMs - at) / 1000);
      const stale =
        status.lastUpdated === undefined
          ? "never updated: is the node's agent running?"
          : period > 0 && age > 3 * period
            ? `last updated ${age} s ago (period ${period} s): is the node's agent running?`
            : undefined;
      return { node, status, statusName: mine.metadata.name, ...(stale !== undefined ? { stale } : {}) };
    });
}

const lastUpdated = (r: Resource) =>
  String((r.status as { lastUpdated?: string } | undefined)?.lastUpdated ?? "");

function rows(peers: readonly CalicoNodePeer[]) {
  return peers.map((p) => ({
    peerAddress: p.peerIP ?? "",
    peerType: TYPE_WORDS[p.type ?? "GlobalPeer"],
    state: p.state === "Established" ? "up" : "start",
    since: (p.since ?? "").replace(/^\d{4}-\d\d-\d\dT/, "").replace(/Z$/, ""),
    bgpState: p.state ?? "",
    info: "",
  }));
}

/** Whether everything the reports show is up. Pure. */
export function allUp(reports: readonly NodeReport[]): boolean {
  return reports.every(
    (r) =>
      r.status !== undefined &&
      r.stale === undefined &&
      (r.status.bgp?.numberNotEstablishedV4 ?? 0) === 0 &&
      (r.status.bgp?.numberNotEstablishedV6 ?? 0) === 0,
  );
}

/** The text `--all` prints. Pure. */
export function renderNodeReports(reports: readonly NodeReport[]): string {
  let out = "";
  const missing: string[] = [];
  for (const r of reports) {
    if (r.status === undefined) {
      missing.push(r.node);
      continue;
    }
    const bgp = r.status.bgp;
    out += `Node ${r.node} (CalicoNodeStatus ${r.statusName}, updated ${r.status.lastUpdated ?? "never"})\n`;
    if (r.stale !== undefined) out += `WARNING: ${r.stale}\n`;
    for (const [n, peers] of [
      [4, bgp?.peersV4 ?? []],
      [6, bgp?.peersV6 ?? []],
    ] as const) {
      if (n === 6 && peers.length === 0) continue;
      out += `\nIPv${n} BGP status\n`;
      out += peers.length === 0 ? `No IPv${n} peers found.\n` : renderPeers(rows(peers));
    }
    out += "\n";
  }
  if (missing.length > 0) {
    out += `No CalicoNodeStatus for ${missing.join(", ")}: their agents report only when asked. To ask, apply:\n`;
    out += missing
      .map((node) =>
        stringify({
          apiVersion: "projectcalico.org/v3",
          kind: "CalicoNodeStatus",
          metadata: { name: `${node}-status` },
          spec: { node, classes: ["Agent", "BGP", "Routes"], updatePeriodSeconds: 10 },
        }),
      )
      .join("---\n");
  }
  return out;
}

/** `-o json|yaml`: the reports as data. Pure. */
export function reportsDocument(reports: readonly NodeReport[]): unknown {
  return {
    allUp: allUp(reports),
    nodes: reports.map((r) => ({
      node: r.node,
      ...(r.statusName !== undefined ? { calicoNodeStatus: r.statusName } : { calicoNodeStatus: null }),
      ...(r.stale !== undefined ? { stale: r.stale } : {}),
      ...(r.status !== undefined ? { status: r.status } : {}),
    })),
  };
}
