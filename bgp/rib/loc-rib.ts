/**
 * Adj-RIBs-In and the Loc-RIB (RFC 4271 §3.2) in one structure: every path is stored once and indexed
 * twice, by peer (for withdraws, peer-down and graceful-restart sweeps) and by prefix (for the decision
 * process). Each prefix's best path is kept current; prefixes whose best changed are collected until
 * the speaker drains them for export and for the FIB. IPv4 prefixes are number keys (prefix-key.ts),
 * so a million-route table is a few Maps of numbers. Pure data structure: no I/O, no timers.
 */
import { type Candidate, selectBest } from "./best-path.js";
import type { AttrTable, PathAttrs } from "./path-attrs.js";
import type { Family, PrefixKey } from "./prefix-key.js";

export interface PeerRef {
  /** Stable small integer, unique per peer. */
  readonly id: number;
  readonly address: string;
  readonly type: "local" | "ebgp" | "ibgp";
  /** Filled in when the session comes up. */
  routerId: string;
  readonly rrClient: boolean;
}

export class Path implements Candidate {
  readonly source: "local" | "ebgp" | "ibgp";
  readonly peerAddress: string;
  constructor(
    readonly peer: PeerRef,
    readonly key: PrefixKey,
    readonly pathId: number,
    /** Key in the peer's Adj-RIB-In: the prefix, or prefix#pathId for ADD-PATH peers. */
    readonly adjKey: PrefixKey,
    readonly attrs: PathAttrs,
    public stale: boolean,
  ) {
    this.source = peer.type;
    this.peerAddress = peer.address;
  }
  get peerRouterId(): string {
    return this.peer.routerId;
  }
}

export interface Dest {
  readonly key: PrefixKey;
  paths: Path[];
  best: Path | undefined;
}

type AdjIn = { ipv4: Map<number | string, Path>; ipv6: Map<string, Path> };

export class LocRib {
  private readonly dests = { ipv4: new Map<PrefixKey, Dest>(), ipv6: new Map<PrefixKey, Dest>() };
  private readonly adjIn = new Map<number, AdjIn>();
  private readonly changed = { ipv4: new Set<PrefixKey>(), ipv6: new Set<PrefixKey>() };

  constructor(readonly attrTable: AttrTable) {}

  private adjOf(peer: PeerRef): AdjIn {
    let a = this.adjIn.get(peer.id);
    if (a === undefined) {
      a = { ipv4: new Map(), ipv6: new Map() };
      this.adjIn.set(peer.id, a);
    }
    return a;
  }

  /**
   * Adds or replaces (attrs) or removes (undefined) the path `peer` has for `key` (with `pathId` when
   * the peer uses ADD-PATH; 0 otherwise). Returns true when the prefix's best path changed.
   */
  update(
    peer: PeerRef,
    family: Family,
    key: PrefixKey,
    pathId: number,
    attrs: PathAttrs | undefined,
    addPath = false,
  ): boolean {
    const adj = this.adjOf(peer)[family] as Map<PrefixKey, Path>;
    const adjKey = addPath ? `${key}#${pathId}` : key;
    const old = adj.get(adjKey);
    const dests = this.dests[family];
    let dest = dests.get(key);
    if (old !== undefined) {
      adj.delete(adjKey);
      this.attrTable.unref(old.attrs);
      if (dest !== undefined) {
        const i = dest.paths.indexOf(old);
        if (i >= 0) dest.paths.splice(i, 1);
      }
    }
    if (attrs !== undefined) {
      const shared = this.attrTable.intern(attrs);
      this.attrTable.ref(shared);
      const p = new Path(peer, key, pathId, adjKey, shared, false);
      adj.set(adjKey, p);
      if (dest === undefined) {
        dest = { key, paths: [p], best: undefined };
        dests.set(key, dest);
      } else {
        dest.paths.push(p);
      }
    } else if (old === undefined) {
      return false;
    }
    return this.decide(family, dest!);
  }

  private decide(family: Family, dest: Dest): boolean {
    const before = dest.best;
    const n = dest.paths.length;
    if (n === 0) {
      dest.best = undefined;
      this.dests[family].delete(dest.key);
    } else {
      dest.best = n === 1 ? dest.paths[0] : dest.paths[selectBest(dest.paths)];
    }
    if (dest.best !== before) {
      this.changed[family].add(dest.key);
      return true;
    }
    return false;
  }

  best(family: Family, key: PrefixKey): Path | undefined {
    return this.dests[family].get(key)?.best;
  }

  dest(family: Family, key: PrefixKey): Dest | undefined {
    return this.dests[family].get(key);
  }

  /** All prefixes with a best path, for full table dumps. */
  *bests(family: Family): IterableIterator<Path> {
    for (const d of this.dests[family].values()) if (d.best !== undefined) yield d.best;
  }

  size(family: Family): number {
    return this.dests[family].size;
  }

  /** Paths received from `peer` (its Adj-RIB-In). */
  *pathsOf(peer: PeerRef, family: Family): IterableIterator<Path> {
    const a = this.adjIn.get(peer.id);
    if (a !== undefined) yield* (a[family] as Map<PrefixKey, Path>).values();
  }

  countOf(peer: PeerRef, family: Family): number {
    return this.adjIn.get(peer.id)?.[family].size ?? 0;
  }

  /** RFC 4724 helper: mark every path of `peer` (in `families`) stale. Returns how many. */
  markStale(peer: PeerRef, families: readonly Family[]): number {
    let n = 0;
    for (const f of families) {
      for (const p of this.pathsOf(peer, f)) {
        p.stale = true;
        n++;
      }
    }
    return n;
  }

  /** Removes the paths of `peer` in `families` that are still stale (End-of-RIB, restart timer). */
  sweepStale(peer: PeerRef, families: readonly Family[]): number {
    let n = 0;
    const a = this.adjIn.get(peer.id);
    if (a === undefined) return 0;
    for (const f of families) {
      const map = a[f] as Map<PrefixKey, Path>;
      for (const p of [...map.values()]) {
        if (!p.stale) continue;
        map.delete(p.adjKey);
        this.detach(f, p);
        n++;
      }
    }
    return n;
  }

  /** Takes a path out of its prefix and re-decides; the caller has removed it from the Adj-RIB-In. */
  private detach(family: Family, p: Path): void {
    this.attrTable.unref(p.attrs);
    const dest = this.dests[family].get(p.key);
    if (dest === undefined) return;
    const i = dest.paths.indexOf(p);
    if (i >= 0) dest.paths.splice(i, 1);
    this.decide(family, dest);
  }

  /** Removes every path of `peer` (session down without graceful restart). */
  removePeer(peer: PeerRef, families: readonly Family[] = ["ipv4", "ipv6"]): number {
    let n = 0;
    const a = this.adjIn.get(peer.id);
    if (a === undefined) return 0;
    for (const f of families) {
      const map = a[f] as Map<PrefixKey, Path>;
      for (const p of map.values()) {
        this.detach(f, p);
        n++;
      }
      map.clear();
    }
    return n;
  }

  /** Prefixes whose best path changed since the last call. */
  drainChanges(family: Family): PrefixKey[] {
    const out = [...this.changed[family]];
    this.changed[family].clear();
    return out;
  }

  hasChanges(): boolean {
    return this.changed.ipv4.size > 0 || this.changed.ipv6.size > 0;
  }
}
