// BIRD's control-socket replies computed from the agent's sessions: the wire format of nest/cli.c,
// Calico's BIRD 1.6 protocol table, and calicoctl's own parser (re-implemented from status.go) reading
// them back.
import { describe, expect, it } from "vitest";
import type { PeerStatus } from "../../../bgp/speaker/views.js";
import {
  answer,
  type BirdView,
  banner,
  birdError,
  encodeReply,
  protocolInfo,
  protocolTime,
} from "../../../src/agent/bird-cli.js";
import { peerStatus } from "./peer-status.js";

const NOW = new Date(2026, 11, 7, 13, 30, 0).getTime();
const peer = (over: Partial<PeerStatus>): PeerStatus =>
  peerStatus({
    name: "Mesh_10_0_0_2",
    address: "10.0.0.2",
    since: new Date(2026, 11, 7, 9, 14, 2).getTime(),
    ...over,
  });

const view = (sessions: PeerStatus[]): BirdView => ({
  routerId: "10.0.0.1",
  bootedAt: new Date(2026, 11, 7, 9, 0, 0).getTime(),
  reconfiguredAt: new Date(2026, 11, 7, 9, 10, 0).getTime(),
  gracefulRestartWaiting: 0,
  sessions,
  routes: () => [],
});

/** calicoctl's scanBIRDPeers and unmarshalBIRD, as status.go has them. */
function calicoctlParse(reply: string, ipSep = "."): string[][] {
  const out: string[][] = [];
  for (const str of reply.split("\n")) {
    if (str === "") continue;
    if (str.startsWith("0000")) break;
    if (str.startsWith("0001")) continue;
    if (str.startsWith("2002")) {
      if (str.slice(5).trim().split(/\s+/).join(" ") !== "name proto table state since info")
        throw new Error("unknown BIRD table output format");
      continue;
    }
    let line: string;
    if (str.startsWith("1002")) line = str.slice(5);
    else if (str.startsWith(" ")) line = str.slice(1);
    else throw new Error(`unexpected output line from BIRD: ${str}`);
    const c = line.trim().split(/\s+/);
    const m = /^(Global|Node|Mesh)_(.+)$/.exec(c[0] ?? "");
    if (c.length < 6 || c[1] !== "BGP" || m === null) continue;
    out.push([m[2]!.replaceAll("_", ipSep), m[1]!, c[3]!, c[4]!, [c[5], ...c.slice(6)].join(" ")]);
  }
  return out;
}

