/**
 * What two BGP speakers agree on when they exchange OPENs (RFC 4271 §4.2/§6.2, RFC 5492 and the
 * capability RFCs): the OPEN we send, the checks on the OPEN we receive (version, peer AS with 4-octet
 * AS per RFC 6793, BGP identifier per RFC 6286, hold time) and the result: hold/keepalive times,
 * address families (no MP capability from the peer means IPv4 unicast only, RFC 4760 §8), ADD-PATH
 * per direction (RFC 7911), graceful restart (RFC 4724), route refresh (RFC 2918/7313), extended
 * messages (RFC 8654) and extended next hop (RFC 8950). Pure.
 */
import type { AttrContext } from "../codec/attributes.js";
import type { Capability } from "../codec/capabilities.js";
import { AS_TRANS, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, OpenSub } from "../codec/constants.js";
import { BgpDecodeError } from "../codec/errors.js";
import { asNumberOf, capabilitiesOf, checkOpen, type OpenMessage } from "../codec/open.js";
import { ROLE_CODES, type Role, roleMismatch, roleOfCode } from "../rib/roles.js";

export type Family = "ipv4" | "ipv6";
export const FAMILIES: readonly Family[] = ["ipv4", "ipv6"];
export const afiOf = (f: Family) => (f === "ipv4" ? 1 : 2);
export const familyOfAfi = (afi: number): Family | undefined =>
  afi === 1 ? "ipv4" : afi === 2 ? "ipv6" : undefined;

export interface LocalOpenConfig {
  readonly localAs: number;
  readonly routerId: string;
  /** 0 or 3..65535 (RFC 4271 §4.2). */
  readonly holdTimeSec: number;
  readonly families: readonly Family[];
  /** ADD-PATH per family: receive, send or both. */
  readonly addPath?: Partial<Record<Family, "receive" | "send" | "both">>;
  /** Announce graceful restart (RFC 4724) with this restart time. */
  readonly gracefulRestart?: {
    readonly restartTimeSec: number;
    readonly restarting: boolean;
    readonly forwardingPreserved: boolean;
  };
  /**
   * Announce long-lived graceful restart (RFC 9494) with this stale time for every family; sent only
   * with graceful restart, which RFC 9494 §3 requires beside it.
   */
  readonly longLivedGracefulRestart?: {
    readonly staleTimeSec: number;
    readonly forwardingPreserved: boolean;
  };
  readonly extendedMessage?: boolean;
  /** Offer IPv4 NLRI with IPv6 next hops (RFC 8950). */
  readonly extendedNextHop?: boolean;
  /** FQDN capability, as FRR sends it. */
  readonly hostname?: string;
  /** Our BGP role on this (eBGP) session (RFC 9234 capability). */
  readonly role?: Role;
}

const ADD_PATH_CODE = { receive: 1, send: 2, both: 3 } as const;

/** The OPEN we send: every capability in one optional parameter, as BIRD does. */
export function buildOpen(c: LocalOpenConfig): OpenMessage {
  const caps: Capability[] = [];
  for (const f of c.families) caps.push({ name: "multiprotocol", code: 1, afi: afiOf(f), safi: 1 });
  caps.push({ name: "route-refresh", code: 2 }, { name: "enhanced-route-refresh", code: 70 });
  if (c.extendedNextHop && c.families.includes("ipv4")) {
    caps.push({ name: "extended-next-hop", code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] });
  }
  if (c.extendedMessage) caps.push({ name: "extended-message", code: 6 });
  if (c.gracefulRestart && c.longLivedGracefulRestart) {
    const l = c.longLivedGracefulRestart;
    caps.push({
      name: "long-lived-graceful-restart",
      code: 71,
      families: c.families.map((f) => ({
        afi: afiOf(f),
        safi: 1,
        flags: l.forwardingPreserved ? 0x80 : 0,
        staleTimeSec: Math.min(l.staleTimeSec, 0xffffff),
      })),
    });
  }
  if (c.gracefulRestart) {
    const g = c.gracefulRestart;
    caps.push({
      name: "graceful-restart",
      code: 64,
      restartFlags: (g.restarting ? 8 : 0) | 4, // N bit: we understand RFC 8538 notifications
      restartTimeSec: Math.min(g.restartTimeSec, 4095),
      families: c.families.map((f) => ({ afi: afiOf(f), safi: 1, flags: g.forwardingPreserved ? 0x80 : 0 })),
    });
  }
  caps.push({ name: "four-octet-as", code: 65, as: c.localAs });
  const ap = c.families.filter((f) => c.addPath?.[f] !== undefined);
  if (ap.length > 0) {
    caps.push({
      name: "add-path",
      code: 69,
      families: ap.map((f) => ({ afi: afiOf(f), safi: 1, sendReceive: ADD_PATH_CODE[c.addPath![f]!] })),
    });
  }
  if (c.hostname) caps.push({ name: "fqdn", code: 73, hostname: c.hostname.slice(0, 64), domain: "" });
  if (c.role !== undefined) caps.push({ name: "role", code: 9, role: ROLE_CODES[c.role] });
  return {
    type: "OPEN",
    version: 4,
    myAs: c.localAs > 0xffff ? AS_TRANS : c.localAs,
    holdTime: c.holdTimeSec,
    bgpId: c.routerId,
    params: [{ type: 2, capabilities: caps }],
  };
}

