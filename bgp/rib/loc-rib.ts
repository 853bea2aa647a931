/**
 * Adj-RIBs-In and the Loc-RIB (RFC 4271 §3.2) in one table: each prefix (a `Dest`) holds the paths
 * every peer sent for it, and its best path is kept current. There is no separate per-peer map: the
 * per-peer operations (peer down, graceful-restart stale marking and sweeping) are rare and walk the
 * table, as BIRD does, while the hot path (an UPDATE) touches one Map entry per prefix. Prefixes whose
 * best changed are queued (a flag on the Dest, no Set) until the speaker drains them for export and
 * the FIB. IPv4 prefixes are number keys (prefix-key.ts). Pure data structure: no I/O, no timers.
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

/** One path: a million of them make a full table, so it holds five fields and derives the rest. */
export class Path implements Candidate {
  constructor(
    readonly peer: PeerRef,
    readonly key: PrefixKey,
    /** ADD-PATH path identifier (0 without ADD-PATH). */
    readonly pathId: number,
    readonly attrs: PathAttrs,
    public stale: boolean,
  ) {}
  get source(): "local" | "ebgp" | "ibgp" {
    return this.peer.type;
  }
  get peerAddress(): string {
    return this.peer.address;
  }
  get peerRouterId(): string {
    return this.peer.routerId;
  }
}

export class Dest {
  best: Path | undefined = undefined;
  /** Queued in the change list. */
  queued = false;
  /**
   * What each update group last advertised for this prefix, by group slot (the groups' Adj-RIBs-Out,
   * kept here so that export needs no per-group map of a million entries).
   */
  out: (PathAttrs | undefined)[] | undefined = undefined;
  constructor(
    readonly key: PrefixKey,
    /** Created holding its first path, so the array is sized for one (an empty [] grows to 17 slots). */
    public paths: Path[],
  ) {}
}

interface PeerCounts {
  ipv4: number;
  ipv6: number;
  stale: number;
}

export class LocRib {
  private readonly dests = { ipv4: new Map<PrefixKey, Dest>(), ipv6: new Map<PrefixKey, Dest>() };
  private changed: Record<Family, Dest[]> = { ipv4: [], ipv6: [] };
  private readonly counts = new Map<number, PeerCounts>();

  constructor(readonly attrTable: AttrTable) {}

  private countsOf(peer: PeerRef): PeerCounts {
    let c = this.counts.get(peer.id);
    if (c === undefined) {
      c = { ipv4: 0, ipv6: 0, stale: 0 };
      this.counts.set(peer.id, c);
    }
    return c;
  }

  /**
   * Adds or replaces (attrs) or removes (undefined) the path `peer` has for `key` (per `pathId` for
   * ADD-PATH peers; 0 otherwise). Returns true when the prefix's best path changed.
   */
  update(
    peer: PeerRef,
    family: Family,
    key: PrefixKey,
    pathId: number,
    attrs: PathAttrs | undefined,
  ): boolean {
    const dests = this.dests[family];
    let dest = dests.get(key);
    let i = -1;
    if (dest !== undefined) {
      const paths = dest.paths;
      for (let k = 0; k < paths.length; k++) {
        const p = paths[k]!;
        if (p.peer === peer && p.pathId === pathId) {
          i = k;
          break;
        }
      }
    }
    const c = this.countsOf(peer);
    if (attrs === undefined) {
      if (i < 0) return false;
      const old = dest!.paths[i]!;
      this.forget(old, c, family);
      dest!.paths.splice(i, 1);
      return this.decide(family, dest!);
    }
    const shared = this.attrTable.intern(attrs);
    this.attrTable.ref(shared);
    const p = new Path(peer, key, pathId, shared, false);
    if (dest === undefined) {
      dest = new Dest(key, [p]);
      dests.set(key, dest);
      c[family]++;
    } else if (i >= 0) {
      this.forget(dest.paths[i]!, c, family);
      dest.paths[i] = p;
      c[family]++;
    } else {
      dest.paths.push(p);
      c[family]++;
    }
    return this.decide(family, dest);
  }

  private forget(p: Path, c: PeerCounts, family: Family): void {
    this.attrTable.unref(p.attrs);
    c[family]--;
    if (p.stale) c.stale--;
  }

