/**
 * Update groups: peers that would be sent the same UPDATEs (same export target and policy, same
 * session encoding) share one Adj-RIB-Out and one encoding, written to every member (FRR's
 * update-groups; issue #5 "peers with the same export policy share their encoded updates"). Best-path
 * changes are queued per attribute set, then flushed as packed UPDATEs: withdrawals first, then one
 * run of messages per distinct attribute set. A member that comes up later gets the group's table in
 * full, then End-of-RIB (RFC 4724).
 */
import type { AttrContext } from "../codec/attributes.js";
import { AttrType } from "../codec/constants.js";
import { encodeEndOfRib, packAnnouncements, packWithdrawals } from "../codec/update-pack.js";
import type { CompiledPolicy } from "../policy/policy.js";
import { type ExportTarget, exportPath } from "./export.js";
import type { LocRib, Path } from "./loc-rib.js";
import type { PathAttrs } from "./path-attrs.js";
import { type Family, keysToPrefixList, type PrefixKey } from "./prefix-key.js";

export interface GroupMember {
  /** Writes encoded messages to the member's session. */
  send(messages: readonly Uint8Array[]): void;
  /** Families negotiated with this member. */
  readonly families: ReadonlySet<Family>;
  /** Counts what was advertised, for status. */
  advertised: Record<Family, number>;
}

export interface GroupEncoding {
  readonly ctx: AttrContext & { readonly maxMessageLen: number };
  /** IPv4 routes with an IPv6 next hop go in MP_REACH (RFC 8950). */
  readonly extendedNextHop: boolean;
}

interface Pending {
  announce: Map<PathAttrs, PrefixKey[]>;
  withdraw: PrefixKey[];
}

const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];

export class UpdateGroup {
  readonly members = new Set<GroupMember>();
  private readonly adjOut = { ipv4: new Map<PrefixKey, PathAttrs>(), ipv6: new Map<PrefixKey, PathAttrs>() };
  private pending: Record<Family, Pending> = {
    ipv4: { announce: new Map(), withdraw: [] },
    ipv6: { announce: new Map(), withdraw: [] },
  };
  /** Export results per (source attribute set, source peer) while the policy ignores prefixes. */
  private cache = new Map<PathAttrs, Map<number, PathAttrs | null>>();

  constructor(
    readonly key: string,
    readonly target: ExportTarget,
    readonly policy: CompiledPolicy | undefined,
    readonly encoding: GroupEncoding,
  ) {}

  get active(): boolean {
    return this.members.size > 0;
  }

  advertisedCount(family: Family): number {
    return this.adjOut[family].size;
  }

  private exportOf(p: Path, family: Family): PathAttrs | undefined {
    if (this.policy !== undefined && !this.policy.prefixIndependent)
      return exportPath(p, family, this.target, this.policy);
    let byPeer = this.cache.get(p.attrs);
    if (byPeer === undefined) {
      byPeer = new Map();
      this.cache.set(p.attrs, byPeer);
    }
    const hit = byPeer.get(p.peer.id);
    if (hit !== undefined) return hit ?? undefined;
    const out = exportPath(p, family, this.target, this.policy);
    byPeer.set(p.peer.id, out ?? null);
    return out;
  }

  /** Re-evaluates one prefix after its best path changed; queues what must be sent. */
  process(family: Family, key: PrefixKey, best: Path | undefined): void {
    if (!this.active) return;
    const out = best === undefined ? undefined : this.exportOf(best, family);
    const adj = this.adjOut[family];
    const before = adj.get(key);
    if (out === undefined) {
      if (before === undefined) return;
      adj.delete(key);
      this.pending[family].withdraw.push(key);
      return;
    }
    if (before !== undefined && before.key === out.key) return;
    adj.set(key, out);
    const q = this.pending[family].announce;
    const list = q.get(out);
    if (list === undefined) q.set(out, [key]);
    else list.push(key);
  }

