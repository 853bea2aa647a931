/**
 * An update group whose members receive several paths per prefix (ADD-PATH send, RFC 7911): every
 * path we may advertise to them, or the best N by the decision process. A route reflector that sends
 * only its best path hides the second ToR from its clients, so they cannot spread traffic over both;
 * with this they get both paths and install ECMP.
 *
 * What it trades: UpdateGroup keeps its Adj-RIB-Out in a slot of each prefix entry (one path, no
 * extra objects, sized for a million prefixes); here the Adj-RIB-Out is a map per family from prefix
 * to the paths sent, an array per prefix. ADD-PATH send is a route-reflector feature for tables of
 * pod blocks and ToR routes, not full Internet tables, so the simpler structure is the right one.
 *
 * Path identifiers are ours, not the ones received: one per (source peer, received path id), handed
 * out once and kept for the speaker's life, so a path that changes its attributes keeps its identifier
 * (an implicit replace at the receiver, RFC 7911 §3) and two sources never share one. Families the
 * member negotiated without ADD-PATH get the best path alone, under identifier 0 (not encoded).
 * As in UpdateGroup, a member is never sent the paths it sent us. Pure: no I/O, no timers.
 */
import { encodeEndOfRib, packWithdrawals } from "../codec/update-pack.js";
import type { CompiledPolicy } from "../policy/policy.js";
import { selectBest } from "./best-path.js";
import { type ExportTarget, exportPath } from "./export.js";
import type { Dest, LocRib, Path } from "./loc-rib.js";
import type { PathAttrs } from "./path-attrs.js";
import { type Family, keysToPrefixList, type PrefixKey } from "./prefix-key.js";
import {
  type ExportGroup,
  encodeAnnouncements,
  type GroupEncoding,
  type GroupMember,
} from "./update-group.js";

/** How many paths per prefix a family's members get. */
export type PathSelection = { readonly kind: "all" } | { readonly kind: "best"; readonly n: number };

/**
 * The selection per family for a peer configured to send `send`, where the session negotiated ADD-PATH
 * send for `tx`; undefined when no family sends several paths (an ordinary update group does).
 */
export function addPathSelection(
  send: "all" | { readonly best: number } | undefined,
  tx: ReadonlySet<Family>,
): Partial<Record<Family, PathSelection>> | undefined {
  if (send === undefined || tx.size === 0) return undefined;
  const sel: PathSelection = send === "all" ? { kind: "all" } : { kind: "best", n: send.best };
  return Object.fromEntries([...tx].map((f) => [f, sel]));
}

/** The selection as part of an update group's key. */
export function addPathSelectionKey(sel: Partial<Record<Family, PathSelection>> | undefined): string {
  if (sel === undefined) return "";
  return FAMILIES.map((f) => {
    const s = sel[f];
    return s === undefined ? "-" : s.kind === "all" ? "all" : `best${s.n}`;
  }).join(",");
}

/** One path in the Adj-RIB-Out. */
interface SentPath {
  /** Our path identifier (0 for families without ADD-PATH). */
  readonly id: number;
  /** The PeerRef id it came from: not sent back there. */
  readonly source: number;
  readonly attrs: PathAttrs;
}

const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];
const NONE: readonly SentPath[] = [];

/** The paths of a prefix in decision-process order (best first). */
export function rankPaths(paths: readonly Path[]): Path[] {
  const rest = [...paths];
  const out: Path[] = [];
  while (rest.length > 0) {
    const i = selectBest(rest);
    out.push(rest[i]!);
    rest.splice(i, 1);
  }
  return out;
}

/** Our path identifiers: one per (source peer, received path id), handed out once. */
export class PathIds {
  private readonly ids = new Map<number, Map<number, number>>();
  private next = 1;

  of(p: Path): number {
    let byPeer = this.ids.get(p.peer.id);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.ids.set(p.peer.id, byPeer);
    }
    let id = byPeer.get(p.pathId);
    if (id === undefined) {
      id = this.next++;
      byPeer.set(p.pathId, id);
    }
    return id;
  }
}

export class AddPathGroup implements ExportGroup {
  readonly members = new Set<GroupMember>();
  private readonly out: Record<Family, Map<PrefixKey, readonly SentPath[]>> = {
    ipv4: new Map(),
    ipv6: new Map(),
  };
  /** Prefixes changed since the last flush, with what the members had before the first change. */
  private pending: Record<Family, Map<PrefixKey, readonly SentPath[]>> = { ipv4: new Map(), ipv6: new Map() };
  private readonly pathCount = { ipv4: 0, ipv6: 0 };