describe("BIRD's control protocol", () => {
  it("frames replies as nest/cli.c does: CODE- first, a space for the same code again, CODE and a space last", () => {
    expect(banner()).toBe("0001 BIRD 1.6.8-tabby ready.\n");
    expect(
      encodeReply([
        { code: 2002, text: "h" },
        { code: 1002, text: "a" },
        { code: 1002, text: "b" },
        { code: 1006, text: "  x" },
        { code: 1002, text: "c" },
        { code: 0, text: "" },
      ]),
    ).toBe("2002-h\n1002-a\n b\n1006-  x\n1002-c\n0000 \n");
  });

  it("show protocols: Calico's 1.6 table, which calicoctl's parser reads back with the peer type, state, since and info", () => {
    const reply = answer(
      "show protocols",
      view([
        peer({}),
        peer({
          name: "Mesh_10_0_0_3",
          address: "10.0.0.3",
          state: "Active",
          since: new Date(2026, 11, 7, 9, 20, 45).getTime(),
          lastError: "connect to 10.0.0.3 port 179: no route to host",
        }),
        peer({
          name: "Global_192_0_2_1",
          address: "192.0.2.1",
          type: "ebgp",
          asn: 65000,
          since: new Date(2026, 10, 30, 8, 0, 0).getTime(),
        }),
        peer({
          name: "Node_10_0_0_9",
          address: "10.0.0.9",
          state: "Idle",
          lastError: "administratively stopped",
        }),
      ]),
      NOW,
    );
    expect(reply.split("\n")).toEqual([
      "2002-name     proto    table    state  since       info",
      "1002-Mesh_10_0_0_2 BGP      master   up     09:14:02    Established   ",
      " Mesh_10_0_0_3 BGP      master   start  09:20:45    Active        Socket: connect to 10.0.0.3 port 179: no route to host",
      " Global_192_0_2_1 BGP      master   up     2026-11-30  Established   ",
      " Node_10_0_0_9 BGP      master   down   09:14:02    ",
      "0000 ",
      "",
    ]);
    expect(calicoctlParse(reply)).toEqual([
      ["10.0.0.2", "Mesh", "up", "09:14:02", "Established"],
      [
        "10.0.0.3",
        "Mesh",
        "start",
        "09:20:45",
        "Active Socket: connect to 10.0.0.3 port 179: no route to host",
      ],
      ["192.0.2.1", "Global", "up", "2026-11-30", "Established"],
    ]);
  });

  it("says why in BIRD's classes: Received, BGP Error, Socket, Error; Passive for a passive session nobody has opened", () => {
    expect(
      birdError(peer({ state: "Idle", lastError: "NOTIFICATION received: Cease / Administrative Shutdown" })),
    ).toBe("Received: Cease / Administrative Shutdown");
    expect(birdError(peer({ state: "Idle", lastError: "NOTIFICATION sent: Hold Timer Expired" }))).toBe(
      "BGP Error: Hold Timer Expired",
    );
    expect(
      birdError(
        peer({
          state: "Connect",
          lastError:
            "no answer from the peer in 5 s (connection attempt not answered): TCP MD5 key missing or wrong?",
        }),
      ),
    ).toMatch(/^Socket: no answer from the peer/);
    expect(birdError(peer({ state: "Idle", lastError: "peer AS 65002 but BGPPeer says 65003" }))).toBe(
      "Error: peer AS 65002 but BGPPeer says 65003",
    );
    expect(protocolInfo(peer({ state: "Active", passive: true }))).toBe("Passive       ");
    // Graceful restart in words, for a peer away and for one back but not yet done.
    expect(protocolInfo(peer({ state: "Active", stale: 12, lastError: "connection refused" }))).toBe(
      "Active        Socket: connection refused; graceful restart: keeping 12 stale routes until the peer is back",
    );
    expect(
      protocolInfo(peer({ state: "Established", stale: 1, families: ["ipv4"], endOfRibReceived: [] })),
    ).toBe("Established   graceful restart: 1 stale route, waiting for End-of-RIB (ipv4)");
    expect(protocolInfo(peer({ state: "Established", stale: 0 }))).toBe("Established   ");
    expect(protocolTime(NOW - 19 * 3600_000, NOW)).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(protocolTime(NOW - 21 * 3600_000, NOW)).toBe("2026-12-06");
  });

  it("show protocols all NAME, patterns, abbreviations, no match and parse errors", () => {
    const v = view([
      peer({ routerId: "10.0.0.2", holdTimeSec: 90, keepaliveSec: 30 }),
      peer({ name: "Node_10_0_0_9", address: "10.0.0.9" }),
    ]);
    const all = answer("sh pro all Mesh_10_0_0_2", v, NOW).split("\n");
    expect(all[0]).toBe("2002-name     proto    table    state  since       info");
    expect(all).toContain("1006-  Preference:     100");
    expect(all).toContain("     Neighbor address: 10.0.0.2");
    expect(all).toContain("     Neighbor ID:      10.0.0.2");
    expect(all.filter((l) => l.startsWith("1002") || /^ [A-Z]/.test(l))).toHaveLength(1);
    expect(answer('show protocols "Node_*"', v, NOW).split("\n")[1]).toMatch(/^1002-Node_10_0_0_9 /);
    expect(answer("show protocols Nope", v, NOW)).toBe("8003 No protocols match\n");
    expect(answer("configure", v, NOW)).toBe("9001 syntax error, unexpected configure\n");
  });

  it("show status: version, router ID, times and the daemon's state; graceful restart while End-of-RIB is awaited", () => {
    const v = view([]);
    expect(answer("show status", v, NOW)).toBe(
      [
        "1000-BIRD 1.6.8-tabby",
        "1011-Router ID is 10.0.0.1",
        " Current server time is 2026-12-07 13:30:00",
        " Last reboot on 2026-12-07 09:00:00",
        " Last reconfiguration on 2026-12-07 09:10:00",
        "0013 Daemon is up and running",
        "",
      ].join("\n"),
    );
    expect(answer("show status", { ...v, gracefulRestartWaiting: 2 }, NOW)).toContain(
      "0024-Graceful restart recovery in progress\n   Waiting for 2 protocols to recover\n",
    );
  });
});
