/**
 * What a new speaker configuration changes, peer by peer, so that the speaker touches only that (as
 * BIRD's `configure` does: a protocol restarts only when its session parameters changed, a filter
 * change is a re-export or a route refresh). A peer is reset when anything its session is built from
 * differs (the OPEN we send, the AS we expect, address, port, MD5 key, TTL, timers: sessionConfig's
 * whole output) or it becomes or stops being a route-reflector client; it is updated in place when only its policies, route-reflection or next-hop settings,
 * its prefix limits (applied to the routes already in, as FRR does) or its name changed. Pure: compares
 * two configurations, reads nothing.
 */
import type { Policy } from "../policy/policy.js";
import type { OriginateConfig, PeerConfig, SpeakerConfig } from "./config.js";
import { sessionConfig } from "./peer-session.js";

export interface PeerPlan {
  readonly address: string;
  readonly action: "add" | "remove" | "reset" | "update";
  /** Why, in words (the fields that changed), for logs and for the agent's counters. */
  readonly changed: readonly string[];
  /** update: the export side changed (policy, reflection, next hop): re-export without a reset. */
  readonly reexport: boolean;
  /** update: the import side changed (policy, own-AS allowance): ask the peer for its routes again. */
  readonly reimport: boolean;
  /** The peer's MD5 key on the listening socket changes (add, remove, or a new key). */
  readonly listenerKey: boolean;
  /** update: maxPrefixes changed: check the current counts against the new limits, no reset. */
  readonly limits: boolean;
}

export interface ReconfigurePlan {
  readonly peers: readonly PeerPlan[];
  /** The listening socket must be reopened (address or port changed). */
  readonly relisten: boolean;
  readonly originateAdd: readonly OriginateConfig[];
  readonly originateRemove: readonly string[];
}

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Array.from(x) : x));

function policyText(cfg: SpeakerConfig, name: string | undefined): string {
  if (name === undefined) return "";
  const p: Policy | undefined = cfg.policies?.[name];
  return p === undefined ? name : `${name}=${json(p)}`;
}

const EXPORT_FIELDS = ["nextHop", "nextHopSelf"] as const;
const IMPORT_FIELDS = ["allowOwnAs"] as const;

function peerDiff(old: SpeakerConfig, next: SpeakerConfig, a: PeerConfig, b: PeerConfig): PeerPlan {
  const changed: string[] = [];
  const sa = sessionConfig(old, a);
  const sb = sessionConfig(next, b);
  const listenerKey = (a.password ?? "") !== (b.password ?? "");
  // A client's routes are reflected differently to every other peer: a change restarts the session,
  // as in BIRD, rather than re-exporting everything the peer sent.
  const rrClient = (a.routeReflectorClient ?? false) !== (b.routeReflectorClient ?? false);
  if (json(sa) !== json(sb) || listenerKey || rrClient) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof PeerConfig>) {
      if (json(a[k]) !== json(b[k])) changed.push(k);
    }
    if (changed.length === 0) changed.push("speaker settings");
    return {
      address: b.address,
      action: "reset",
      changed,
      reexport: false,
      reimport: false,
      listenerKey,
      limits: false,
    };
  }
  let reexport = policyText(old, a.exportPolicy) !== policyText(next, b.exportPolicy);
  if (reexport) changed.push("exportPolicy");
  for (const k of EXPORT_FIELDS) {
    if (json(a[k]) !== json(b[k])) {
      changed.push(k);
      reexport = true;
    }
  }
  if ((old.clusterId ?? old.routerId) !== (next.clusterId ?? next.routerId)) {
    changed.push("clusterId");
    reexport = true;
  }
  let reimport = policyText(old, a.importPolicy) !== policyText(next, b.importPolicy);
  if (reimport) changed.push("importPolicy");
  for (const k of IMPORT_FIELDS) {
    if (json(a[k]) !== json(b[k])) {
      changed.push(k);
      reimport = true;
    }
  }
  const limits = json(a.maxPrefixes ?? {}) !== json(b.maxPrefixes ?? {});
  if (limits) changed.push("maxPrefixes");
  // BFD intervals change by a Poll Sequence (RFC 5880 §6.8.3), never by a BGP reset.
  if (json(a.bfd ?? null) !== json(b.bfd ?? null)) changed.push("bfd");
  if ((a.name ?? "") !== (b.name ?? "")) changed.push("name");
  return {
    address: b.address,
    action: "update",
    changed,
    reexport,
    reimport,
    listenerKey: false,
    limits,
  };
}

export function planReconfigure(old: SpeakerConfig, next: SpeakerConfig): ReconfigurePlan {
  const before = new Map(old.peers.map((p) => [p.address, p]));
  const after = new Map(next.peers.map((p) => [p.address, p]));
  const peers: PeerPlan[] = [];
  for (const [address, p] of before) {
    if (!after.has(address)) {
      peers.push({
        address,
        action: "remove",
        changed: [],
        reexport: false,
        reimport: false,
        listenerKey: p.password !== undefined,
        limits: false,
      });
    }
  }
  for (const [address, b] of after) {
    const a = before.get(address);
    if (a === undefined) {
      peers.push({
        address,
        action: "add",
        changed: [],
        reexport: false,
        reimport: false,
        listenerKey: b.password !== undefined,
        limits: false,
      });
      continue;
    }
    const d = peerDiff(old, next, a, b);
    if (d.action === "reset" || d.changed.length > 0) peers.push(d);
  }
  const relisten =
    (old.listen?.address ?? "") !== (next.listen?.address ?? "") ||
    (old.listen?.port ?? 179) !== (next.listen?.port ?? 179) ||
    (old.listen === undefined) !== (next.listen === undefined);
  const oldOrig = new Map((old.originate ?? []).map((o) => [o.prefix, json(o)]));
  const newOrig = new Map((next.originate ?? []).map((o) => [o.prefix, o]));
  const originateAdd = [...newOrig.values()].filter((o) => oldOrig.get(o.prefix) !== json(o));
  const originateRemove = [...oldOrig.keys()].filter((p) => !newOrig.has(p));
  return { peers, relisten, originateAdd, originateRemove };
}