export interface PeerGracefulRestart {
  readonly restartTimeSec: number;
  /** R bit: the peer has just restarted. */
  readonly restarting: boolean;
  /** Families for which the peer kept forwarding state (F bit). */
  readonly forwardingPreserved: ReadonlySet<Family>;
  readonly families: ReadonlySet<Family>;
}

export interface Negotiated {
  readonly peerAs: number;
  readonly peerRouterId: string;
  readonly holdTimeSec: number;
  /** 0 when the hold time is 0 (no keepalives). */
  readonly keepaliveSec: number;
  readonly families: ReadonlySet<Family>;
  readonly fourOctetAs: boolean;
  /** We send path ids for these families. */
  readonly addPathTx: ReadonlySet<Family>;
  /** The peer sends path ids for these families. */
  readonly addPathRx: ReadonlySet<Family>;
  readonly routeRefresh: boolean;
  readonly enhancedRouteRefresh: boolean;
  readonly extendedMessage: boolean;
  /** IPv4 NLRI may carry IPv6 next hops (both sides advertised RFC 8950 for IPv4 unicast). */
  readonly extendedNextHop: boolean;
  /** The peer's graceful restart capability, if it sent one. */
  readonly gracefulRestart: PeerGracefulRestart | undefined;
  /** We announced graceful restart, so the peer may act as our helper. */
  readonly localGracefulRestart: boolean;
  /** The peer's long-lived stale time per family (RFC 9494), when it announced LLGR. */
  readonly longLivedGracefulRestart: ReadonlyMap<Family, number> | undefined;
  /** We announced LLGR too: we keep the peer's routes as LLGR_STALE after its restart time. */
  readonly localLongLivedGracefulRestart: boolean;
  readonly peerHostname?: string;
  /** Our role and the peer's when roles were configured (RFC 9234); route-leak rules apply then. */
  readonly role?: { readonly local: Role; readonly remote?: Role };
  /** Codec contexts for what we receive and what we send. */
  readonly rx: AttrContext & { readonly maxMessageLen: number };
  readonly tx: AttrContext & { readonly maxMessageLen: number };
}

export interface PeerExpectations {
  /** The AS configured for the peer; undefined accepts any (dynamic peers). */
  readonly peerAs?: number;
  readonly localAs: number;
  readonly routerId: string;
  /** Our keepalive interval; default hold/3. */
  readonly keepaliveSec?: number;
  /** Our BGP role; `strict` refuses a peer that announces none (BIRD `require roles`, FRR strict-mode). */
  readonly role?: { readonly local: Role; readonly strict: boolean };
}

function familiesOf(caps: readonly Capability[]): Set<Family> {
  const mp = caps.filter((c) => c.name === "multiprotocol");
  // RFC 4760 §8: a peer without the capability speaks IPv4 unicast only.
  if (mp.length === 0) return new Set(["ipv4"]);
  const out = new Set<Family>();
  for (const c of mp) {
    if (c.name === "multiprotocol" && c.safi === 1) {
      const f = familyOfAfi(c.afi);
      if (f) out.add(f);
    }
  }
  return out;
}

/**
 * Checks the peer's OPEN against what we expect and works out the session parameters. Throws the
 * BgpDecodeError whose NOTIFICATION must be sent (OPEN Message Error with the right subcode).
 */
