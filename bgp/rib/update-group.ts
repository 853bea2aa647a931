/**
 * Update groups: peers that would be sent the same UPDATEs (same export target and policy, same
 * session encoding) share one Adj-RIB-Out and one encoding, written to every member (FRR's
 * update-groups; issue #5 "peers with the same export policy share their encoded updates"). A group's
 * Adj-RIB-Out lives in its slot of each prefix entry (Dest.getOut), not in a map of its own. Best-path
 * changes are queued per attribute set and flushed as packed UPDATEs: withdrawals first, then one run
 * of messages per distinct attribute set. A route is never sent back to the member it came from (as
 * BIRD and GoBGP do): that member gets its own encoding of the batch, everyone else shares one.
 * A member that comes up later gets the table in full, then End-of-RIB (RFC 4724).
 */
import type { AttrContext } from "../codec/attributes.js";
import { AttrType } from "../codec/constants.js";
import type { PrefixList } from "../codec/prefix-list.js";
import { encodeEndOfRib, packAnnouncements, packWithdrawals } from "../codec/update-pack.js";
import type { CompiledPolicy } from "../policy/policy.js";
import { type ExportTarget, exportPath } from "./export.js";
import type { Dest, LocRib, Path } from "./loc-rib.js";
import type { PathAttrs } from "./path-attrs.js";
import { type Family, keysToPrefixList, type PrefixKey } from "./prefix-key.js";

export interface GroupMember {
  /** The member's PeerRef id: routes whose best path it sent us are not sent back to it. */
  readonly peerId: number;
  /** Writes encoded messages to the member's session. */
  send(messages: readonly Uint8Array[]): void;
  /** Families negotiated with this member. */
  readonly families: ReadonlySet<Family>;
}

export interface GroupEncoding {
  readonly ctx: AttrContext & { readonly maxMessageLen: number };
  /** IPv4 routes with an IPv6 next hop go in MP_REACH (RFC 8950). */
  readonly extendedNextHop: boolean;
}

interface Pending {
  announce: Map<PathAttrs, Dest[]>;
  withdraw: Dest[];
}

/**
 * What the speaker asks of a group, whichever way it keeps its Adj-RIB-Out: this one (one path per
 * prefix, in the prefix entries' slots) or AddPathGroup (several paths per prefix, RFC 7911).
 */
export interface ExportGroup {
  readonly key: string;
  readonly members: Set<GroupMember>;
  readonly active: boolean;
  advertisedCount(family: Family): number;
  advertisedTo(m: GroupMember, family: Family, sourcedByMember: boolean): number;
  process(family: Family, d: Dest): void;
  flush(): void;
  join(m: GroupMember, rib: LocRib): void;
  adopt(m: GroupMember, from: ExportGroup, rib: LocRib): void;
  resend(m: GroupMember, family: Family): Uint8Array[];
  leave(m: GroupMember): void;
  invalidate(): void;
  trimCache(maxEntries?: number): void;
}

/** Packed UPDATEs announcing `list` with `attrs`: classic NLRI, or MP_REACH for IPv6 next hops. */
export function encodeAnnouncements(
  encoding: GroupEncoding,
  attrs: PathAttrs,
  list: PrefixList,
): Uint8Array[] {
  const maxMessageLen = encoding.ctx.maxMessageLen;
  const ipv4 = list.afi === 1;
  if (ipv4 && !attrs.nextHop.includes(":"))
    return packAnnouncements(attrs.attrs, list, encoding.ctx, { maxMessageLen });
  if (ipv4 && !encoding.extendedNextHop) return []; // an IPv6 next hop cannot be expressed here
  const nextHop = attrs.nextHopLinkLocal ? [attrs.nextHop, attrs.nextHopLinkLocal] : [attrs.nextHop];
  return packAnnouncements(
    attrs.attrs.filter((a) => a.code !== AttrType.NextHop),
    list,
    encoding.ctx,
    { maxMessageLen, nextHop, ipv4InMpReach: ipv4 },
  );
}

const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];
const emptyPending = (): Record<Family, Pending> => ({
  ipv4: { announce: new Map(), withdraw: [] },
  ipv6: { announce: new Map(), withdraw: [] },
});

export class UpdateGroup implements ExportGroup {
  readonly members = new Set<GroupMember>();
  private pending = emptyPending();
  private readonly advertisedN = { ipv4: 0, ipv6: 0 };
  /** Export results per (source attribute set, source peer) while the policy ignores prefixes. */
  private cache = new Map<PathAttrs, Map<number, PathAttrs | null>>();
  private lastIn: PathAttrs | undefined;
  private lastPeer = -1;
  private lastOut: PathAttrs | undefined;

  constructor(
    readonly key: string,
    /** This group's slot in each Dest's advertised state. */
    readonly slot: number,
    readonly target: ExportTarget,
    readonly policy: CompiledPolicy | undefined,
    readonly encoding: GroupEncoding,
    private readonly rib: LocRib,
  ) {}

