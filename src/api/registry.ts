/**
 * Every kind tabby knows, in calicoctl's order of importance, with lookups by kind name and by the names
 * `tabbyctl get` accepts (calicoctl's resourcemgr aliases, case-insensitive). Pure.
 */
import { bgpConfigurationKind } from "./bgpconfig.js";
import { bgpFilterKind } from "./bgpfilter.js";
import { bgpPeerKind } from "./bgppeer.js";
import { blockAffinityKind } from "./block-affinity.js";
import { calicoNodeStatusKind } from "./calico-node-status.js";
import { ipReservationKind } from "./ip-reservation.js";
import { ipamBlockKind } from "./ipam-block.js";
import { ipamConfigurationKind } from "./ipam-config.js";
import { ipamHandleKind } from "./ipam-handle.js";
import { ipPoolKind } from "./ippool.js";
import type { KindDef } from "./kind.js";
import { nodeKind } from "./node.js";
import { workloadEndpointKind } from "./workload-endpoint.js";

export const KINDS: readonly KindDef[] = [
  ipPoolKind,
  bgpPeerKind,
  bgpConfigurationKind,
  bgpFilterKind,
  nodeKind,
  ipamConfigurationKind,
  ipReservationKind,
  workloadEndpointKind,
  calicoNodeStatusKind,
  ipamBlockKind,
  blockAffinityKind,
  ipamHandleKind,
];

const byKind = new Map(KINDS.map((k) => [k.kind, k]));
const byAlias = new Map(
  KINDS.flatMap((k) => [k.kind.toLowerCase(), ...k.aliases].map((a) => [a, k] as const)),
);

/** The kind named exactly as in a resource's `kind:` field. */
export function findKind(kind: string): KindDef | undefined {
  return byKind.get(kind);
}

/** The kind for a command-line name (`ippool`, `pools`, `bgpconfig`, `IPPool`...). */
export function findKindByAlias(name: string): KindDef | undefined {
  return byAlias.get(name.toLowerCase());
}

export function kindNames(): string[] {
  return KINDS.map((k) => k.kind);
}
