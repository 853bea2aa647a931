/**
 * BGP roles and route-leak prevention (RFC 9234), as BIRD 2.0.12 (`local role`, `require roles`) and
 * FRR 8.4 (`neighbor X local-role R [strict-mode]`) implement them:
 * - the role capability (code 9, one octet) says what we are to the peer; the pairs that may form a
 *   session are provider/customer, rs-server/rs-client and peer/peer (§4.2). Any other pair, or a
 *   missing capability when we require roles (strict mode), is refused with OPEN Message Error /
 *   Role Mismatch (2/11);
 * - the Only to Customer attribute (OTC, type 35) marks a route that may travel only downwards.
 *   Ingress (§5): a route with OTC from a customer or rs-client is a leak and is dropped; from a peer
 *   it is dropped unless OTC names that peer's AS; a route without OTC from a provider, peer or
 *   rs-server gets OTC = the peer's AS. Egress (§6): a route with OTC is not sent to a provider, peer
 *   or rs-server; a route sent to a customer, peer or rs-client without OTC gets OTC = our AS.
 * Roles apply to eBGP sessions only. Pure.
 */
import type { PathAttribute } from "../codec/attributes.js";

export type Role = "provider" | "rs-server" | "rs-client" | "customer" | "peer";

/** Capability values (RFC 9234 §4.1). */
export const ROLE_CODES: Readonly<Record<Role, number>> = {
  provider: 0,
  "rs-server": 1,
  "rs-client": 2,
  customer: 3,
  peer: 4,
};

export const ROLES = Object.keys(ROLE_CODES) as Role[];

export function roleOfCode(code: number): Role | undefined {
  return ROLES.find((r) => ROLE_CODES[r] === code);
}

const PAIRS: Readonly<Record<Role, Role>> = {
  provider: "customer",
  customer: "provider",
  "rs-server": "rs-client",
  "rs-client": "rs-server",
  peer: "peer",
};

/** The role the peer must announce when we are `local`. */
export const expectedPeerRole = (local: Role): Role => PAIRS[local];

/**
 * Why the session cannot form, or undefined when it can. `remote` holds every role capability value
 * the peer sent (more than one distinct value is a mismatch too, §4.2).
 */
export function roleMismatch(local: Role, remote: readonly number[], strict: boolean): string | undefined {
  const distinct = [...new Set(remote)];
  if (distinct.length === 0)
    return strict ? `we require a BGP role (ours is ${local}); the peer sent none` : undefined;
  if (distinct.length > 1) return `the peer sent conflicting roles ${distinct.join(", ")}`;
  const theirs = roleOfCode(distinct[0]!);
  if (theirs !== PAIRS[local])
    return `role mismatch: we are ${local}, the peer says ${theirs ?? `role ${distinct[0]}`} (expected ${PAIRS[local]})`;
  return undefined;
}

const otcOf = (attrs: readonly PathAttribute[]): number | undefined => {
  const a = attrs.find((x) => x.kind === "otc");
  return a?.kind === "otc" ? a.asn : undefined;
};

const otc = (asn: number): PathAttribute => ({ kind: "otc", code: 35, flags: 0xc0, asn });

export type IngressVerdict =
  | { readonly leak: false; readonly attrs: readonly PathAttribute[] }
  | { readonly leak: true; readonly reason: string };

/** RFC 9234 §5 on a route received over an eBGP session where we are `local` to a peer in `peerAs`. */
export function otcIngress(attrs: readonly PathAttribute[], local: Role, peerAs: number): IngressVerdict {
  const value = otcOf(attrs);
  const peerRole = PAIRS[local];
  if (value !== undefined) {
    if (peerRole === "customer" || peerRole === "rs-client")
      return { leak: true, reason: `route leak: OTC ${value} from a ${peerRole}` };
    if (peerRole === "peer" && value !== peerAs)
      return { leak: true, reason: `route leak: OTC ${value} from a peer in AS ${peerAs}` };
    return { leak: false, attrs };
  }
  if (peerRole === "provider" || peerRole === "peer" || peerRole === "rs-server")
    return { leak: false, attrs: [...attrs, otc(peerAs)] };
  return { leak: false, attrs };
}

/** RFC 9234 §6: the attributes to send where we are `local`, or undefined when the route must not go. */
export function otcEgress(
  attrs: readonly PathAttribute[],
  local: Role,
  localAs: number,
): readonly PathAttribute[] | undefined {
  const has = otcOf(attrs) !== undefined;
  const peerRole = PAIRS[local];
  if (has && (peerRole === "provider" || peerRole === "peer" || peerRole === "rs-server")) return undefined;
  if (!has && (peerRole === "customer" || peerRole === "peer" || peerRole === "rs-client"))
    return [...attrs, otc(localAs)];
  return attrs;
}