  /** Encodes what is queued and writes it to every member. */
  flush(): void {
    for (const f of FAMILIES) {
      const p = this.pending[f];
      if (p.withdraw.length === 0 && p.announce.size === 0) continue;
      this.pending[f] = { announce: new Map(), withdraw: [] };
      const msgs: Uint8Array[] = [];
      if (p.withdraw.length > 0) {
        // A prefix announced again in the same batch is not also withdrawn.
        const adj = this.adjOut[f];
        const keys = p.withdraw.filter((k) => !adj.has(k));
        if (keys.length > 0)
          msgs.push(...packWithdrawals(keysToPrefixList(f, keys), this.encoding.ctx, this.packOptions(f)));
      }
      for (const [attrs, keys] of p.announce) {
        const live = keys.filter((k) => this.adjOut[f].get(k) === attrs);
        if (live.length > 0) msgs.push(...this.announce(f, attrs, live));
      }
      if (msgs.length === 0) continue;
      for (const m of this.members) {
        if (m.families.has(f)) {
          m.send(msgs);
          m.advertised[f] = this.adjOut[f].size;
        }
      }
    }
  }

  private packOptions(f: Family) {
    return {
      maxMessageLen: this.encoding.ctx.maxMessageLen,
      ipv4InMpReach: false,
      ...(f === "ipv6" ? {} : {}),
    };
  }

  private announce(f: Family, attrs: PathAttrs, keys: PrefixKey[]): Uint8Array[] {
    const list = keysToPrefixList(f, keys);
    const v6NextHop = attrs.nextHop.includes(":");
    if (f === "ipv4" && !v6NextHop) {
      return packAnnouncements(attrs.attrs, list, this.encoding.ctx, {
        maxMessageLen: this.encoding.ctx.maxMessageLen,
      });
    }
    if (f === "ipv4" && !this.encoding.extendedNextHop) return []; // cannot be expressed on this session
    const nextHop = attrs.nextHopLinkLocal ? [attrs.nextHop, attrs.nextHopLinkLocal] : [attrs.nextHop];
    return packAnnouncements(
      attrs.attrs.filter((a) => a.code !== AttrType.NextHop),
      list,
      this.encoding.ctx,
      { maxMessageLen: this.encoding.ctx.maxMessageLen, nextHop, ipv4InMpReach: f === "ipv4" },
    );
  }

  /**
   * Adds a member whose session just came up. The first member fills the group's table from the
   * Loc-RIB; later ones get the table as it stands. Either way: full table, then End-of-RIB.
   */
  join(m: GroupMember, rib: LocRib): void {
    if (!this.active) {
      this.cache.clear();
      for (const f of FAMILIES) {
        this.adjOut[f].clear();
        for (const best of rib.bests(f)) {
          const out = this.exportOf(best, f);
          if (out !== undefined) this.adjOut[f].set(best.key, out);
        }
      }
    } else {
      this.flush();
    }
    this.members.add(m);
    for (const f of FAMILIES) {
      if (!m.families.has(f)) continue;
      const byAttrs = new Map<PathAttrs, PrefixKey[]>();
      for (const [k, a] of this.adjOut[f]) {
        const l = byAttrs.get(a);
        if (l === undefined) byAttrs.set(a, [k]);
        else l.push(k);
      }
      const msgs: Uint8Array[] = [];
      for (const [a, keys] of byAttrs) msgs.push(...this.announce(f, a, keys));
      msgs.push(encodeEndOfRib(f === "ipv4" ? 1 : 2));
      m.send(msgs);
      m.advertised[f] = this.adjOut[f].size;
    }
  }

  /** Re-sends the whole table to one member (ROUTE-REFRESH from the peer). */
  resend(m: GroupMember, family: Family): Uint8Array[] {
    this.flush();
    const byAttrs = new Map<PathAttrs, PrefixKey[]>();
    for (const [k, a] of this.adjOut[family]) {
      const l = byAttrs.get(a);
      if (l === undefined) byAttrs.set(a, [k]);
      else l.push(k);
    }
    const msgs: Uint8Array[] = [];
    for (const [a, keys] of byAttrs) msgs.push(...this.announce(family, a, keys));
    void m;
    return msgs;
  }

  leave(m: GroupMember): void {
    this.members.delete(m);
    if (!this.active) {
      this.adjOut.ipv4.clear();
      this.adjOut.ipv6.clear();
      this.pending = {
        ipv4: { announce: new Map(), withdraw: [] },
        ipv6: { announce: new Map(), withdraw: [] },
      };
      this.cache.clear();
    }
  }

  /** Forgets cached export results (after a policy or attribute-table change). */
  invalidate(): void {
    this.cache.clear();
  }

  /** Drops cached export results for attribute sets no path uses any more (bounded memory). */
  trimCache(maxEntries = 100_000): void {
    if (this.cache.size > maxEntries) this.cache.clear();
  }
}