  private decide(family: Family, dest: Dest): boolean {
    const before = dest.best;
    const n = dest.paths.length;
    if (n === 0) {
      dest.best = undefined;
      // The entry stays while some group still has it advertised (its withdraw is pending); export
      // calls `prune` once it is gone everywhere.
      if (dest.out === undefined || dest.out.every((x) => x === undefined))
        this.dests[family].delete(dest.key);
    } else {
      dest.best = n === 1 ? dest.paths[0] : dest.paths[selectBest(dest.paths)];
    }
    if (dest.best === before) return false;
    if (!dest.queued) {
      dest.queued = true;
      this.changed[family].push(dest);
    }
    return true;
  }

  best(family: Family, key: PrefixKey): Path | undefined {
    return this.dests[family].get(key)?.best;
  }

  dest(family: Family, key: PrefixKey): Dest | undefined {
    return this.dests[family].get(key);
  }

  /** Every prefix entry of a family. */
  allDests(family: Family): IterableIterator<Dest> {
    return this.dests[family].values();
  }

  /** All prefixes with a best path, for full table dumps. */
  *bests(family: Family): IterableIterator<Path> {
    for (const d of this.dests[family].values()) if (d.best !== undefined) yield d.best;
  }

  size(family: Family): number {
    return this.dests[family].size;
  }

  /** Paths received from `peer` (its Adj-RIB-In). Walks the table. */
  *pathsOf(peer: PeerRef, family: Family): IterableIterator<Path> {
    if ((this.counts.get(peer.id)?.[family] ?? 0) === 0) return;
    for (const d of this.dests[family].values()) for (const p of d.paths) if (p.peer === peer) yield p;
  }

  countOf(peer: PeerRef, family: Family): number {
    return this.counts.get(peer.id)?.[family] ?? 0;
  }

  staleCountOf(peer: PeerRef): number {
    return this.counts.get(peer.id)?.stale ?? 0;
  }

  /** RFC 4724 helper: mark every path of `peer` (in `families`) stale. Returns how many. */
  markStale(peer: PeerRef, families: readonly Family[]): number {
    const c = this.countsOf(peer);
    let n = 0;
    for (const f of families) {
      for (const p of this.pathsOf(peer, f)) {
        if (!p.stale) {
          p.stale = true;
          c.stale++;
        }
        n++;
      }
    }
    return n;
  }

  /** Removes the paths of `peer` (in `families`) that are still stale, or all of them. */
  private removeWhere(peer: PeerRef, families: readonly Family[], onlyStale: boolean): number {
    if (!this.counts.has(peer.id)) return 0;
    const c = this.countsOf(peer);
    let n = 0;
    for (const f of families) {
      if (c[f] === 0) continue;
      for (const d of [...this.dests[f].values()]) {
        const before = d.paths.length;
        d.paths = d.paths.filter((p) => {
          if (p.peer !== peer || (onlyStale && !p.stale)) return true;
          this.forget(p, c, f);
          return false;
        });
        if (d.paths.length !== before) {
          n += before - d.paths.length;
          this.decide(f, d);
        }
      }
    }
    return n;
  }

  sweepStale(peer: PeerRef, families: readonly Family[]): number {
    return this.removeWhere(peer, families, true);
  }

  /** Removes every path of `peer` (session down without graceful restart). */
  removePeer(peer: PeerRef, families: readonly Family[] = ["ipv4", "ipv6"]): number {
    return this.removeWhere(peer, families, false);
  }

  /** Forgets an entry without paths once no group advertises it any more. */
  prune(family: Family, dest: Dest): void {
    if (dest.paths.length === 0 && (dest.out === undefined || dest.out.every((x) => x === undefined))) {
      if (this.dests[family].get(dest.key) === dest) this.dests[family].delete(dest.key);
    }
  }

  /** Prefixes whose best path changed since the last call (each once). */
  drainChanges(family: Family): Dest[] {
    const out = this.changed[family];
    this.changed[family] = [];
    for (const d of out) d.queued = false;
    return out;
  }

  hasChanges(): boolean {
    return this.changed.ipv4.length > 0 || this.changed.ipv6.length > 0;
  }
}
