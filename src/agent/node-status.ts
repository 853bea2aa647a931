/**
 * CalicoNodeStatus: an operator asks for one node's agent, BGP and route status by creating the
 * resource (spec.node, spec.classes, spec.updatePeriodSeconds); the node's agent fills `status` every
 * period, as calico-node's status reporter does (node/pkg/status). Peers are typed by their session
 * name (Mesh_ = NodeMesh, Node_ = NodePeer, Global_ = GlobalPeer; other names, such as Local_Workload_,
 * are left out, as the reporter's `^(Global|Node|Mesh)_` regex does); routes are the speaker's best paths
 * (type RIB, learned from the mesh or a BGP peer). A period of 0 means no updates. Pure.
 */
import type { PeerStatus, RibPath } from "../../bgp/speaker/views.js";
import type {
  CalicoNodePeer,
  CalicoNodeRoute,
  CalicoNodeStatusSpec,
  CalicoNodeStatusStatus,
} from "../api/calico-node-status.js";
import type { Resource } from "../api/meta.js";

export interface StatusInputs {
  readonly nodeName: string;
  readonly ready: boolean;
  readonly routerId?: string;
  readonly startedAt: number;
  readonly lastReconfiguredAt?: number;
  readonly peers: readonly PeerStatus[];
  readonly routes: { readonly ipv4: readonly RibPath[]; readonly ipv6: readonly RibPath[] };
  readonly now: number;
  readonly version: string;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function peerType(name: string): CalicoNodePeer["type"] {
  if (name.startsWith("Mesh_")) return "NodeMesh";
  if (name.startsWith("Node_")) return "NodePeer";
  return "GlobalPeer";
}

function peerState(state: string): CalicoNodePeer["state"] {
  const known = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"];
  return (known.includes(state) ? state : "Close") as CalicoNodePeer["state"];
}

/** The CalicoNodeStatus resources this agent owes an update now. */
export function statusesDue(all: readonly Resource[], nodeName: string, now: number): Resource[] {
  return all.filter((r) => {
    const spec = r.spec as CalicoNodeStatusSpec;
    if (spec.node !== nodeName || !(spec.updatePeriodSeconds > 0)) return false;
    const last = (r.status as CalicoNodeStatusStatus | undefined)?.lastUpdated;
    const lastMs = last === undefined ? Number.NaN : Date.parse(last);
    return Number.isNaN(lastMs) || now - lastMs >= spec.updatePeriodSeconds * 1000;
  });
}

export function nodeStatus(spec: CalicoNodeStatusSpec, x: StatusInputs): CalicoNodeStatusStatus {
  const out: CalicoNodeStatusStatus = { lastUpdated: iso(x.now) };
  const v6 = (p: PeerStatus) => p.address.includes(":");
  if (spec.classes.includes("Agent")) {
    const daemon = {
      state: x.ready ? ("Ready" as const) : ("NotReady" as const),
      version: x.version,
      ...(x.routerId !== undefined ? { routerID: x.routerId } : {}),
      lastBootTime: iso(x.startedAt),
      ...(x.lastReconfiguredAt !== undefined ? { lastReconfigurationTime: iso(x.lastReconfiguredAt) } : {}),
    };
    out.agent = { birdV4: daemon, birdV6: daemon };
  }
  if (spec.classes.includes("BGP")) {
    const view = (p: PeerStatus): CalicoNodePeer => ({
      peerIP: p.address,
      type: peerType(p.name),
      state: peerState(p.state),
      since: iso(p.since),
    });
    const listed = x.peers.filter((p) => /^(Global|Node|Mesh)_/.test(p.name));
    const v4 = listed.filter((p) => !v6(p));
    const six = listed.filter(v6);
    const up = (ps: readonly PeerStatus[]) => ps.filter((p) => p.state === "Established").length;
    out.bgp = {
      numberEstablishedV4: up(v4),
      numberNotEstablishedV4: v4.length - up(v4),
      numberEstablishedV6: up(six),
      numberNotEstablishedV6: six.length - up(six),
      peersV4: v4.map(view),
      peersV6: six.map(view),
    };
  }
  if (spec.classes.includes("Routes")) {
    const byAddress = new Map(x.peers.map((p) => [p.address, p.name]));
    const view = (r: RibPath): CalicoNodeRoute => ({
      type: "RIB",
      destination: r.prefix,
      gateway: r.nextHop === "self" ? "" : r.nextHop,
      interface: "",
      learnedFrom:
        r.from === "local"
          ? { sourceType: "Static" }
          : {
              sourceType: (byAddress.get(r.from) ?? "").startsWith("Mesh_") ? "NodeMesh" : "BGPPeer",
              peerIP: r.from,
            },
    });
    out.routes = {
      routesV4: x.routes.ipv4.filter((r) => r.best).map(view),
      routesV6: x.routes.ipv6.filter((r) => r.best).map(view),
    };
  }
  return out;
}