  constructor(
    readonly key: string,
    readonly target: ExportTarget,
    readonly policy: CompiledPolicy | undefined,
    readonly encoding: GroupEncoding,
    private readonly rib: LocRib,
    /** Per family: the selection where the session sends path identifiers; absent means best path only. */
    private readonly selection: Partial<Record<Family, PathSelection>>,
    /** Shared by the speaker's groups, so a member moved between them keeps its identifiers. */
    private readonly ids: PathIds,
  ) {}

  get active(): boolean {
    return this.members.size > 0;
  }

  advertisedCount(family: Family): number {
    return this.pathCount[family];
  }

  advertisedTo(m: GroupMember, family: Family, sourcedByMember: boolean): number {
    if (!sourcedByMember) return this.pathCount[family];
    let n = 0;
    for (const paths of this.out[family].values()) for (const p of paths) if (p.source !== m.peerId) n++;
    return n;
  }

  /** What this group sends for `d` now. */
  private select(family: Family, d: Dest): readonly SentPath[] {
    const sel = this.selection[family];
    if (sel === undefined) {
      const best = d.best;
      const attrs = best === undefined ? undefined : exportPath(best, family, this.target, this.policy);
      return attrs === undefined ? NONE : [{ id: 0, source: best!.peer.id, attrs }];
    }
    const limit = sel.kind === "all" ? Number.POSITIVE_INFINITY : sel.n;
    const out: SentPath[] = [];
    for (const p of d.pathCount > 1 ? rankPaths(d.paths) : d.paths) {
      if (out.length >= limit) break;
      const attrs = exportPath(p, family, this.target, this.policy);
      if (attrs !== undefined) out.push({ id: this.ids.of(p), source: p.peer.id, attrs });
    }
    return out;
  }

  private store(family: Family, key: PrefixKey, paths: readonly SentPath[]): void {
    const before = this.out[family].get(key) ?? NONE;
    this.pathCount[family] += paths.length - before.length;
    if (paths.length === 0) this.out[family].delete(key);
    else this.out[family].set(key, paths);
  }

  process(family: Family, d: Dest): void {
    if (!this.active) return;
    const now = this.select(family, d);
    const before = this.out[family].get(d.key) ?? NONE;
    if (samePaths(before, now)) return;
    const p = this.pending[family];
    if (!p.has(d.key)) p.set(d.key, before);
    this.store(family, d.key, now);
  }

  flush(): void {
    for (const f of FAMILIES) {
      const changed = this.pending[f];
      if (changed.size === 0) continue;
      this.pending[f] = new Map();
      const diffs: [PrefixKey, readonly SentPath[], readonly SentPath[]][] = [];
      const sources = new Set<number>();
      for (const [key, before] of changed) {
        const now = this.out[f].get(key) ?? NONE;
        if (samePaths(before, now)) continue;
        diffs.push([key, before, now]);
        for (const p of before) sources.add(p.source);
        for (const p of now) sources.add(p.source);
      }
      if (diffs.length === 0) continue;
      let shared: Uint8Array[] | undefined;
      for (const m of this.members) {
        if (!m.families.has(f)) continue;
        let msgs: Uint8Array[];
        if (sources.has(m.peerId)) msgs = this.encodeDiffs(f, diffs, m.peerId);
        else {
          shared ??= this.encodeDiffs(f, diffs, undefined);
          msgs = shared;
        }
        if (msgs.length > 0) m.send(msgs);
      }
    }
  }

  /** Withdrawals of the paths gone, then the paths new or changed; without `exclude`'s own. */
  private encodeDiffs(
    f: Family,
    diffs: readonly [PrefixKey, readonly SentPath[], readonly SentPath[]][],
    exclude: number | undefined,
  ): Uint8Array[] {
    const withdraw: { keys: PrefixKey[]; ids: number[] } = { keys: [], ids: [] };
    const announce = new Map<PathAttrs, { keys: PrefixKey[]; ids: number[] }>();
    for (const [key, before, now] of diffs) {
      for (const b of before) {
        if (b.source === exclude) continue;
        if (!now.some((n) => n.id === b.id && n.source !== exclude)) {
          withdraw.keys.push(key);
          withdraw.ids.push(b.id);
        }
      }
      for (const n of now) {
        if (n.source === exclude) continue;
        const had = before.find((b) => b.id === n.id && b.source !== exclude);
        if (had !== undefined && had.attrs.key === n.attrs.key) continue;
        add(announce, n.attrs, key, n.id);
      }
    }
    return this.encode(f, withdraw, announce);
  }