export function negotiate(local: OpenMessage, remote: OpenMessage, exp: PeerExpectations): Negotiated {
  checkOpen(remote);
  const remoteCaps = capabilitiesOf(remote);
  const localCaps = capabilitiesOf(local);
  const peerAs = asNumberOf(remote);
  if (exp.peerAs !== undefined && peerAs !== exp.peerAs) {
    // RFC 4271 §6.2: Bad Peer AS; data is the 2-octet field as received (RFC 6793 keeps that).
    throw new BgpDecodeError(
      2,
      OpenSub.BadPeerAs,
      20,
      "session-reset",
      Uint8Array.of(remote.myAs >> 8, remote.myAs & 0xff),
      `peer AS ${peerAs}, expected ${exp.peerAs}`,
    );
  }
  // RFC 6286 §2.2: for iBGP the identifiers must differ; for eBGP only 0.0.0.0 is refused (checkOpen).
  if (peerAs === exp.localAs && remote.bgpId === exp.routerId) {
    throw new BgpDecodeError(
      2,
      OpenSub.BadBgpIdentifier,
      24,
      "session-reset",
      undefined,
      `peer uses our own BGP identifier ${remote.bgpId}`,
    );
  }
  const has = (caps: readonly Capability[], name: string) => caps.some((c) => c.name === name);
  // RFC 9234 §4.2: roles are checked on eBGP sessions only.
  const roleCheck = exp.role !== undefined && peerAs !== exp.localAs ? exp.role : undefined;
  const remoteRoles = remoteCaps.flatMap((c) => (c.name === "role" ? [c.role] : []));
  if (roleCheck !== undefined) {
    const why = roleMismatch(roleCheck.local, remoteRoles, roleCheck.strict);
    if (why !== undefined)
      throw new BgpDecodeError(2, OpenSub.RoleMismatch, 29, "session-reset", undefined, why);
  }
  const holdTimeSec = Math.min(local.holdTime, remote.holdTime);
  const keepaliveSec =
    holdTimeSec === 0
      ? 0
      : Math.max(1, Math.min(exp.keepaliveSec ?? Math.floor(holdTimeSec / 3), Math.floor(holdTimeSec / 3)));
  const localFamilies = familiesOf(localCaps);
  const families = new Set([...familiesOf(remoteCaps)].filter((f) => localFamilies.has(f)));
  const fourOctetAs = has(localCaps, "four-octet-as") && has(remoteCaps, "four-octet-as");
  const addPathModes = (caps: readonly Capability[]) => {
    const m = new Map<Family, number>();
    for (const c of caps)
      if (c.name === "add-path")
        for (const f of c.families)
          if (f.safi === 1 && familyOfAfi(f.afi)) m.set(familyOfAfi(f.afi)!, f.sendReceive);
    return m;
  };
  const lm = addPathModes(localCaps);
  const rm = addPathModes(remoteCaps);
  const addPathTx = new Set(
    [...families].filter((f) => ((lm.get(f) ?? 0) & 2) !== 0 && ((rm.get(f) ?? 0) & 1) !== 0),
  );
  const addPathRx = new Set(
    [...families].filter((f) => ((lm.get(f) ?? 0) & 1) !== 0 && ((rm.get(f) ?? 0) & 2) !== 0),
  );
  const extendedMessage = has(localCaps, "extended-message") && has(remoteCaps, "extended-message");
  const enh = (caps: readonly Capability[]) =>
    caps.some(
      (c) =>
        c.name === "extended-next-hop" &&
        c.entries.some((e) => e.afi === 1 && e.safi === 1 && e.nextHopAfi === 2),
    );
  const gr = remoteCaps.find((c) => c.name === "graceful-restart");
  const gracefulRestart: PeerGracefulRestart | undefined =
    gr?.name === "graceful-restart"
      ? {
          restartTimeSec: gr.restartTimeSec,
          restarting: (gr.restartFlags & 8) !== 0,
          families: new Set(
            gr.families
              .map((f) => familyOfAfi(f.afi))
              .filter((f): f is Family => f !== undefined && families.has(f)),
          ),
          forwardingPreserved: new Set(
            gr.families
              .filter((f) => (f.flags & 0x80) !== 0)
              .map((f) => familyOfAfi(f.afi))
              .filter((f): f is Family => f !== undefined),
          ),
        }
      : undefined;
  const llgr = remoteCaps.find((c) => c.name === "long-lived-graceful-restart");
  const longLivedGracefulRestart =
    llgr?.name === "long-lived-graceful-restart"
      ? new Map(
          llgr.families.flatMap((f): [Family, number][] => {
            const fam = familyOfAfi(f.afi);
            return fam !== undefined && f.safi === 1 && families.has(fam) ? [[fam, f.staleTimeSec]] : [];
          }),
        )
      : undefined;
  const fqdn = remoteCaps.find((c) => c.name === "fqdn");
  const maxMessageLen = extendedMessage ? MAX_EXTENDED_MESSAGE_LEN : MAX_MESSAGE_LEN;
  const peerType = peerAs === exp.localAs ? ("ibgp" as const) : ("ebgp" as const);
  const ctx = (ids: ReadonlySet<Family>) => ({
    fourOctetAs,
    maxMessageLen,
    peerType,
    ...(ids.size > 0 ? { addPath: { ipv4: ids.has("ipv4"), ipv6: ids.has("ipv6") } } : {}),
  });
  return {
    peerAs,
    peerRouterId: remote.bgpId,
    holdTimeSec,
    keepaliveSec,
    families,
    fourOctetAs,
    addPathTx,
    addPathRx,
    routeRefresh: has(remoteCaps, "route-refresh") || has(remoteCaps, "route-refresh-old"),
    enhancedRouteRefresh:
      has(localCaps, "enhanced-route-refresh") && has(remoteCaps, "enhanced-route-refresh"),
    extendedMessage,
    extendedNextHop: enh(localCaps) && enh(remoteCaps),
    gracefulRestart,
    localGracefulRestart: has(localCaps, "graceful-restart"),
    longLivedGracefulRestart,
    localLongLivedGracefulRestart: has(localCaps, "long-lived-graceful-restart"),
    ...(fqdn?.name === "fqdn" ? { peerHostname: fqdn.hostname } : {}),
    ...(roleCheck !== undefined
      ? {
          role: {
            local: roleCheck.local,
            ...(remoteRoles.length > 0 && roleOfCode(remoteRoles[0]!) !== undefined
              ? { remote: roleOfCode(remoteRoles[0]!)! }
              : {}),
          },
        }
      : {}),
    rx: ctx(addPathRx),
    tx: ctx(addPathTx),
  };
}
