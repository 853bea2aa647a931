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

/**
 * One prefix: its paths and best path, and what each update group advertised for it. Sized for the
 * common case of a full table (one path, one group): the single path and slot 0 are plain fields, arrays
 * appear only for more; a million of these is most of the RIB's memory.
 */
export class Dest {
  best: Path | undefined = undefined;
  /** In the change list: 0 no, 1 for its paths only (ADD-PATH send), 2 for its best path. */
  queued: 0 | 1 | 2 = 0;
  private one: Path | undefined;
  private many: Path[] | undefined = undefined;
  /** What update group slot 0 advertised (the group's Adj-RIB-Out entry). */
  private out0: PathAttrs | undefined = undefined;
  /** Slots 1 and up. */
  private outMore: (PathAttrs | undefined)[] | undefined = undefined;

  constructor(
    readonly key: PrefixKey,
    first: Path,
  ) {
    this.one = first;
  }

  get pathCount(): number {
    return this.many !== undefined ? this.many.length : this.one !== undefined ? 1 : 0;
  }

  /** Every path. */
  get paths(): readonly Path[] {
    return this.many !== undefined ? this.many : this.one !== undefined ? [this.one] : [];
  }

  indexOf(peer: PeerRef, pathId: number): number {
    if (this.many === undefined)
      return this.one !== undefined && this.one.peer === peer && this.one.pathId === pathId ? 0 : -1;
    const m = this.many;
    for (let k = 0; k < m.length; k++) if (m[k]!.peer === peer && m[k]!.pathId === pathId) return k;
    return -1;
  }

  at(i: number): Path {
    return this.many !== undefined ? this.many[i]! : this.one!;
  }

  setAt(i: number, p: Path): void {
    if (this.many !== undefined) this.many[i] = p;
    else this.one = p;
  }

  add(p: Path): void {
    if (this.many !== undefined) this.many.push(p);
    else if (this.one === undefined) this.one = p;
    else {
      this.many = [this.one, p];
      this.one = undefined;
    }
  }

  removeAt(i: number): void {
    if (this.many === undefined) {
      this.one = undefined;
      return;
    }
    this.many.splice(i, 1);
    if (this.many.length === 1) {
      this.one = this.many[0];
      this.many = undefined;
    }
  }

  /** Keeps the paths for which `keep` holds; returns how many went. */
  retain(keep: (p: Path) => boolean): number {
    const all = this.paths;
    const kept = all.filter(keep);
    if (kept.length === all.length) return 0;
    this.one = kept.length === 1 ? kept[0] : undefined;
    this.many = kept.length > 1 ? kept : undefined;
    return all.length - kept.length;
  }

  /** The best path (RFC 4271 §9.1.2.2), without allocating for a single path. */
  choose(): Path | undefined {
    if (this.many === undefined) return this.one;
    return this.many[selectBest(this.many)];
  }

  getOut(slot: number): PathAttrs | undefined {
    return slot === 0 ? this.out0 : this.outMore?.[slot - 1];
  }

  setOut(slot: number, v: PathAttrs | undefined): void {
    if (slot === 0) {
      this.out0 = v;
      return;
    }
    if (this.outMore === undefined) {
      if (v === undefined) return;
      this.outMore = new Array<PathAttrs | undefined>(slot).fill(undefined);
    }
    while (this.outMore.length < slot) this.outMore.push(undefined);
    this.outMore[slot - 1] = v;
  }

  /** Some update group still has this prefix advertised. */
  advertised(): boolean {
    return this.out0 !== undefined || (this.outMore?.some((x) => x !== undefined) ?? false);
  }
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
  /**
   * Queue prefixes whenever any of their paths changes, not only their best: set once a group sends
   * several paths per prefix (ADD-PATH), where a change to the second-best path is news too.
   */
  trackAllPaths = false;

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
    const i = dest === undefined ? -1 : dest.indexOf(peer, pathId);
    const c = this.countsOf(peer);
    if (attrs === undefined) {
      if (i < 0) return false;
      this.forget(dest!.at(i), c, family);
      dest!.removeAt(i);
      return this.decide(family, dest!);
    }
    const shared = this.attrTable.intern(attrs);
    this.attrTable.ref(shared);
    const p = new Path(peer, key, pathId, shared, false);
    c[family]++;
    if (dest === undefined) {
      dest = new Dest(key, p);
      dests.set(key, dest);
    } else if (i >= 0) {
      this.forget(dest.at(i), c, family);
      dest.setAt(i, p);
    } else {
      dest.add(p);
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
    dest.best = dest.choose();
    // A prefix without paths stays while some group still has it advertised (its withdraw is
    // pending); export calls `prune` once it is gone everywhere.
    if (dest.best === undefined && !dest.advertised()) this.dests[family].delete(dest.key);
    if (dest.best === before) {
      if (this.trackAllPaths && dest.queued === 0) {
        dest.queued = 1;
        this.changed[family].push(dest);
      }
      return false;
    }
    if (dest.queued === 0) this.changed[family].push(dest);
    dest.queued = 2;
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
        const gone = d.retain((p) => {
          if (p.peer !== peer || (onlyStale && !p.stale)) return true;
          this.forget(p, c, f);
          return false;
        });
        if (gone > 0) {
          n += gone;
          this.decide(f, d);
        }
      }
    }
    return n;
  }

  /**
   * RFC 9494 §4.3, at the end of a peer's restart time: each of its paths in `families` becomes what
   * `rewrite` makes of its attributes (LLGR_STALE added), or goes when `rewrite` says undefined
   * (NO_LLGR). The paths stay stale, so End-of-RIB or the long-lived timer sweeps them. Returns how many
   * are kept.
   */
  rewritePeer(
    peer: PeerRef,
    families: readonly Family[],
    rewrite: (attrs: PathAttrs) => PathAttrs | undefined,
  ): number {
    if (!this.counts.has(peer.id)) return 0;
    const c = this.countsOf(peer);
    let kept = 0;
    for (const f of families) {
      if (c[f] === 0) continue;
      for (const d of [...this.dests[f].values()]) {
        let touched = false;
        for (const p of [...d.paths]) {
          if (p.peer !== peer) continue;
          touched = true;
          const idx = d.indexOf(peer, p.pathId);
          const next = rewrite(p.attrs);
          this.forget(p, c, f);
          if (next === undefined) {
            d.removeAt(idx);
            continue;
          }
          const shared = this.attrTable.intern(next);
          this.attrTable.ref(shared);
          d.setAt(idx, new Path(peer, d.key, p.pathId, shared, true));
          c[f]++;
          c.stale++;
          kept++;
        }
        if (touched) this.decide(f, d);
      }
    }
    return kept;
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
    if (dest.pathCount === 0 && !dest.advertised()) {
      if (this.dests[family].get(dest.key) === dest) this.dests[family].delete(dest.key);
    }
  }

  /** Prefixes whose best path changed since the last call (each once). */
  drainChanges(family: Family): Dest[] {
    const out: Dest[] = [];
    this.drain(family, (d, bestChanged) => {
      if (bestChanged) out.push(d);
    });
    return out;
  }

  /** Visits every queued prefix once, saying whether its best path changed (or only other paths). */
  drain(family: Family, visit: (d: Dest, bestChanged: boolean) => void): void {
    const out = this.changed[family];
    this.changed[family] = [];
    for (const d of out) {
      const bestChanged = d.queued === 2;
      d.queued = 0;
      visit(d, bestChanged);
    }
  }

  hasChanges(): boolean {
    return this.changed.ipv4.length > 0 || this.changed.ipv6.length > 0;
  }
}
