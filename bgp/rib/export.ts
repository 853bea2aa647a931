/**
 * What a best path becomes when sent to a peer (RFC 4271 §5.1, §9.2; RFC 4456 §6-8; RFC 1997; RFC 6793
 * §4.2.2): whether it may be sent at all (iBGP split horizon and route reflection, NO_ADVERTISE,
 * NO_EXPORT, NO_EXPORT_SUBCONFED, LLGR_STALE to peers without LLGR) and the rewritten attributes: AS prepend and no LOCAL_PREF,
 * ORIGINATOR_ID or CLUSTER_LIST towards eBGP; LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST when
 * reflecting; next hop self or kept; MED not passed from one AS to another; AS4_PATH for 2-octet peers;
 * Partial set on unknown transitive attributes; Only to Customer per BGP role (RFC 9234 §6). Export
 * policy runs last. Pure.
 */
import { SegmentType } from "../codec/as-path.js";
import type { PathAttribute } from "../codec/attributes.js";
import { AS_TRANS } from "../codec/constants.js";
import { forwardableAttributes } from "../codec/transit.js";
import type { CompiledPolicy } from "../policy/policy.js";
import { LLGR_STALE } from "./best-path.js";
import type { Path } from "./loc-rib.js";
import { buildPathAttrs, type PathAttrs } from "./path-attrs.js";
import { type Family, keyFromString, keyWithin } from "./prefix-key.js";
import { otcEgress, type Role } from "./roles.js";

const NO_EXPORT = 0xffffff01;
const NO_ADVERTISE = 0xffffff02;
const NO_EXPORT_SUBCONFED = 0xffffff03;

export interface ExportTarget {
  readonly type: "ebgp" | "ibgp";
  readonly localAs: number;
  readonly routerId: string;
  /** Our cluster id when we reflect routes (RFC 4456 §7); defaults to the router id. */
  readonly clusterId: string;
  /** The target is one of our route-reflector clients. */
  readonly rrClient: boolean;
  /** self: always our address; keep: the path's next hop; auto: self for eBGP and local routes, keep for iBGP. */
  readonly nextHopMode: "self" | "keep" | "auto";
  /** Our address on the session, per family, used for next-hop self. */
  readonly localAddress: Partial<Record<Family, string>>;
  readonly fourOctetAs: boolean;
  /**
   * The subnet ("198.18.0.0/24") of our address on the session's interface, per family, when the peer
   * is on it too. An eBGP path whose next hop lies in it keeps that next hop (RFC 4271 §5.1.3,
   * third-party next hop), as BIRD does for Calico: a ToR learns each block via its own node.
   */
  readonly sharedSubnet?: Partial<Record<Family, string>>;
  /** Our BGP role on the session (eBGP with roles negotiated): the Only to Customer egress rules apply. */
  readonly role?: Role;
  /** The peer announced long-lived graceful restart: it may be sent LLGR_STALE paths (RFC 9494 §4.5). */
  readonly llgr?: boolean;
}

/** May `p` be advertised to `t` at all? (Before policy.) */
export function mayAdvertise(p: Path, t: ExportTarget): boolean {
  const c = p.attrs.communities;
  if (c.length > 0) {
    if (c.includes(NO_ADVERTISE)) return false;
    if (t.type === "ebgp" && (c.includes(NO_EXPORT) || c.includes(NO_EXPORT_SUBCONFED))) return false;
    // RFC 9494 §4.5: a peer that does not know LLGR would take a stale path for a good one.
    if (t.llgr !== true && c.includes(LLGR_STALE)) return false;
  }
  if (p.source === "ibgp" && t.type === "ibgp") {
    // RFC 4456 §6: client routes go to everyone, non-client routes to clients only; without route
    // reflection (no clients) iBGP routes are not passed to iBGP peers at all (RFC 4271 §9.2).
    return p.peer.rrClient || t.rrClient;
  }
  return true;
}

function without(attrs: readonly PathAttribute[], kinds: readonly PathAttribute["kind"][]): PathAttribute[] {
  return attrs.filter((a) => !kinds.includes(a.kind));
}

function setAttr(attrs: PathAttribute[], a: PathAttribute): void {
  const i = attrs.findIndex((x) => x.code === a.code);
  if (i >= 0) attrs[i] = a;
  else attrs.push(a);
}

function onSharedSubnet(nextHop: string, family: Family, t: ExportTarget): boolean {
  const subnet = t.sharedSubnet?.[family];
  if (subnet === undefined || nextHop === "" || nextHop === t.localAddress[family]) return false;
  try {
    return keyWithin(keyFromString(`${nextHop}/${family === "ipv4" ? 32 : 128}`), keyFromString(subnet));
  } catch {
    return false;
  }
}

