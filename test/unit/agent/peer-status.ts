/** A speaker's PeerStatus for tests of what the agent shows of it: an established iBGP mesh session. */
import type { PeerStatus } from "../../../bgp/speaker/views.js";

const counts = { received: 0, accepted: 0, advertised: 0 };

export function peerStatus(
  over: Partial<PeerStatus> & Pick<PeerStatus, "name" | "address" | "since">,
): PeerStatus {
  return {
    asn: 64512,
    type: "ibgp",
    state: "Established",
    families: ["ipv4"],
    prefixes: { ipv4: { ...counts }, ipv6: { ...counts } },
    stale: 0,
    messages: { sent: {}, received: {} },
    flaps: 0,
    passive: false,
    routeReflectorClient: false,
    endOfRibReceived: ["ipv4"],
    ...over,
  };
}
