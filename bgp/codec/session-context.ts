/**
 * What two OPENs negotiate for the codec (not for the session's timers or families): 4-octet AS when
 * both advertise it (RFC 6793), ADD-PATH per family when the sender said "send" and the receiver said
 * "receive" (RFC 7911 §4), and 65535-byte messages when both advertise Extended Message (RFC 8654).
 * `tabby bgp decode` uses it on captures; the session uses the same function for live traffic.
 */

import { MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN } from "./constants.js";
import type { CodecContext } from "./message.js";
import { capabilitiesOf, type OpenMessage } from "./open.js";

const has = (open: OpenMessage, name: string) => capabilitiesOf(open).some((c) => c.name === name);

/** `mode & 2` = may send, `mode & 1` = wants to receive, per AFI for unicast. */
function addPathModes(open: OpenMessage): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of capabilitiesOf(open)) {
    if (c.name !== "add-path") continue;
    for (const f of c.families) if (f.safi === 1) out.set(f.afi, f.sendReceive);
  }
  return out;
}

/**
 * Context for decoding what `sender` sends to `receiver`. With only the sender's OPEN (one direction
 * of a capture), pass it as both: its own capabilities then decide.
 */
export function contextFromOpens(sender: OpenMessage, receiver: OpenMessage = sender): CodecContext {
  const tx = addPathModes(sender);
  const rx = addPathModes(receiver);
  const addPathFor = (afi: number) => ((tx.get(afi) ?? 0) & 2) !== 0 && ((rx.get(afi) ?? 0) & 1) !== 0;
  const ipv4 = addPathFor(1);
  const ipv6 = addPathFor(2);
  return {
    fourOctetAs: has(sender, "four-octet-as") && has(receiver, "four-octet-as"),
    ...(ipv4 || ipv6 ? { addPath: { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) } } : {}),
    maxMessageLen:
      has(sender, "extended-message") && has(receiver, "extended-message")
        ? MAX_EXTENDED_MESSAGE_LEN
        : MAX_MESSAGE_LEN,
  };
}