  private encode(
    f: Family,
    withdraw: { keys: PrefixKey[]; ids: number[] },
    announce: Map<PathAttrs, { keys: PrefixKey[]; ids: number[] }>,
  ): Uint8Array[] {
    const withIds = this.selection[f] !== undefined;
    const list = (keys: PrefixKey[], ids: number[]) => keysToPrefixList(f, keys, withIds ? ids : undefined);
    const msgs: Uint8Array[] = [];
    if (withdraw.keys.length > 0) {
      msgs.push(
        ...packWithdrawals(list(withdraw.keys, withdraw.ids), this.encoding.ctx, {
          maxMessageLen: this.encoding.ctx.maxMessageLen,
        }),
      );
    }
    for (const [attrs, { keys, ids }] of announce)
      msgs.push(...encodeAnnouncements(this.encoding, attrs, list(keys, ids)));
    return msgs;
  }

  /** The group's whole table for one family, packed (without `exclude`'s own paths). */
  private dump(f: Family, exclude: number): Uint8Array[] {
    const announce = new Map<PathAttrs, { keys: PrefixKey[]; ids: number[] }>();
    for (const [key, paths] of this.out[f])
      for (const p of paths) if (p.source !== exclude) add(announce, p.attrs, key, p.id);
    return this.encode(f, { keys: [], ids: [] }, announce);
  }

  join(m: GroupMember, rib: LocRib): void {
    this.prepare(rib);
    this.members.add(m);
    for (const f of FAMILIES) {
      if (!m.families.has(f)) continue;
      m.send([...this.dump(f, m.peerId), encodeEndOfRib(f === "ipv4" ? 1 : 2)]);
    }
  }

  /** Before a member joins: the first one fills the table from the Loc-RIB, later ones flush. */
  private prepare(rib: LocRib): void {
    if (this.active) {
      this.flush();
      return;
    }
    for (const f of FAMILIES) {
      this.out[f].clear();
      this.pathCount[f] = 0;
      for (const d of rib.allDests(f)) this.store(f, d.key, this.select(f, d));
    }
  }

  /** A member whose export policy changed: only the difference from what `from` sent it. */
  adopt(m: GroupMember, from: ExportGroup, rib: LocRib): void {
    if (!(from instanceof AddPathGroup)) throw new Error("a member moves between groups of one kind only");
    from.flush();
    this.prepare(rib);
    for (const f of FAMILIES) {
      if (!m.families.has(f)) continue;
      const diffs: [PrefixKey, readonly SentPath[], readonly SentPath[]][] = [];
      for (const key of new Set([...from.out[f].keys(), ...this.out[f].keys()])) {
        const before = from.out[f].get(key) ?? NONE;
        const now = this.out[f].get(key) ?? NONE;
        if (!samePaths(before, now)) diffs.push([key, before, now]);
      }
      const msgs = this.encodeDiffs(f, diffs, m.peerId);
      if (msgs.length > 0) m.send(msgs);
    }
    this.members.add(m);
    from.leave(m);
  }

  resend(m: GroupMember, family: Family): Uint8Array[] {
    this.flush();
    return this.dump(family, m.peerId);
  }

  leave(m: GroupMember): void {
    this.members.delete(m);
    if (this.active) return;
    for (const f of FAMILIES) {
      this.out[f].clear();
      this.pending[f].clear();
      this.pathCount[f] = 0;
    }
  }

  /** Export runs on every change here (no cache), so a policy change needs nothing forgotten. */
  invalidate(): void {}

  trimCache(): void {}
}

function samePaths(a: readonly SentPath[], b: readonly SentPath[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.id !== y.id || x.source !== y.source || x.attrs.key !== y.attrs.key) return false;
  }
  return true;
}

function add(
  m: Map<PathAttrs, { keys: PrefixKey[]; ids: number[] }>,
  attrs: PathAttrs,
  key: PrefixKey,
  id: number,
): void {
  let e = m.get(attrs);
  if (e === undefined) {
    e = { keys: [], ids: [] };
    m.set(attrs, e);
  }
  e.keys.push(key);
  e.ids.push(id);
}
