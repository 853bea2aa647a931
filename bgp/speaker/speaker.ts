/**
 * The BGP speaker: sessions (session.ts) for the configured peers, one listener for the passive side,
 * the Adj-RIBs-In and Loc-RIB (loc-rib.ts), update groups for export (update-group.ts), import policy
 * and the RFC checks on what comes in (AS loops with an allow-own-AS count, route-reflection loops via
 * ORIGINATOR_ID and CLUSTER_LIST, RFC 6793 AS4 reconciliation for 2-octet peers), graceful restart in
 * both roles (RFC 4724: stale routes kept until End-of-RIB or the restart time; End-of-RIB sent after
 * our initial table), route refresh in and out (RFC 2918, RFC 7313), per-family prefix limits
 * (prefix-limit.ts), and locally originated routes.
 * Status for `tabby bgp peers`/`rib` is returned as data; metrics and logs belong to the caller.
 */

import type { Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { BfdBinding, checkBfdConfig } from "../bfd/binding.js";
import type { BfdTransport } from "../bfd/transport.js";
import type { PathAttribute } from "../codec/attributes.js";
import { type PrefixList, prefixListFromStrings } from "../codec/prefix-list.js";
import { encodeRouteRefresh, type RouteRefreshMessage } from "../codec/route-refresh.js";
import { reconcileAs4 } from "../codec/transit.js";
import { endOfRibFamily, type UpdateMessage } from "../codec/update.js";
import { ACCEPT_ALL, applySet, type CompiledPolicy, compilePolicy, REJECT_ALL } from "../policy/policy.js";
import { AddPathGroup, addPathSelection, addPathSelectionKey, PathIds } from "../rib/add-path-group.js";
import type { ExportTarget } from "../rib/export.js";
import { type Dest, LocRib, type Path, type PeerRef } from "../rib/loc-rib.js";
import { AttrTable, buildPathAttrs, type PathAttrs } from "../rib/path-attrs.js";
import {
  type Family,
  keyFromString,
  keyOf,
  keyToString,
  keyWithin,
  type PrefixKey,
} from "../rib/prefix-key.js";
import { otcIngress, ROLES } from "../rib/roles.js";
import { type ExportGroup, type GroupMember, UpdateGroup } from "../rib/update-group.js";
import { FAMILIES, type Negotiated } from "../session/negotiate.js";
import { type Clock, describeDown, Session, type SessionTransport } from "../session/session.js";
import { connectTcp } from "../transport/connect.js";
import { TcpListener } from "../transport/listener.js";
import { md5DropTracker, readMd5Counters } from "../transport/md5-counters.js";
import { setMinTtl, setTtl } from "../transport/socket-options.js";
import type { OriginateConfig, PeerConfig, SpeakerConfig } from "./config.js";
import { byStaleTime, longLivedStaleTimes, markLongLivedStale } from "./long-lived-stale.js";
import { sessionConfig } from "./peer-session.js";
import { PrefixLimitGuard } from "./prefix-limit.js";
import { type PeerPlan, planReconfigure } from "./reconfigure.js";
import { type PeerStatus, type PrefixCounts, type RibPath, toRibPath } from "./views.js";

export interface SpeakerDeps {
  readonly clock: Clock;
  readonly transport?: SessionTransport;
  /** BFD's UDP (bgp/bfd/transport.ts) unless given (tests). */
  readonly bfdTransport?: BfdTransport;
  /** Open sockets in this network namespace (tests, lab). */
  readonly netnsPath?: string;
  /** Called for notable events (session up/down, config warnings), for the caller's logger. */
  readonly log?: (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => void;
}

export type BestChange = (family: Family, key: PrefixKey, best: Path | undefined) => void;

interface Peer {
  cfg: PeerConfig;
  readonly ref: PeerRef;
  readonly session: Session;
  importPolicy: CompiledPolicy;
  exportPolicy: CompiledPolicy | undefined;
  /** The export policy's name and version: peers share an update group only with the same one. */
  exportPolicyName: string;
  negotiated: Negotiated | undefined;
  group: ExportGroup | undefined;
  member: GroupMember | undefined;
  rejected: Record<Family, Set<PrefixKey | string>>;
  /** Graceful restart: families whose stale paths wait for End-of-RIB, and the restart timer. */
  staleFamilies: Set<Family>;
  restartTimer: { cancel(): void } | undefined;
  wasGrCapable: boolean;
  /** Families whose End-of-RIB this session has received: its initial table is complete. */
  eorReceived: Set<Family>;
  /** maxPrefixes: warnings, trips and the restart after one. */
  readonly limits: PrefixLimitGuard;
  /** RFC 5882: the BFD session bound to this peer (bgp/bfd/binding.ts), when `bfd` is configured. */
  bfd: BfdBinding | undefined;
}

const LOCAL_ID = 0;
const brand: unique symbol = Symbol.for("tabby.error") as never;

export class SpeakerError extends Error {
  readonly [brand] = true;
  readonly code = "BGP_CONFIG";
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

/** What `reconfigure` did, peer by peer (the agent counts resets per change). */
export interface ReconfigureResult {
  readonly added: string[];
  readonly removed: string[];
  /** Sessions restarted because their parameters changed, with the fields that did. */
  readonly reset: { address: string; changed: readonly string[] }[];
  /** Updated in place without a reset: re-exported, asked for a route refresh, or renamed. */
  readonly updated: { address: string; changed: readonly string[] }[];
  readonly originated: number;
  readonly withdrawn: number;
}

/** The checks that need no I/O; SpeakerError names the field. */
export function validateSpeakerConfig(cfg: SpeakerConfig): void {
  const seen = new Set<string>();
  const policies = cfg.policies ?? {};
  cfg.peers.forEach((p, i) => {
    if (seen.has(p.address))
      throw new SpeakerError(`peers[${i}].address`, `${p.address} is configured twice`);
    seen.add(p.address);
    for (const which of ["importPolicy", "exportPolicy"] as const) {
      const name = p[which];
      if (name !== undefined && !(name in policies) && name !== "ACCEPT_ALL" && name !== "REJECT_ALL") {
        throw new SpeakerError(`peers[${i}].${which}`, `no policy named ${JSON.stringify(name)}`);
      }
    }
    validateMaxPrefixes(p, `peers[${i}].maxPrefixes`);
    const bfd = p.bfd === undefined ? undefined : checkBfdConfig(p.bfd);
    if (bfd !== undefined) throw new SpeakerError(`peers[${i}].bfd.${bfd[0]}`, bfd[1]);
    if (p.role !== undefined) {
      if (!ROLES.includes(p.role))
        throw new SpeakerError(
          `peers[${i}].role`,
          `must be one of ${ROLES.join(", ")} (value ${JSON.stringify(p.role)})`,
        );
      // RFC 9234 §4: roles are for eBGP sessions.
      if (p.asn === (p.localAsn ?? cfg.asn))
        throw new SpeakerError(`peers[${i}].role`, `is for eBGP peers; ${p.address} is in our AS ${p.asn}`);
    }
  });
}

const intIn = (v: unknown, min: number, max: number): boolean =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/** maxPrefixes values (the YAML reader checks the same, with file and line). */
function validateMaxPrefixes(p: PeerConfig, at: string): void {
  for (const [f, m] of Object.entries(p.maxPrefixes ?? {})) {
    if (f !== "ipv4" && f !== "ipv6") throw new SpeakerError(`${at}.${f}`, "must be ipv4 or ipv6");
    if (m === undefined) continue;
    // RFC 4486 §4 carries the limit in 4 octets.
    if (!intIn(m.limit, 1, 0xffffffff))
      throw new SpeakerError(`${at}.${f}.limit`, `must be an integer in 1..4294967295 (value ${m.limit})`);
    if (m.warningPercent !== undefined && !intIn(m.warningPercent, 1, 100))
      throw new SpeakerError(
        `${at}.${f}.warningPercent`,
        `must be an integer in 1..100 (value ${m.warningPercent})`,
      );
    if (m.restartAfterSeconds !== undefined && !intIn(m.restartAfterSeconds, 1, 604800))
      throw new SpeakerError(
        `${at}.${f}.restartAfterSeconds`,
        `must be an integer in 1..604800 (value ${m.restartAfterSeconds})`,
      );
    if (m.action !== undefined && !["restart", "shutdown", "warn"].includes(m.action))
      throw new SpeakerError(`${at}.${f}.action`, `must be restart, shutdown or warn (value ${m.action})`);
  }
}

export class Speaker {
  readonly rib: LocRib;
  private readonly peers = new Map<string, Peer>();
  private readonly groups = new Map<string, ExportGroup>();
  private readonly pathIds = new PathIds();
  private readonly local: PeerRef;
  private policies = new Map<string, { policy: CompiledPolicy; version: number; text: string }>();
  private policyVersion = 0;
  private readonly bestListeners = new Set<BestChange>();
  private readonly originated = new Map<PrefixKey, OriginateConfig>();
  private listener: TcpListener | undefined;
  private flushScheduled = false;
  private nextPeerId = 1;
  private clusterId: string;
  private config: SpeakerConfig;
  private started = false;

  constructor(
    cfg: SpeakerConfig,
    private readonly deps: SpeakerDeps,
  ) {
    validateSpeakerConfig(cfg);
    this.config = cfg;
    this.rib = new LocRib(new AttrTable());
    this.clusterId = cfg.clusterId ?? cfg.routerId;
    this.local = { id: LOCAL_ID, address: "", type: "local", routerId: cfg.routerId, rrClient: false };
    this.compilePolicies(cfg);
  }

  /** The configuration in force (the last one given to the constructor or `reconfigure`). */
  get cfg(): SpeakerConfig {
    return this.config;
  }

  /** Compiles the policies of `cfg`, keeping the version of those whose text did not change. */
  private compilePolicies(cfg: SpeakerConfig): Set<string> {
    const changed = new Set<string>();
    const next = new Map<string, { policy: CompiledPolicy; version: number; text: string }>();
    for (const [name, p] of Object.entries(cfg.policies ?? {})) {
      const text = JSON.stringify(p);
      const old = this.policies.get(name);
      if (old !== undefined && old.text === text) next.set(name, old);
      else {
        next.set(name, { policy: compilePolicy({ ...p, name }), version: ++this.policyVersion, text });
        changed.add(name);
      }
    }
    for (const name of this.policies.keys()) if (!next.has(name)) changed.add(name);
    this.policies = next;
    return changed;
  }

  private localAs(cfg: PeerConfig): number {
    return cfg.localAsn ?? this.config.asn;
  }

  private log(level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown> = {}): void {
    this.deps.log?.(level, msg, fields);
  }

  private policy(name: string | undefined, fallback: CompiledPolicy): CompiledPolicy {
    if (name === undefined) return fallback;
    if (name === "ACCEPT_ALL") return compilePolicy(ACCEPT_ALL);
    if (name === "REJECT_ALL") return compilePolicy(REJECT_ALL);
    return this.policies.get(name)!.policy;
  }

  private exportPolicyKey(cfg: PeerConfig, ebgp: boolean): string {
    const name = cfg.exportPolicy ?? (ebgp ? "REJECT_ALL" : "ACCEPT_ALL");
    const v = this.policies.get(name)?.version;
    return v === undefined ? name : `${name}#${v}`;
  }

  async start(): Promise<void> {
    this.started = true;
    await this.openListener();
    for (const p of this.config.peers) this.addPeer(p);
    for (const o of this.config.originate ?? []) this.originate(o);
  }

  private async openListener(): Promise<void> {
    const listen = this.config.listen;
    if (listen === undefined) return;
    const keys: Record<string, string> = {};
    for (const p of this.config.peers) if (p.password) keys[p.address] = p.password;
    this.listener = await TcpListener.listen({
      host: listen.address,
      port: listen.port ?? 179,
      md5Keys: keys,
      ...(this.deps.netnsPath !== undefined ? { netnsPath: this.deps.netnsPath } : {}),
    });
    this.listener.onConnection((socket, info) => this.onIncoming(socket, info.remoteAddress));
  }

  /**
   * Applies a new configuration, touching only what changed (reconfigure.ts decides): new peers start,
   * removed ones get Cease / Peer De-configured, a peer whose session parameters changed is restarted
   * with Cease / Other Configuration Change, and a peer whose policies, next-hop handling or name
   * changed is updated in place: re-exported (only the difference is sent) and, for an import change,
   * asked for its routes again (ROUTE-REFRESH; a reset only if the peer cannot refresh). MD5 keys change
   * on the open listening socket. Originated prefixes are added, replaced or withdrawn one by one. A
   * configuration that fails validation changes nothing (SpeakerError).
   */
  async reconfigure(next: SpeakerConfig): Promise<ReconfigureResult> {
    validateSpeakerConfig(next);
    const old = this.config;
    const plan = planReconfigure(old, next);
    const result: ReconfigureResult = {
      added: [],
      removed: [],
      reset: [],
      updated: [],
      originated: plan.originateAdd.length,
      withdrawn: plan.originateRemove.length,
    };
    this.config = next;
    this.compilePolicies(next);
    const newCluster = next.clusterId ?? next.routerId;
    const clusterChanged = newCluster !== this.clusterId;
    this.clusterId = newCluster;
    this.local.routerId = next.routerId;
    if (!this.started) return result;
    if (plan.relisten) {
      await this.listener?.close();
      this.listener = undefined;
      await this.openListener();
    }
    const byAddress = new Map(next.peers.map((p) => [p.address, p]));
    for (const step of plan.peers) {
      const cfg = byAddress.get(step.address);
      if (step.listenerKey && !plan.relisten) this.listener?.setPeerKey(step.address, cfg?.password);
      if (step.action === "remove") {
        this.removePeer(step.address, 3, "peer removed from the configuration");
        result.removed.push(step.address);
      } else if (step.action === "add") {
        this.addPeer(cfg!);
        result.added.push(step.address);
      } else if (step.action === "reset") {
        this.removePeer(step.address, 6, `configuration changed: ${step.changed.join(", ")}`);
        this.addPeer(cfg!);
        result.reset.push({ address: step.address, changed: step.changed });
      } else {
        const reset = this.updatePeer(cfg!, step);
        if (reset) result.reset.push({ address: step.address, changed: step.changed });
        else result.updated.push({ address: step.address, changed: step.changed });
      }
    }
    // Policies changed under an unchanged name, or the cluster id moved: re-export those peers too.
    const planned = new Set(plan.peers.map((p) => p.address));
    for (const p of this.peers.values()) {
      if (planned.has(p.cfg.address)) continue;
      const ebgp = p.ref.type === "ebgp";
      const exportKey = this.exportPolicyKey(p.cfg, ebgp);
      const importName = p.cfg.importPolicy;
      const importStale =
        importName !== undefined &&
        this.policies.has(importName) &&
        p.importPolicy !== this.policies.get(importName)!.policy;
      if (exportKey !== p.exportPolicyName || clusterChanged || importStale) {
        const changed = [
          ...(exportKey !== p.exportPolicyName ? ["exportPolicy"] : []),
          ...(importStale ? ["importPolicy"] : []),
          ...(clusterChanged ? ["clusterId"] : []),
        ];
        const reset = this.updatePeer(p.cfg, {
          address: p.cfg.address,
          action: "update",
          changed,
          reexport: exportKey !== p.exportPolicyName || clusterChanged,
          reimport: importStale || clusterChanged,
          listenerKey: false,
          limits: false,
        });
        if (reset) result.reset.push({ address: p.cfg.address, changed });
        else result.updated.push({ address: p.cfg.address, changed });
      }
    }
    for (const prefix of plan.originateRemove) this.withdrawOriginated(prefix);
    for (const o of plan.originateAdd) this.originate(o);
    if (result.added.length + result.removed.length + result.reset.length + result.updated.length > 0) {
      this.log("info", "reconfigured", {
        added: result.added,
        removed: result.removed,
        reset: result.reset.map((r) => r.address),
        updated: result.updated.map((r) => r.address),
      });
    }
    return result;
  }

  /** In-place update of one peer; true when it had to be reset after all (no route refresh). */
  private updatePeer(cfg: PeerConfig, step: PeerPlan): boolean {
    const peer = this.requirePeer(cfg.address);
    const ebgp = peer.ref.type === "ebgp";
    peer.cfg = cfg;
    this.syncBfd(peer, cfg);
    const rfc8212 = compilePolicy(REJECT_ALL);
    peer.importPolicy = this.policy(cfg.importPolicy, ebgp ? rfc8212 : compilePolicy(ACCEPT_ALL));
    const exportPolicy = this.policy(cfg.exportPolicy, ebgp ? rfc8212 : compilePolicy(ACCEPT_ALL));
    peer.exportPolicy = cfg.exportPolicy === undefined && !ebgp ? undefined : exportPolicy;
    peer.exportPolicyName = this.exportPolicyKey(cfg, ebgp);
    // New limits apply to the routes already in: no reset, but a trip if the count is over them.
    if (step.limits) peer.limits.reconfigure(cfg.maxPrefixes, peer.negotiated !== undefined);
    const n = peer.negotiated;
    if (n === undefined) return false;
    if (step.reimport) {
      if (!n.routeRefresh) {
        this.removePeer(cfg.address, 6, "import policy changed and the peer cannot refresh");
        this.addPeer(cfg);
        return true;
      }
      for (const f of n.families) this.refreshIn(cfg.address, f);
    }
    if (step.reexport) this.regroup(peer, n);
    return false;
  }

  /** `bfd` added, changed (new intervals by a Poll Sequence, no reset) or removed. */
  private syncBfd(peer: Peer, cfg: PeerConfig): void {
    if (cfg.bfd === undefined) {
      peer.bfd?.close();
      peer.bfd = undefined;
      return;
    }
    if (peer.bfd !== undefined) {
      peer.bfd.reconfigure(cfg.bfd);
      return;
    }
    peer.bfd = new BfdBinding({
      peer: cfg.address,
      config: cfg.bfd,
      clock: this.deps.clock,
      ...(this.deps.netnsPath !== undefined ? { netnsPath: this.deps.netnsPath } : {}),
      ...(this.deps.bfdTransport !== undefined ? { transport: this.deps.bfdTransport } : {}),
      restartAfterMs: (this.config.idleHoldSec?.initial ?? 1) * 1000,
      hooks: {
        cease: (words) => peer.session.cease(10, new Uint8Array(0), words), // RFC 9384 BFD Down
        start: () => peer.session.start(),
        log: (level, msg, fields) => this.log(level, msg, fields),
      },
    });
    peer.bfd.ensure(cfg.localAddress ?? peer.session.localAddress);
  }

  /** Stops and forgets one peer: Cease with `subcode`, its routes withdrawn, its MD5 key removed. */
  private removePeer(address: string, subcode: number, message: string): void {
    const peer = this.peers.get(address);
    if (peer === undefined) return;
    peer.session.stop(message, subcode);
    peer.session.destroy();
    peer.bfd?.close();
    peer.restartTimer?.cancel();
    peer.limits.clear();
    if (peer.group !== undefined && peer.member !== undefined) {
      peer.group.leave(peer.member);
      if (!peer.group.active) this.groups.delete(peer.group.key);
    }
    this.rib.removePeer(peer.ref);
    this.peers.delete(address);
    this.scheduleFlush();
  }

  /** The port the listener is bound to (useful with port 0 in tests). */
  get listenPort(): number | undefined {
    return this.listener?.port;
  }

  private addPeer(cfg: PeerConfig): Peer {
    const ebgp = cfg.asn !== this.localAs(cfg);
    const ref: PeerRef = {
      id: this.nextPeerId++,
      address: cfg.address,
      type: ebgp ? "ebgp" : "ibgp",
      routerId: "0.0.0.0",
      rrClient: cfg.routeReflectorClient === true,
    };
    // RFC 8212: without a configured policy an eBGP session exchanges nothing.
    const rfc8212 = compilePolicy(REJECT_ALL);
    const importPolicy = this.policy(cfg.importPolicy, ebgp ? rfc8212 : compilePolicy(ACCEPT_ALL));
    const exportPolicy = this.policy(cfg.exportPolicy, ebgp ? rfc8212 : compilePolicy(ACCEPT_ALL));
    if (ebgp && (cfg.importPolicy === undefined || cfg.exportPolicy === undefined)) {
      this.log(
        "warn",
        "eBGP peer without import/export policy: RFC 8212 default applies (nothing exchanged in that direction)",
        { peer: cfg.address },
      );
    }
    const { fsm, connect } = sessionConfig(this.config, cfg, this.deps.netnsPath);
    const peer: Peer = {
      cfg,
      ref,
      importPolicy,
      exportPolicy: cfg.exportPolicy === undefined && !ebgp ? undefined : exportPolicy,
      exportPolicyName: this.exportPolicyKey(cfg, ebgp),
      negotiated: undefined,
      group: undefined,
      member: undefined,
      rejected: { ipv4: new Set(), ipv6: new Set() },
      staleFamilies: new Set(),
      restartTimer: undefined,
      wasGrCapable: false,
      eorReceived: new Set(),
      session: undefined as unknown as Session,
      bfd: undefined,
      limits: new PrefixLimitGuard(cfg.maxPrefixes, this.deps.clock, {
        count: (f) => this.rib.countOf(ref, f),
        cease: (subcode, data, detail) => peer.session.cease(subcode, data, detail),
        start: () => peer.session.start(),
        log: (level, msg, fields) => this.log(level, msg, { peer: peer.cfg.address, ...fields }),
      }),
    };
    (peer as { session: Session }).session = new Session({
      fsm,
      connect,
      localRouterId: this.config.routerId,
      clock: this.deps.clock,
      transport: this.deps.transport ?? { connect: connectTcp },
      ...(this.deps.transport === undefined
        ? { md5Drops: md5DropTracker(() => readMd5Counters(this.deps.netnsPath)) }
        : {}),
      handlers: {
        established: (n) => this.onEstablished(peer, n),
        update: (u) => this.onUpdate(peer, u),
        routeRefresh: (r) => this.onRouteRefresh(peer, r),
        down: (reason, was, words) => this.onDown(peer, reason.kind, was, words),
        stateChanged: (from, to) => this.log("info", `session ${from} -> ${to}`, { peer: cfg.address }),
      },
    });
    this.peers.set(cfg.address, peer);
    this.syncBfd(peer, cfg);
    if (cfg.shutdown !== true) peer.session.start();
    return peer;
  }

  private onIncoming(socket: Socket, remote: string): void {
    const peer = this.peers.get(remote);
    if (peer === undefined) {
      this.log("warn", "connection from an address that is not a configured peer", { peer: remote });
      socket.destroy();
      return;
    }
    if (peer.cfg.ttlSecurityHops !== undefined) {
      setTtl(socket, 255);
      setMinTtl(socket, 256 - peer.cfg.ttlSecurityHops);
    } else if (peer.cfg.ttl !== undefined) {
      setTtl(socket, peer.cfg.ttl);
    }
    peer.session.accept(socket);
  }

  // ---- sessions up and down ------------------------------------------------------------------------

  private onEstablished(peer: Peer, n: Negotiated): void {
    peer.negotiated = n;
    peer.bfd?.ensure(peer.session.localAddress);
    peer.ref.routerId = n.peerRouterId;
    peer.rejected = { ipv4: new Set(), ipv6: new Set() };
    peer.eorReceived = new Set();
    this.log("info", "session established", {
      peer: peer.cfg.address,
      asn: n.peerAs,
      routerId: n.peerRouterId,
      families: [...n.families],
    });
    // Graceful restart helper: the peer is back; its stale paths wait for End-of-RIB (RFC 4724 §4.2).
    peer.restartTimer?.cancel();
    peer.restartTimer = undefined;
    if (peer.staleFamilies.size > 0) {
      const gone = [...peer.staleFamilies].filter(
        (f) => !(n.gracefulRestart?.forwardingPreserved.has(f) ?? false) || !n.families.has(f),
      );
      if (gone.length > 0) {
        this.rib.sweepStale(peer.ref, gone);
        for (const f of gone) peer.staleFamilies.delete(f);
        this.scheduleFlush();
      }
    }
    peer.wasGrCapable = n.gracefulRestart !== undefined && n.localGracefulRestart;
    this.flushNow();
    const g = this.groupFor(peer, n);
    const member: GroupMember = {
      peerId: peer.ref.id,
      send: (msgs) => peer.session.sendRaw(msgs),
      families: n.families,
    };
    peer.group = g;
    peer.member = member;
    g.join(member, this.rib);
  }

  /** The update group for the peer's export target, policy and session encoding (made if new). */
  private groupFor(peer: Peer, n: Negotiated): ExportGroup {
    const local = peer.session.localAddress ?? "";
    const localAddress = this.nextHopSelf(peer, local);
    const target: ExportTarget = {
      type: peer.ref.type === "ebgp" ? "ebgp" : "ibgp",
      localAs: this.localAs(peer.cfg),
      routerId: this.config.routerId,
      clusterId: this.clusterId,
      rrClient: peer.ref.rrClient,
      nextHopMode: peer.cfg.nextHop ?? "auto",
      localAddress,
      fourOctetAs: n.fourOctetAs,
      sharedSubnet: this.sharedSubnet(peer.cfg.address, local),
      ...(n.role !== undefined ? { role: n.role.local } : {}),
      ...(n.longLivedGracefulRestart !== undefined ? { llgr: true } : {}),
    };
    const selection = addPathSelection(peer.cfg.addPathSend, n.addPathTx);
    const key = [
      target.type,
      target.localAs,
      target.clusterId,
      target.rrClient,
      target.nextHopMode,
      localAddress.ipv4 ?? "",
      localAddress.ipv6 ?? "",
      target.sharedSubnet?.ipv4 ?? "",
      target.sharedSubnet?.ipv6 ?? "",
      peer.exportPolicyName,
      n.fourOctetAs,
      n.tx.maxMessageLen,
      n.extendedNextHop,
      [...n.addPathTx].join("+"),
      target.role ?? "",
      addPathSelectionKey(selection),
      target.llgr === true,
    ].join("|");
    let g = this.groups.get(key);
    if (g === undefined && selection !== undefined) {
      // A change to any path of a prefix is news to these members, not only a new best.
      this.rib.trackAllPaths = true;
      g = new AddPathGroup(
        key,
        target,
        peer.exportPolicy,
        { ctx: n.tx, extendedNextHop: n.extendedNextHop },
        this.rib,
        selection,
        this.pathIds,
      );
      this.groups.set(key, g);
    } else if (g === undefined) {
      g = new UpdateGroup(
        key,
        this.freeSlot(),
        target,
        peer.exportPolicy,
        { ctx: n.tx, extendedNextHop: n.extendedNextHop },
        this.rib,
      );
      this.groups.set(key, g);
    }
    return g;
  }

  /** Moves an Established peer to the group its new export settings call for, sending the difference. */
  private regroup(peer: Peer, n: Negotiated): void {
    const from = peer.group;
    const member = peer.member;
    if (from === undefined || member === undefined) return;
    this.flushNow();
    const to = this.groupFor(peer, n);
    if (to === from) return;
    to.adopt(member, from, this.rib);
    peer.group = to;
    if (!from.active) this.groups.delete(from.key);
  }

  /** The lowest group slot not in use (slots index Dest.out). */
  private freeSlot(): number {
    const used = new Set(
      [...this.groups.values()].flatMap((g) => (g instanceof UpdateGroup ? [g.slot] : [])),
    );
    let i = 0;
    while (used.has(i)) i++;
    return i;
  }

  /** The connected subnet of our session address, when the peer's address is on it too. */
  private sharedSubnet(peerAddress: string, local: string): Partial<Record<Family, string>> {
    if (local === "") return {};
    const fam: Family = local.includes(":") ? "ipv6" : "ipv4";
    for (const addrs of Object.values(networkInterfaces())) {
      const mine = addrs?.find((a) => a.address === local && a.cidr !== null);
      if (mine?.cidr == null) continue;
      try {
        const subnet = keyFromString(mine.cidr);
        const host = keyFromString(`${peerAddress}/${fam === "ipv4" ? 32 : 128}`);
        return keyWithin(host, subnet) ? { [fam]: keyToString(subnet) } : {};
      } catch {
        // A peer address we cannot place (a scoped IPv6 address): no third-party next hop.
        return {};
      }
    }
    return {};
  }

  /** Our next hop per family on this session: configured, the session's own address, or the interface's other family. */
  private nextHopSelf(peer: Peer, local: string): Partial<Record<Family, string>> {
    const out: Partial<Record<Family, string>> = { ...(peer.cfg.nextHopSelf ?? {}) };
    const fam: Family = local.includes(":") ? "ipv6" : "ipv4";
    if (local !== "" && out[fam] === undefined) out[fam] = local;
    const other: Family = fam === "ipv4" ? "ipv6" : "ipv4";
    if (out[other] === undefined && local !== "") {
      for (const addrs of Object.values(networkInterfaces())) {
        if (!addrs?.some((a) => a.address === local)) continue;
        const pick = addrs.find((a) =>
          other === "ipv6" ? a.family === "IPv6" && !a.address.startsWith("fe80") : a.family === "IPv4",
        );
        if (pick) out[other] = pick.address;
      }
    }
    return out;
  }

  private onDown(peer: Peer, reason: string, wasEstablished: boolean, words: string): void {
    if (peer.group !== undefined && peer.member !== undefined) {
      peer.group.leave(peer.member);
      if (!peer.group.active) this.groups.delete(peer.group.key);
    }
    peer.group = undefined;
    peer.member = undefined;
    peer.eorReceived = new Set();
    peer.limits.sessionDown();
    const n = peer.negotiated;
    peer.negotiated = undefined;
    if (!wasEstablished) return;
    this.log("warn", "session down", { peer: peer.cfg.address, reason: words });
    // RFC 4724 §4.2: after a TCP failure or hold timer expiry (not a NOTIFICATION, unless both sides
    // set the N bit, RFC 8538), keep the peer's routes as stale for its restart time.
    const gr = n?.gracefulRestart;
    const byNotification =
      reason === "notification-sent" || reason === "notification-received" || reason === "stop";
    const longLived =
      n === undefined
        ? new Map<Family, number>()
        : longLivedStaleTimes(n, this.config.gracefulRestart?.longLivedStaleTimeSec);
    if (
      gr !== undefined &&
      n!.localGracefulRestart &&
      !byNotification &&
      (gr.restartTimeSec > 0 || longLived.size > 0)
    ) {
      const kept = new Set([...gr.families, ...longLived.keys()]);
      const families = [...kept];
      const count = this.rib.markStale(peer.ref, families);
      for (const f of families) peer.staleFamilies.add(f);
      this.rib.removePeer(
        peer.ref,
        FAMILIES.filter((f) => !kept.has(f)),
      );
      this.log("info", "graceful restart: keeping the peer's routes as stale", {
        peer: peer.cfg.address,
        stale: count,
        restartTimeSec: gr.restartTimeSec,
      });
      const restartOver = () => {
        peer.restartTimer = undefined;
        const sweep = [...peer.staleFamilies].filter((f) => !longLived.has(f));
        const swept = this.rib.sweepStale(peer.ref, sweep);
        for (const f of sweep) peer.staleFamilies.delete(f);
        this.log("info", "graceful restart: restart time over, stale routes removed", {
          peer: peer.cfg.address,
          removed: swept,
        });
        this.startLongLived(peer, longLived);
        this.scheduleFlush();
      };
      if (gr.restartTimeSec > 0)
        peer.restartTimer = this.deps.clock.setTimer(gr.restartTimeSec * 1000, restartOver);
      else restartOver();
    } else {
      this.rib.removePeer(peer.ref);
      peer.staleFamilies.clear();
    }
    this.scheduleFlush();
  }

  /**
   * RFC 9494 §4.3: the peer's restart time is over but it announced LLGR: its stale routes stay, marked
   * LLGR_STALE and least preferred, until its long-lived stale time ends (or End-of-RIB sweeps them).
   */
  private startLongLived(peer: Peer, times: ReadonlyMap<Family, number>): void {
    const families = [...peer.staleFamilies].filter((f) => times.has(f));
    if (families.length === 0) return;
    const kept = this.rib.rewritePeer(peer.ref, families, markLongLivedStale);
    this.log("info", "long-lived graceful restart: keeping the peer's routes as LLGR_STALE", {
      peer: peer.cfg.address,
      kept,
      staleTimeSec: Object.fromEntries(times),
    });
    const timers = [...byStaleTime(times)].map(([sec, fams]) =>
      this.deps.clock.setTimer(sec * 1000, () => {
        const still = fams.filter((f) => peer.staleFamilies.has(f));
        const removed = this.rib.sweepStale(peer.ref, still);
        for (const f of still) peer.staleFamilies.delete(f);
        if (peer.staleFamilies.size === 0) peer.restartTimer = undefined;
        this.log("info", "long-lived graceful restart: stale time over, routes removed", {
          peer: peer.cfg.address,
          removed,
        });
        this.scheduleFlush();
      }),
    );
    peer.restartTimer = {
      cancel: () => {
        for (const t of timers) t.cancel();
      },
    };
  }

  // ---- what peers send ------------------------------------------------------------------------------

  private onUpdate(peer: Peer, u: UpdateMessage): void {
    const n = peer.negotiated;
    if (n === undefined) return;
    const eor = endOfRibFamily(u);
    if (eor !== undefined) {
      const f: Family | undefined = eor.afi === 1 ? "ipv4" : eor.afi === 2 ? "ipv6" : undefined;
      if (f !== undefined) peer.eorReceived.add(f);
      if (f !== undefined && peer.staleFamilies.has(f)) {
        peer.staleFamilies.delete(f);
        this.rib.sweepStale(peer.ref, [f]);
        this.scheduleFlush();
      }
      return;
    }
    const withdraw = (list: PrefixList, f: Family) => {
      if (!n.families.has(f)) return;
      const ap = n.addPathRx.has(f);
      for (let i = 0; i < list.count; i++) {
        const key = keyOf(list, i);
        const id = list.pathIds?.[i] ?? 0;
        this.rib.update(peer.ref, f, key, id, undefined);
        peer.rejected[f].delete(ap ? `${key}#${id}` : key);
      }
    };
    withdraw(u.withdrawn, "ipv4");
    let nextHop4: string | undefined;
    for (const a of u.attributes) {
      if (a.kind === "mp-unreach") withdraw(a.withdrawn, a.afi === 1 ? "ipv4" : "ipv6");
      if (a.kind === "next-hop") nextHop4 = a.nextHop;
    }
    const reach: { f: Family; list: PrefixList; nh: string; ll?: string }[] = [];
    if (u.nlri.count > 0 && nextHop4 !== undefined) reach.push({ f: "ipv4", list: u.nlri, nh: nextHop4 });
    for (const a of u.attributes) {
      if (a.kind === "mp-reach")
        reach.push({
          f: a.afi === 1 ? "ipv4" : "ipv6",
          list: a.nlri,
          nh: a.nextHop[0]!,
          ...(a.nextHop[1] ? { ll: a.nextHop[1] } : {}),
        });
    }
    if (u.treatAsWithdraw !== undefined) {
      this.log("warn", "UPDATE treated as withdraw (RFC 7606)", {
        peer: peer.cfg.address,
        error: u.treatAsWithdraw.message,
      });
      for (const r of reach) withdraw(r.list, r.f);
      this.scheduleFlush();
      return;
    }
    if (reach.length > 0) {
      const attrs = this.importAttributes(peer, n, u.attributes);
      for (const r of reach) this.announce(peer, n, r.f, r.list, attrs, r.nh, r.ll);
      // After the whole UPDATE: a trip takes the session down, and its routes with it.
      peer.limits.check(new Set(reach.map((r) => r.f)));
    }
    this.scheduleFlush();
  }

  /** Attribute list as stored: RFC 6793 reconciliation for 2-octet peers, nothing malformed. */
  private importAttributes(peer: Peer, n: Negotiated, attrs: readonly PathAttribute[]): PathAttribute[] {
    let out: PathAttribute[] = attrs.filter(
      (a) =>
        a.kind !== "malformed" && a.kind !== "mp-reach" && a.kind !== "mp-unreach" && a.kind !== "next-hop",
    );
    if (!n.fourOctetAs) {
      const v = reconcileAs4(out, false);
      out = out.filter((a) => a.kind !== "as4-path" && a.kind !== "as4-aggregator");
      out = out.map((a) =>
        a.kind === "as-path"
          ? { ...a, segments: v.asPath }
          : a.kind === "aggregator" && v.aggregator
            ? { ...a, as: v.aggregator.as }
            : a,
      );
    }
    void peer;
    // RFC 9234 §5: OTC added on routes from a provider, peer or route server (leaks are refused in importLoop).
    if (n.role !== undefined) {
      const v = otcIngress(out, n.role.local, n.peerAs);
      if (!v.leak) out = [...v.attrs];
    }
    return out;
  }

  private announce(
    peer: Peer,
    n: Negotiated,
    f: Family,
    list: PrefixList,
    attrs: PathAttribute[],
    nextHop: string,
    ll?: string,
  ): void {
    if (!n.families.has(f)) return;
    const ap = n.addPathRx.has(f);
    const pa = this.rib.attrTable.intern(buildPathAttrs(attrs, nextHop, ll));
    const loopReason = this.importLoop(peer, pa);
    const policy = peer.importPolicy;
    let shared: PathAttrs | undefined | null = null; // null: evaluate per prefix
    if (loopReason !== undefined) shared = undefined;
    else if (policy.prefixIndependent) {
      const r = policy.evaluate({ key: 0, family: f, attrs: pa, source: peer.ref.type });
      shared = r === undefined ? undefined : this.rib.attrTable.intern(r);
    }
    for (let i = 0; i < list.count; i++) {
      const key = keyOf(list, i);
      const id = list.pathIds?.[i] ?? 0;
      let accepted: PathAttrs | undefined;
      if (shared !== null) accepted = shared;
      else {
        const r = policy.evaluate({ key, family: f, attrs: pa, source: peer.ref.type });
        accepted = r === undefined ? undefined : this.rib.attrTable.intern(r);
      }
      const rk = ap ? `${key}#${id}` : key;
      if (accepted === undefined) peer.rejected[f].add(rk);
      else peer.rejected[f].delete(rk);
      this.rib.update(peer.ref, f, key, id, accepted);
    }
  }

  /** RFC 4271 §9.1.2 AS loop, RFC 4456 §8 reflection loops, unusable next hop. */
  private importLoop(peer: Peer, pa: PathAttrs): string | undefined {
    if (peer.ref.type === "ebgp") {
      let own = 0;
      const asn = this.localAs(peer.cfg);
      for (const s of pa.asPath) for (const a of s.asns) if (a === asn) own++;
      if (own > (peer.cfg.allowOwnAs ?? 0)) return "AS loop";
      const n = peer.negotiated;
      if (n?.role !== undefined) {
        const v = otcIngress(pa.attrs, n.role.local, n.peerAs);
        if (v.leak) return v.reason;
      }
    } else {
      if (pa.originatorId === this.config.routerId) return "ORIGINATOR_ID is our router id";
      if (pa.clusterList.includes(this.clusterId)) return "CLUSTER_LIST contains our cluster id";
    }
    if (pa.nextHop === "0.0.0.0" || pa.nextHop === "::") return "unusable next hop";
    return undefined;
  }

  private onRouteRefresh(peer: Peer, r: RouteRefreshMessage): void {
    const f: Family | undefined = r.afi === 1 ? "ipv4" : r.afi === 2 ? "ipv6" : undefined;
    const n = peer.negotiated;
    if (f === undefined || n === undefined || !n.families.has(f) || r.safi !== 1) return;
    if (r.subtype === 0) {
      // RFC 2918: send the whole table again; RFC 7313: framed by BoRR and EoRR.
      if (peer.group === undefined || peer.member === undefined) return;
      const body = peer.group.resend(peer.member, f);
      const enhanced = n.enhancedRouteRefresh;
      const rr = (subtype: number) => encodeRouteRefresh({ afi: r.afi, safi: 1, subtype });
      peer.session.sendRaw(enhanced ? [rr(1), ...body, rr(2)] : body);
    } else if (r.subtype === 1) {
      this.rib.markStale(peer.ref, [f]);
    } else if (r.subtype === 2) {
      this.rib.sweepStale(peer.ref, [f]);
      this.scheduleFlush();
    }
  }

  // ---- local routes and export -------------------------------------------------------------------

  /** Originates a prefix from this speaker (next hop: ourselves). */
  originate(o: OriginateConfig): void {
    const key = keyFromString(o.prefix);
    const family: Family = typeof key === "number" ? "ipv4" : "ipv6";
    let attrs: PathAttribute[] = [
      { kind: "origin", code: 1, flags: 0x40, origin: 0 },
      { kind: "as-path", code: 2, flags: 0x40, segments: [] },
    ];
    attrs = applySet(attrs, {
      ...(o.communities ? { addCommunities: o.communities } : {}),
      ...(o.largeCommunities ? { addLargeCommunities: o.largeCommunities } : {}),
      ...(o.med !== undefined ? { med: o.med } : {}),
      ...(o.localPref !== undefined ? { localPref: o.localPref } : {}),
    });
    this.originated.set(key, o);
    this.rib.update(this.local, family, key, 0, buildPathAttrs(attrs, ""));
    this.scheduleFlush();
  }

  withdrawOriginated(prefix: string): void {
    const key = keyFromString(prefix);
    this.originated.delete(key);
    this.rib.update(this.local, typeof key === "number" ? "ipv4" : "ipv6", key, 0, undefined);
    this.scheduleFlush();
  }

  onBestChange(cb: BestChange): () => void {
    this.bestListeners.add(cb);
    return () => this.bestListeners.delete(cb);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushNow());
  }

  /** Runs export for every changed prefix and writes the resulting UPDATEs. */
  flushNow(): void {
    this.flushScheduled = false;
    const groups = [...this.groups.values()].filter((g) => g.active);
    for (const f of FAMILIES) {
      this.rib.drain(f, (d, bestChanged) => {
        for (const g of groups) g.process(f, d);
        if (bestChanged) for (const cb of this.bestListeners) cb(f, d.key, d.best);
        if (d.best === undefined) this.rib.prune(f, d);
      });
    }
    for (const g of groups) {
      g.flush();
      g.trimCache();
    }
  }

  // ---- operations ------------------------------------------------------------------------------------

  /** Administratively stops one peer (Cease / Administrative Shutdown with `message`). */
  shutdownPeer(address: string, message?: string): void {
    const p = this.requirePeer(address);
    p.limits.clear();
    p.bfd?.cancelRestart();
    p.session.stop(message);
  }

  /** Starts a peer that was shut down, or one resting after a prefix-limit trip. */
  startPeer(address: string): void {
    const p = this.requirePeer(address);
    p.limits.clear();
    p.session.start();
  }

  /** Asks the peer to send its routes again (ROUTE-REFRESH, e.g. after an import policy change). */
  refreshIn(address: string, family: Family = "ipv4"): void {
    const p = this.requirePeer(address);
    if (p.negotiated?.routeRefresh)
      p.session.send({ type: "ROUTE-REFRESH", afi: family === "ipv4" ? 1 : 2, safi: 1, subtype: 0 });
  }

  private requirePeer(address: string): Peer {
    const p = this.peers.get(address);
    if (p === undefined) throw new SpeakerError("peer", `no peer ${address}`);
    return p;
  }

  async stop(message = "shutting down"): Promise<void> {
    for (const p of this.peers.values()) {
      p.session.stop(message);
      p.restartTimer?.cancel();
      p.limits.clear();
      p.bfd?.close();
    }
    this.flushNow();
    await this.listener?.close();
    this.listener = undefined;
    for (const p of this.peers.values()) p.session.destroy();
  }

  // ---- status ----------------------------------------------------------------------------------------

  peerStatus(): PeerStatus[] {
    return [...this.peers.values()].map((p) => {
      const n = p.session.negotiated;
      const counts = (f: Family): PrefixCounts => {
        const accepted = this.rib.countOf(p.ref, f);
        const advertised =
          p.group && p.member && p.negotiated?.families.has(f)
            ? p.group.advertisedTo(p.member, f, accepted > 0)
            : 0;
        return { received: accepted + p.rejected[f].size, accepted, advertised };
      };
      const stale = this.rib.staleCountOf(p.ref);
      const limits = p.limits.status();
      const limitWords = p.limits.words(n !== undefined);
      const downWords = p.limits.downWords();
      const lastError =
        p.session.lastError !== undefined && downWords !== undefined
          ? `${p.session.lastError}; ${downWords}`
          : p.session.lastError;
      return {
        name: p.cfg.name ?? p.cfg.address,
        address: p.cfg.address,
        asn: p.cfg.asn,
        type: p.ref.type === "ebgp" ? "ebgp" : "ibgp",
        state: p.session.state,
        since: p.session.since,
        ...(n ? { routerId: n.peerRouterId, holdTimeSec: n.holdTimeSec, keepaliveSec: n.keepaliveSec } : {}),
        ...(n?.peerHostname ? { hostname: n.peerHostname } : {}),
        families: n ? [...n.families] : [...(p.cfg.families ?? FAMILIES)],
        prefixes: { ipv4: counts("ipv4"), ipv6: counts("ipv6") },
        stale,
        ...(lastError !== undefined ? { lastError } : {}),
        messages: { sent: { ...p.session.stats.sent }, received: { ...p.session.stats.received } },
        flaps: p.session.stats.flaps,
        passive: p.cfg.passive === true,
        routeReflectorClient: p.ref.rrClient,
        endOfRibReceived: [...p.eorReceived],
        ...(limits.length > 0 ? { prefixLimits: limits } : {}),
        ...(limitWords !== undefined ? { prefixLimit: limitWords } : {}),
        ...(p.bfd !== undefined ? { bfd: p.bfd.status() } : {}),
      };
    });
  }

  /** Paths for one prefix (or every prefix of a family), best first. */
  ribEntries(family: Family, prefix?: string): RibPath[] {
    const dests: Dest[] = [];
    if (prefix !== undefined) {
      const d = this.rib.dest(family, keyFromString(prefix));
      if (d) dests.push(d);
    } else {
      for (const best of this.rib.bests(family)) {
        const d = this.rib.dest(family, best.key);
        if (d) dests.push(d);
      }
    }
    const names = new Map([...this.peers.values()].map((p) => [p.ref.id, p.cfg.name ?? p.cfg.address]));
    const out: RibPath[] = [];
    for (const d of dests) {
      const ordered = [...d.paths].sort((a, b) => (a === d.best ? -1 : b === d.best ? 1 : 0));
      for (const p of ordered) out.push(toRibPath(p, p === d.best, names.get(p.peer.id) ?? "local"));
    }
    return out;
  }

  routeCount(family: Family): number {
    return this.rib.size(family);
  }
}

export type { PeerStatus, PrefixCounts, RibPath };
export { describeDown, prefixListFromStrings };