  get active(): boolean {
    return this.members.size > 0;
  }

  advertisedCount(family: Family): number {
    return this.advertisedN[family];
  }

  private exportOf(p: Path, family: Family): PathAttrs | undefined {
    if (this.policy !== undefined && !this.policy.prefixIndependent)
      return exportPath(p, family, this.target, this.policy);
    // Consecutive prefixes mostly share their attributes and source: remember the last answer.
    if (p.attrs === this.lastIn && p.peer.id === this.lastPeer) return this.lastOut;
    let byPeer = this.cache.get(p.attrs);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.cache.set(p.attrs, byPeer);
    }
    let out = byPeer.get(p.peer.id);
    if (out === undefined) {
      out = exportPath(p, family, this.target, this.policy) ?? null;
      byPeer.set(p.peer.id, out);
    }
    this.lastIn = p.attrs;
    this.lastPeer = p.peer.id;
    this.lastOut = out ?? undefined;
    return this.lastOut;
  }

  private getOut(d: Dest): PathAttrs | undefined {
    return d.getOut(this.slot);
  }

  private setOut(d: Dest, v: PathAttrs | undefined): void {
    d.setOut(this.slot, v);
  }

  /** Re-evaluates one prefix after its best path changed; queues what must be sent. */
  process(family: Family, d: Dest): void {
    if (!this.active) return;
    const best = d.best;
    const out = best === undefined ? undefined : this.exportOf(best, family);
    const before = this.getOut(d);
    if (out === undefined) {
      if (before === undefined) return;
      this.setOut(d, undefined);
      this.advertisedN[family]--;
      this.pending[family].withdraw.push(d);
      return;
    }
    if (before !== undefined && before.key === out.key) return;
    if (before === undefined) this.advertisedN[family]++;
    this.setOut(d, out);
    const q = this.pending[family].announce;
    const list = q.get(out);
    if (list === undefined) q.set(out, [d]);
    else list.push(d);
  }

  /** Encodes what is queued and writes it to every member. */
  flush(): void {
    for (const f of FAMILIES) {
      const p = this.pending[f];
      if (p.withdraw.length === 0 && p.announce.size === 0) continue;
      this.pending[f] = { announce: new Map(), withdraw: [] };
      // What is really to be sent: withdrawn prefixes not announced again since, and announcements
      // still current.
      const gone = p.withdraw.filter((d) => this.getOut(d) === undefined);
      const live: [PathAttrs, Dest[]][] = [];
      for (const [attrs, dests] of p.announce) {
        const cur = dests.filter((d) => this.getOut(d) === attrs);
        if (cur.length > 0) live.push([attrs, cur]);
      }
      const sources = new Set<number>();
      for (const [, dests] of live) for (const d of dests) if (d.best) sources.add(d.best.peer.id);
      let shared: Uint8Array[] | undefined;
      for (const m of this.members) {
        if (!m.families.has(f)) continue;
        let msgs: Uint8Array[];
        if (sources.has(m.peerId)) {
          msgs = this.encodeBatch(f, gone, live, m.peerId);
        } else {
          shared ??= this.encodeBatch(f, gone, live, undefined);
          msgs = shared;
        }
        if (msgs.length > 0) m.send(msgs);
      }
      for (const d of gone) this.rib.prune(f, d);
    }
  }

  /** Withdrawals, then announcements; for `exclude`, its own routes become withdrawals instead. */
  private encodeBatch(
    f: Family,
    gone: readonly Dest[],
    live: readonly [PathAttrs, Dest[]][],
    exclude: number | undefined,
  ): Uint8Array[] {
    const withdraw: PrefixKey[] = gone.map((d) => d.key);
    const announce: [PathAttrs, PrefixKey[]][] = [];
    for (const [attrs, dests] of live) {
      const keys: PrefixKey[] = [];
      for (const d of dests) {
        if (exclude !== undefined && d.best?.peer.id === exclude) withdraw.push(d.key);
        else keys.push(d.key);
      }
      if (keys.length > 0) announce.push([attrs, keys]);
    }
    const msgs: Uint8Array[] = [];
    if (withdraw.length > 0) {
      msgs.push(
        ...packWithdrawals(keysToPrefixList(f, withdraw), this.encoding.ctx, {
          maxMessageLen: this.encoding.ctx.maxMessageLen,
        }),
      );
    }
    for (const [attrs, keys] of announce) msgs.push(...this.announce(f, attrs, keys));
    return msgs;
  }

  /** How many prefixes this member has from us (the group's table less its own routes). */
  advertisedTo(m: GroupMember, family: Family, sourcedByMember: boolean): number {
    if (!sourcedByMember) return this.advertisedN[family];
    let n = 0;
    for (const d of this.rib.allDests(family))
      if (this.getOut(d) !== undefined && d.best?.peer.id !== m.peerId) n++;
    return n;
  }

  private announce(f: Family, attrs: PathAttrs, keys: PrefixKey[]): Uint8Array[] {
    return encodeAnnouncements(this.encoding, attrs, keysToPrefixList(f, keys));
  }

  /** The group's whole table for one family, packed (without `exclude`'s own routes). */
  private dump(family: Family, exclude: number): Uint8Array[] {
    const byAttrs = new Map<PathAttrs, PrefixKey[]>();
    for (const d of this.rib.allDests(family)) {
      const a = this.getOut(d);
      if (a === undefined || d.best?.peer.id === exclude) continue;
      const l = byAttrs.get(a);
      if (l === undefined) byAttrs.set(a, [d.key]);
      else l.push(d.key);
    }
    const msgs: Uint8Array[] = [];
    for (const [a, keys] of byAttrs) msgs.push(...this.announce(family, a, keys));
    return msgs;
  }

  /**
   * Adds a member whose session just came up. The first member fills the group's table from the
   * Loc-RIB; later ones get the table as it stands. Either way: full table, then End-of-RIB.
   */
  join(m: GroupMember, rib: LocRib): void {
    this.prepare(rib);
    this.members.add(m);
    for (const f of FAMILIES) {
      if (!m.families.has(f)) continue;
      m.send([...this.dump(f, m.peerId), encodeEndOfRib(f === "ipv4" ? 1 : 2)]);
    }
  }

  /** Before a member joins: the first one fills the group's table from the Loc-RIB, later ones flush. */
  private prepare(rib: LocRib): void {
    if (this.active) {
      this.flush();
      return;
    }
    this.cache.clear();
    this.lastIn = undefined;
    for (const f of FAMILIES) {
      this.advertisedN[f] = 0;
      for (const d of rib.allDests(f)) {
        const out = d.best === undefined ? undefined : this.exportOf(d.best, f);
        this.setOut(d, out);
        if (out !== undefined) this.advertisedN[f]++;
      }
    }
  }

  /**
   * Moves an Established member here from `from` (its export policy or target changed) without a
   * session reset: the member is sent only the difference between what `from` had advertised to it and
   * what this group advertises (announcements for new or changed routes, withdrawals for the rest), as
   * BIRD re-exports on `configure` when only a filter changed. Then `from` lets the member go.
   */
  adopt(m: GroupMember, from: ExportGroup, rib: LocRib): void {
    // ADD-PATH send is negotiated, so it changes only with a new session (join), never by regrouping.
    if (!(from instanceof UpdateGroup)) throw new Error("a member moves between groups of one kind only");
    from.flush();
    this.prepare(rib);
    for (const f of FAMILIES) {
      if (!m.families.has(f)) continue;
      const withdraw: PrefixKey[] = [];
      const byAttrs = new Map<PathAttrs, PrefixKey[]>();
      for (const d of rib.allDests(f)) {
        if (d.best?.peer.id === m.peerId) continue;
        const had = from.getOut(d);
        const now = this.getOut(d);
        if (now === undefined) {
          if (had !== undefined) withdraw.push(d.key);
        } else if (had === undefined || had.key !== now.key) {
          const l = byAttrs.get(now);
          if (l === undefined) byAttrs.set(now, [d.key]);
          else l.push(d.key);
        }
      }
      const msgs: Uint8Array[] = [];
      if (withdraw.length > 0) {
        msgs.push(
          ...packWithdrawals(keysToPrefixList(f, withdraw), this.encoding.ctx, {
            maxMessageLen: this.encoding.ctx.maxMessageLen,
          }),
        );
      }
      for (const [a, keys] of byAttrs) msgs.push(...this.announce(f, a, keys));
      if (msgs.length > 0) m.send(msgs);
    }
    this.members.add(m);
    from.leave(m);
  }

  /** The whole table again, for a ROUTE-REFRESH from one member. */
  resend(m: GroupMember, family: Family): Uint8Array[] {
    this.flush();
    return this.dump(family, m.peerId);
  }

  /** Removes a member; the last one out clears the group's slot in every prefix entry. */
  leave(m: GroupMember): void {
    this.members.delete(m);
    if (this.active) return;
    this.pending = emptyPending();
    this.cache.clear();
    this.lastIn = undefined;
    for (const f of FAMILIES) {
      for (const d of [...this.rib.allDests(f)]) {
        if (this.getOut(d) === undefined) continue;
        this.setOut(d, undefined);
        this.rib.prune(f, d);
      }
      this.advertisedN[f] = 0;
    }
  }

  /** Forgets cached export results (after a policy change). */
  invalidate(): void {
    this.cache.clear();
    this.lastIn = undefined;
  }

  /** Bounds the export cache (attribute sets come and go). */
  trimCache(maxEntries = 100_000): void {
    if (this.cache.size > maxEntries) this.invalidate();
  }
}
