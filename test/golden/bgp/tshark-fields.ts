/**
 * Field-by-field comparison of tabby's decode with tshark's (Wireshark's BGP dissector): both sides are
 * reduced to "field name -> values in wire order" using tshark's field names, then compared name by
 * name. tshark's JSON (`-T json --no-duplicate-keys`) nests irregularly, so its side is collected by
 * walking the tree; ours is produced from the decoded message.
 */

import type { AttrContext } from "../../../bgp/codec/attributes.js";
import type { BgpMessage } from "../../../bgp/codec/message.js";
import { shutdownCommunication } from "../../../bgp/codec/notification.js";
import { capabilitiesOf } from "../../../bgp/codec/open.js";
import { type PrefixList, prefixString } from "../../../bgp/codec/prefix-list.js";

export type Fields = Map<string, string[]>;

/** The fields we compare (others tshark prints are not checked). */
export const COMPARED = new Set([
  "bgp.type",
  "bgp.length",
  "bgp.open.version",
  "bgp.open.myas",
  "bgp.open.holdtime",
  "bgp.open.identifier",
  "bgp.cap.type",
  "bgp.cap.4as",
  "bgp.cap.mp.afi",
  "bgp.cap.mp.safi",
  "bgp.cap.ap.afi",
  "bgp.cap.ap.safi",
  "bgp.cap.ap.sendreceive",
  "bgp.cap.gr.timers.restart_time",
  "bgp.cap.gr.afi",
  "bgp.cap.gr.safi",
  "bgp.cap.enh.afi",
  "bgp.cap.enh.nhafi",
  "bgp.cap.orf.fqdn.hostname",
  "bgp.update.path_attribute.type_code",
  "bgp.update.path_attribute.flags",
  "bgp.update.path_attribute.origin",
  "bgp.update.path_attribute.as_path_segment.type",
  "bgp.update.path_attribute.as_path_segment.as2",
  "bgp.update.path_attribute.as_path_segment.as4",
  "bgp.update.path_attribute.next_hop",
  "bgp.update.path_attribute.multi_exit_disc",
  "bgp.update.path_attribute.local_pref",
  "bgp.update.path_attribute.aggregator_as",
  "bgp.update.path_attribute.aggregator_origin",
  "bgp.update.path_attribute.community_as",
  "bgp.update.path_attribute.community_value",
  "bgp.update.path_attribute.community_wellknown",
  "bgp.update.path_attribute.originator_id",
  "bgp.path_attribute.cluster_id",
  "bgp.update.path_attribute.mp_reach_nlri.afi",
  "bgp.update.path_attribute.mp_reach_nlri.safi",
  "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6",
  "bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
  "bgp.update.path_attribute.mp_unreach_nlri.afi",
  "bgp.update.path_attribute.mp_unreach_nlri.safi",
  "bgp.mp_reach_nlri_ipv4_prefix",
  "bgp.mp_reach_nlri_ipv6_prefix",
  "bgp.mp_unreach_nlri_ipv4_prefix",
  "bgp.mp_unreach_nlri_ipv6_prefix",
  "bgp.nlri_prefix",
  "bgp.nlri_path_id",
  "bgp.withdrawn_prefix",
  "bgp.prefix_length",
  "bgp.large_communities.ga",
  "bgp.large_communities.ldp1",
  "bgp.large_communities.ldp2",
  "bgp.ext_com.value_as2",
  "bgp.ext_com.value_an4",
  "bgp.ext_com.value_IP4",
  "bgp.ext_com.value_an2",
  "bgp.notify.major_error",
  "bgp.notify.minor_error_cease",
  "bgp.notify.communication",
  "bgp.route_refresh.afi",
  "bgp.route_refresh.safi",
  "bgp.route_refresh.subtype",
]);

