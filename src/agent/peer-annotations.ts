/**
 * BGP features Calico's resources have no field for (BFD, prefix limits, ADD-PATH send, BGP roles,
 * long-lived graceful restart), read from annotations. Why annotations: Calico's CRDs are structural, so
 * an unknown spec field is pruned by the API server, and calicoctl rejects it; an annotation is kept
 * and ignored by Calico, so the same BGPPeer works under calico-node and under tabby. Pure.
 *
 * On a BGPPeer (each session it makes):
 *   bgp.tabby.dev/bfd: "true"                     BFD with 300 ms x 3 (RFC 5880/5881)
 *   bgp.tabby.dev/bfd-interval: "100ms"           both min RX and min TX
 *   bgp.tabby.dev/bfd-multiplier: "5"
 *   bgp.tabby.dev/max-prefixes: "1000"            per family of the session; one more trips it
 *   bgp.tabby.dev/max-prefixes-action: "restart"  restart (default), shutdown or warn
 *   bgp.tabby.dev/add-path-send: "all"            or a number N: the best N paths
 *   bgp.tabby.dev/role: "customer"                RFC 9234: provider, rs-server, rs-client, customer, peer
 * On BGPConfiguration default:
 *   bgp.tabby.dev/long-lived-stale-time: "24h"    long-lived graceful restart (RFC 9494)
 * A value that does not parse is reported (naming the annotation and the value) and left out; the
 * session is made without it.
 */

import type { BfdConfig } from "../../bgp/bfd/binding.js";
import { ROLES, type Role } from "../../bgp/rib/roles.js";
import type { AddPathSend, MaxPrefixes, PeerConfig } from "../../bgp/speaker/config.js";
import { parseDuration } from "../api/duration.js";

export const ANNOTATION_PREFIX = "bgp.tabby.dev/";
const A = (k: string) => `${ANNOTATION_PREFIX}${k}`;

/** The PeerConfig fields annotations add. */
export type PeerExtensions = Pick<PeerConfig, "bfd" | "maxPrefixes" | "addPathSend" | "role">;

type Family = "ipv4" | "ipv6";

function durationMs(raw: string): number | undefined {
  const ns = parseDuration(raw);
  if (ns === undefined || ns <= 0n) return undefined;
  return Number(ns / 1_000_000n);
}

function int(raw: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : undefined;
}

/** What a BGPPeer's annotations add to its sessions of `family`; `problem` gets each bad value. */
export function peerExtensions(
  annotations: Readonly<Record<string, string>> | undefined,
  family: Family,
  problem: (reason: string) => void,
): PeerExtensions {
  const a = annotations ?? {};
  const bad = (key: string, want: string) =>
    problem(`annotation ${A(key)}: ${JSON.stringify(a[A(key)])} is not ${want}; left out`);
  const out: { -readonly [K in keyof PeerExtensions]: PeerExtensions[K] } = {};

  const bfdOn = a[A("bfd")];
  if (bfdOn !== undefined) {
    if (bfdOn !== "true" && bfdOn !== "false") bad("bfd", '"true" or "false"');
    else if (bfdOn === "true") {
      const bfd: { -readonly [K in keyof BfdConfig]: BfdConfig[K] } = {};
      const iv = a[A("bfd-interval")];
      if (iv !== undefined) {
        const ms = durationMs(iv);
        if (ms === undefined || ms < 1 || ms > 4_294_967) bad("bfd-interval", "a duration such as 300ms");
        else {
          bfd.minRxMs = ms;
          bfd.minTxMs = ms;
        }
      }
      const mult = a[A("bfd-multiplier")];
      if (mult !== undefined) {
        const m = int(mult, 1, 255);
        if (m === undefined) bad("bfd-multiplier", "an integer in 1..255");
        else bfd.multiplier = m;
      }
      out.bfd = bfd;
    }
  }

  const max = a[A("max-prefixes")];
  if (max !== undefined) {
    const limit = int(max, 1, 0xffffffff);
    const action = a[A("max-prefixes-action")];
    if (limit === undefined) bad("max-prefixes", "a positive integer");
    else if (action !== undefined && action !== "restart" && action !== "shutdown" && action !== "warn")
      bad("max-prefixes-action", "restart, shutdown or warn");
    else {
      const m: MaxPrefixes = { limit, ...(action !== undefined ? { action } : {}) };
      out.maxPrefixes = { [family]: m };
    }
  }

  const ap = a[A("add-path-send")];
  if (ap !== undefined) {
    const n = int(ap, 1, 64);
    if (ap === "all") out.addPathSend = "all" satisfies AddPathSend;
    else if (n !== undefined) out.addPathSend = { best: n };
    else bad("add-path-send", '"all" or a number of paths in 1..64');
  }

  const role = a[A("role")];
  if (role !== undefined) {
    if ((ROLES as readonly string[]).includes(role)) out.role = role as Role;
    else bad("role", ROLES.join(", "));
  }
  return out;
}

/** BGPConfiguration default's long-lived stale time in seconds, or undefined (off or bad). */
export function longLivedStaleTime(
  annotations: Readonly<Record<string, string>> | undefined,
  problem: (reason: string) => void,
): number | undefined {
  const raw = annotations?.[A("long-lived-stale-time")];
  if (raw === undefined) return undefined;
  const ms = durationMs(raw);
  if (ms === undefined || ms < 1000 || ms > 0xffffff * 1000) {
    problem(
      `annotation ${A("long-lived-stale-time")}: ${JSON.stringify(raw)} is not a duration in 1s..4660h; left out`,
    );
    return undefined;
  }
  return Math.round(ms / 1000);
}