/** The attributes to send, or undefined when `p` is not advertised to `t`. */
export function exportPath(
  p: Path,
  family: Family,
  t: ExportTarget,
  policy: CompiledPolicy | undefined,
): PathAttrs | undefined {
  if (!mayAdvertise(p, t)) return undefined;
  const src = p.attrs;
  let attrs = forwardableAttributes(src.attrs);
  // AS4_* are regenerated for 2-octet targets below and never sent to 4-octet ones (RFC 6793 §4.2.2).
  attrs = without(attrs, ["as4-path", "as4-aggregator"]);
  const selfNextHop = t.localAddress[family];
  let nextHop = src.nextHop;
  let nextHopLinkLocal = src.nextHopLinkLocal;
  const wantSelf =
    p.source === "local" || t.nextHopMode === "self" || (t.nextHopMode === "auto" && t.type === "ebgp");
  const thirdParty =
    p.source !== "local" &&
    t.nextHopMode === "auto" &&
    t.type === "ebgp" &&
    onSharedSubnet(nextHop, family, t);
  if (wantSelf && !thirdParty && selfNextHop !== undefined) {
    nextHop = selfNextHop;
    nextHopLinkLocal = undefined;
  }
  // No next hop for this family on this session (e.g. IPv6 routes over an IPv4 session without an IPv6
  // address to announce): the route cannot be advertised here.
  if (nextHop === "") return undefined;
  if (t.type === "ebgp") {
    attrs = without(attrs, ["local-pref", "originator-id", "cluster-list"]);
    // RFC 4271 §5.1.4: a MED learned from one AS is not passed to another.
    if (p.source !== "local") attrs = without(attrs, ["med"]);
    const asPath = src.asPath;
    const first = asPath[0];
    const segments =
      first && first.type === SegmentType.AsSequence && first.asns.length < 255
        ? [{ type: SegmentType.AsSequence, asns: [t.localAs, ...first.asns] }, ...asPath.slice(1)]
        : [{ type: SegmentType.AsSequence, asns: [t.localAs] }, ...asPath];
    setAttr(attrs, { kind: "as-path", code: 2, flags: 0x40, segments });
  } else {
    if (src.localPref === undefined)
      setAttr(attrs, { kind: "local-pref", code: 5, flags: 0x40, localPref: 100 });
    if (!attrs.some((a) => a.kind === "as-path"))
      setAttr(attrs, { kind: "as-path", code: 2, flags: 0x40, segments: [] });
    if (p.source === "ibgp") {
      // RFC 4456 §8: reflecting sets ORIGINATOR_ID once and prepends our cluster id.
      if (src.originatorId === undefined)
        setAttr(attrs, { kind: "originator-id", code: 9, flags: 0x80, originatorId: p.peer.routerId });
      setAttr(attrs, {
        kind: "cluster-list",
        code: 10,
        flags: 0x80,
        clusterList: [t.clusterId, ...src.clusterList],
      });
    }
  }
  if (!attrs.some((a) => a.kind === "origin"))
    setAttr(attrs, { kind: "origin", code: 1, flags: 0x40, origin: 0 });
  if (family === "ipv4" && !nextHop.includes(":"))
    setAttr(attrs, { kind: "next-hop", code: 3, flags: 0x40, nextHop });
  else attrs = without(attrs, ["next-hop"]);
  if (t.role !== undefined && t.type === "ebgp") {
    const sent = otcEgress(attrs, t.role, t.localAs);
    if (sent === undefined) return undefined;
    attrs = [...sent];
  }
  if (!t.fourOctetAs) attrs = addAs4Attributes(attrs);
  const out = buildPathAttrs(attrs, nextHop, nextHopLinkLocal);
  if (policy === undefined) return out;
  return policy.evaluate({ key: p.key, family, attrs: out, source: p.source });
}

/** RFC 6793 §4.2.2: towards a 2-octet peer, ASes above 65535 travel as AS_TRANS plus AS4_PATH/AS4_AGGREGATOR. */
function addAs4Attributes(attrs: PathAttribute[]): PathAttribute[] {
  const out = [...attrs];
  const asPath = attrs.find((a) => a.kind === "as-path");
  if (asPath?.kind === "as-path" && asPath.segments.some((s) => s.asns.some((a) => a > 0xffff))) {
    // Confederation segments are not carried in AS4_PATH (RFC 6793 §3).
    const segs = asPath.segments.filter(
      (s) => s.type === SegmentType.AsSequence || s.type === SegmentType.AsSet,
    );
    out.push({ kind: "as4-path", code: 17, flags: 0xc0, segments: segs });
  }
  const agg = attrs.find((a) => a.kind === "aggregator");
  if (agg?.kind === "aggregator" && agg.as > 0xffff) {
    out.push({ kind: "as4-aggregator", code: 18, flags: 0xc0, as: agg.as, address: agg.address });
    out[out.indexOf(agg)] = { ...agg, as: AS_TRANS };
  }
  return out;
}
