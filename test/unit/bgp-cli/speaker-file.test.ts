import { describe, expect, it } from "vitest";
import { parseSpeakerFile } from "../../../src/bgp/speaker-file.js";
import { formatSince, renderPeers, renderRib } from "../../../src/cli/bgp-status.js";
import { isTabbyError } from "../../../src/util/errors.js";

const good = `routerId: 10.0.0.1
asn: "1.10"
clusterId: 10.0.0.100
listen: { address: "::", port: 1179 }
gracefulRestart: { restartTimeSec: 120 }
status: { socket: /tmp/x.sock }
peers:
  - address: 10.0.0.2
    asn: 65002
    password: s3cret
    holdTimeSec: 30
    importPolicy: from-tor
    exportPolicy: ACCEPT_ALL
  - address: fd00::3
    asn: 65546
    routeReflectorClient: true
    ttlSecurityHops: 1
policies:
  from-tor:
    defaultAction: reject
    rules:
      - match: { prefixes: [{ prefix: 10.0.0.0/8, le: 24 }], communities: ["65002:1"] }
        set: { localPref: 200 }
        action: accept
originate:
  - { prefix: 192.0.2.0/24, communities: ["65546:100"] }
`;

function err(text: string): string {
  try {
    parseSpeakerFile(text, "speaker.yaml");
  } catch (e) {
    if (isTabbyError(e)) return (e as Error).message;
    throw e;
  }
  throw new Error("expected an error");
}

describe("speaker.yaml", () => {
  it("reads every section, asdot AS numbers included", () => {
    const f = parseSpeakerFile(good, "speaker.yaml");
    expect(f.speaker).toMatchObject({
      routerId: "10.0.0.1",
      asn: 65546,
      clusterId: "10.0.0.100",
      listen: { address: "::", port: 1179 },
    });
    expect(f.speaker.peers[0]).toMatchObject({
      address: "10.0.0.2",
      asn: 65002,
      password: "s3cret",
      holdTimeSec: 30,
      importPolicy: "from-tor",
    });
    expect(f.speaker.peers[1]).toMatchObject({ routeReflectorClient: true, ttlSecurityHops: 1 });
    expect(f.speaker.policies?.["from-tor"]?.rules[0]?.set).toEqual({ localPref: 200 });
    expect(f.statusSocket).toBe("/tmp/x.sock");
  });

  it("names file, line and field of each mistake", () => {
    expect(err(good.replace("holdTimeSec: 30", "holdTimeSec: 2"))).toBe(
      "speaker.yaml:11:18: peers[0].holdTimeSec: must be 0 or 3..65535 (RFC 4271 §4.2) (value 2)",
    );
    expect(err(good.replace("asn: 65002", "asn: 1.5"))).toMatch(
      /^speaker\.yaml:9:10: peers\[0\]\.asn: asdot notation must be a quoted string/,
    );
    expect(err(good.replace("importPolicy: from-tor", "importPolicy: from-spine"))).toMatch(
      /peers\[0\]\.importPolicy: no policy named "from-spine"/,
    );
    expect(err(good.replace("address: 10.0.0.2", "address: 10.0.0.300"))).toMatch(
      /^speaker\.yaml:8:14: peers\[0\]\.address: must be an IP address/,
    );
    expect(err(good.replace("    password: s3cret", "    pasword: s3cret"))).toMatch(
      /peers\[0\]\.pasword: unknown field/,
    );
    expect(err(good.replace('communities: ["65002:1"]', 'communities: ["65002:x"]'))).toMatch(
      /policies\.from-tor/,
    );
    expect(err(good.replace("ttlSecurityHops: 1", "ttlSecurityHops: 1\n    ttl: 5"))).toMatch(
      /ttlSecurityHops: cannot be combined with ttl/,
    );
    expect(err(good.replace("prefix: 192.0.2.0/24", "prefix: 192.0.2.0/33"))).toMatch(
      /originate\[0\]\.prefix: bad prefix length/,
    );
  });
});

describe("status tables", () => {
  it("formats session ages as BIRD and FRR do", () => {
    expect(formatSince(0, 61_000)).toBe("00:01:01");
    expect(formatSince(0, 3 * 86400_000 + 4 * 3600_000 + 5 * 60_000)).toBe("3d04h05m");
  });

  it("shows the last error in words for sessions that are not up", () => {
    const prefixes = {
      ipv4: { received: 2, accepted: 1, advertised: 3 },
      ipv6: { received: 0, accepted: 0, advertised: 0 },
    };
    const common = {
      asn: 65002,
      type: "ebgp" as const,
      families: ["ipv4" as const],
      prefixes,
      stale: 0,
      messages: { sent: {}, received: {} },
      flaps: 0,
      passive: false,
      routeReflectorClient: false,
      endOfRibReceived: [],
    };
    const text = renderPeers(
      [
        { ...common, name: "tor1", address: "10.0.0.2", state: "Established", since: 0 },
        {
          ...common,
          name: "tor2",
          address: "10.0.0.3",
          state: "Active",
          since: 0,
          lastError: "connect to 10.0.0.3 port 179: connection refused",
        },
      ],
      65_000,
    );
    expect(text.split("\n")).toEqual([
      "PEER  ADDRESS   AS     TYPE  STATE        SINCE     RECEIVED  ACCEPTED  ADVERTISED  LAST ERROR",
      "tor1  10.0.0.2  65002  ebgp  Established  00:01:05  2         1         3",
      "tor2  10.0.0.3  65002  ebgp  Active       00:01:05  2         1         3           connect to 10.0.0.3 port 179: connection refused",
      "",
    ]);
    const rib = renderRib([
      {
        prefix: "192.0.2.0/24",
        best: true,
        from: "10.0.0.2",
        fromName: "tor1",
        nextHop: "10.0.0.2",
        asPath: "65002",
        origin: "igp",
        med: 5,
        communities: ["65002:1"],
        largeCommunities: [],
        clusterList: [],
        stale: false,
      },
    ]);
    expect(rib).toContain("*  192.0.2.0/24  10.0.0.2  tor1 (10.0.0.2)  65002    igp");
  });
});