/** Collects compared leaf fields of one tshark BGP message node, in document (= wire) order. */
export function tsharkFields(node: unknown): Fields {
  const out: Fields = new Map();
  const walk = (n: unknown) => {
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    if (typeof n !== "object" || n === null) return;
    for (const [k, v] of Object.entries(n)) {
      // --no-duplicate-keys turns a repeated leaf into an array of strings.
      const leaves =
        Array.isArray(v) && v.every((x) => typeof x !== "object")
          ? v
          : typeof v !== "object"
            ? [v]
            : undefined;
      if (leaves === undefined) {
        if (v !== null) walk(v);
      } else if (COMPARED.has(k)) {
        const list = out.get(k) ?? [];
        for (const x of leaves) list.push(String(x));
        out.set(k, list);
      }
    }
  };
  walk(node);
  return out;
}

/** Produces the same fields from a decoded message. */
export function tabbyFields(m: BgpMessage, length: number, ctx: AttrContext): Fields {
  const out: Fields = new Map();
  const add = (k: string, v: string | number) => {
    const list = out.get(k) ?? [];
    list.push(String(v));
    out.set(k, list);
  };
  const typeCode = { OPEN: 1, UPDATE: 2, NOTIFICATION: 3, KEEPALIVE: 4, "ROUTE-REFRESH": 5 }[m.type];
  add("bgp.length", length);
  add("bgp.type", typeCode);
  const prefixes = (list: PrefixList, field: string, withIds: boolean) => {
    for (let i = 0; i < list.count; i++) {
      if (withIds && list.pathIds) add("bgp.nlri_path_id", list.pathIds[i]!);
      add("bgp.prefix_length", list.lengths[i]!);
      add(field, prefixString(list, i).split("/")[0]!);
    }
  };
  switch (m.type) {
    case "OPEN":
      add("bgp.open.version", m.version);
      add("bgp.open.myas", m.myAs);
      add("bgp.open.holdtime", m.holdTime);
      add("bgp.open.identifier", m.bgpId);
      for (const c of capabilitiesOf(m)) {
        add("bgp.cap.type", c.code);
        if (c.name === "four-octet-as") add("bgp.cap.4as", c.as);
        if (c.name === "multiprotocol") {
          add("bgp.cap.mp.afi", c.afi);
          add("bgp.cap.mp.safi", c.safi);
        }
        if (c.name === "add-path") {
          for (const f of c.families) {
            add("bgp.cap.ap.afi", f.afi);
            add("bgp.cap.ap.safi", f.safi);
            add("bgp.cap.ap.sendreceive", f.sendReceive);
          }
        }
        if (c.name === "graceful-restart") {
          add("bgp.cap.gr.timers.restart_time", c.restartTimeSec);
          for (const f of c.families) {
            add("bgp.cap.gr.afi", f.afi);
            add("bgp.cap.gr.safi", f.safi);
          }
        }
        if (c.name === "extended-next-hop") {
          for (const e of c.entries) {
            add("bgp.cap.enh.afi", e.afi);
            add("bgp.cap.enh.nhafi", e.nextHopAfi);
          }
        }
        if (c.name === "fqdn") add("bgp.cap.orf.fqdn.hostname", c.hostname);
      }
      break;
    case "UPDATE":
      prefixes(m.withdrawn, "bgp.withdrawn_prefix", true);
      for (const a of m.attributes) {
        add("bgp.update.path_attribute.flags", `0x${a.flags.toString(16).padStart(2, "0")}`);
        add("bgp.update.path_attribute.type_code", a.code);
        switch (a.kind) {
          case "origin":
            add("bgp.update.path_attribute.origin", a.origin);
            break;
          case "as-path":
          case "as4-path": {
            const w = a.kind === "as4-path" || ctx.fourOctetAs ? "as4" : "as2";
            for (const s of a.segments) {
              add("bgp.update.path_attribute.as_path_segment.type", s.type);
              for (const as of s.asns) add(`bgp.update.path_attribute.as_path_segment.${w}`, as);
            }
            break;
          }
          case "next-hop":
            add("bgp.update.path_attribute.next_hop", a.nextHop);
            break;
          case "med":
            add("bgp.update.path_attribute.multi_exit_disc", a.med);
            break;
          case "local-pref":
            add("bgp.update.path_attribute.local_pref", a.localPref);
            break;
          case "aggregator":
          case "as4-aggregator":
            add("bgp.update.path_attribute.aggregator_as", a.as);
            add("bgp.update.path_attribute.aggregator_origin", a.address);
            break;
          case "communities":
            for (const c of a.communities) {
              if (c >>> 16 === 0xffff)
                add("bgp.update.path_attribute.community_wellknown", `0x${c.toString(16)}`);
              else {
                add("bgp.update.path_attribute.community_as", c >>> 16);
                add("bgp.update.path_attribute.community_value", c & 0xffff);
              }
            }
            break;
          case "originator-id":
            add("bgp.update.path_attribute.originator_id", a.originatorId);
            break;
          case "cluster-list":
            for (const c of a.clusterList) add("bgp.path_attribute.cluster_id", c);
            break;
          case "mp-reach":
            add("bgp.update.path_attribute.mp_reach_nlri.afi", a.afi);
            add("bgp.update.path_attribute.mp_reach_nlri.safi", a.safi);
            if (a.nextHop[0]?.includes(":"))
              add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6", a.nextHop[0]);
            if (a.nextHop[1] !== undefined)
              add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local", a.nextHop[1]);
            prefixes(
              a.nlri,
              a.afi === 1 ? "bgp.mp_reach_nlri_ipv4_prefix" : "bgp.mp_reach_nlri_ipv6_prefix",
              true,
            );
            break;
          case "mp-unreach":
            add("bgp.update.path_attribute.mp_unreach_nlri.afi", a.afi);
            add("bgp.update.path_attribute.mp_unreach_nlri.safi", a.safi);
            prefixes(
              a.withdrawn,
              a.afi === 1 ? "bgp.mp_unreach_nlri_ipv4_prefix" : "bgp.mp_unreach_nlri_ipv6_prefix",
              true,
            );
            break;
          case "large-communities":
            for (let i = 0; i < a.communities.length; i += 3) {
              add("bgp.large_communities.ga", a.communities[i]!);
              add("bgp.large_communities.ldp1", a.communities[i + 1]!);
              add("bgp.large_communities.ldp2", a.communities[i + 2]!);
            }
            break;
          case "extended-communities":
            for (let o = 0; o < a.value.length; o += 8) {
              const v = a.value;
              const u16 = (k: number) => (v[o + k]! << 8) | v[o + k + 1]!;
              const u32 = (k: number) =>
                ((v[o + k]! << 24) | (v[o + k + 1]! << 16) | (v[o + k + 2]! << 8) | v[o + k + 3]!) >>> 0;
              if ((v[o]! & 0x3f) === 0x00) {
                add("bgp.ext_com.value_as2", u16(2));
                add("bgp.ext_com.value_an4", u32(4));
              } else if ((v[o]! & 0x3f) === 0x01) {
                add("bgp.ext_com.value_IP4", `${v[o + 2]}.${v[o + 3]}.${v[o + 4]}.${v[o + 5]}`);
                add("bgp.ext_com.value_an2", u16(6));
              }
            }
            break;
          default:
            break;
        }
      }
      prefixes(m.nlri, "bgp.nlri_prefix", true);
      break;
    case "NOTIFICATION": {
      add("bgp.notify.major_error", m.code);
      if (m.code === 6) add("bgp.notify.minor_error_cease", m.subcode);
      const text = shutdownCommunication(m);
      if (text !== undefined) add("bgp.notify.communication", text);
      break;
    }
    case "ROUTE-REFRESH":
      add("bgp.route_refresh.afi", m.afi);
      add("bgp.route_refresh.safi", m.safi);
      add("bgp.route_refresh.subtype", m.subtype);
      break;
    case "KEEPALIVE":
      break;
  }
  return out;
}
