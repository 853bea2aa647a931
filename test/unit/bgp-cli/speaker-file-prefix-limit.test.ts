// `maxPrefixes` in the YAML of `tabby bgp run`: per neighbour and per family, defaults left to the
// speaker, every mistake named by file, line, field and value; and how `tabby bgp peers` shows a limit.
import { describe, expect, it } from "vitest";
import { parseSpeakerFile } from "../../../src/bgp/speaker-file.js";
import { renderPeers } from "../../../src/cli/bgp-status.js";
import { isTabbyError } from "../../../src/util/errors.js";

const yaml = (limits: string) => `routerId: 10.0.0.1
asn: 65001
peers:
  - address: 10.0.0.2
    asn: 65002
    maxPrefixes:
${limits}
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

describe("speaker.yaml maxPrefixes", () => {
  it("reads limits per family, leaving the defaults to the speaker", () => {
    const f = parseSpeakerFile(
      yaml(`      ipv4: { limit: 1000, warningPercent: 90, action: restart, restartAfterSeconds: 120 }
      ipv6: { limit: 50, action: shutdown }`),
      "speaker.yaml",
    );
    expect(f.speaker.peers[0]?.maxPrefixes).toEqual({
      ipv4: { limit: 1000, warningPercent: 90, action: "restart", restartAfterSeconds: 120 },
      ipv6: { limit: 50, action: "shutdown" },
    });
    const only6 = parseSpeakerFile(yaml("      ipv6: { limit: 5 }"), "speaker.yaml");
    expect(only6.speaker.peers[0]?.maxPrefixes).toEqual({ ipv6: { limit: 5 } });
  });

  it("names the field and the value of each mistake", () => {
    expect(err(yaml("      ipv4: { limit: 0 }"))).toBe(
      "speaker.yaml:7:22: peers[0].maxPrefixes.ipv4.limit: must be an integer in 1..4294967295 (value 0)",
    );
    expect(err(yaml("      ipv4: { limit: 4294967296 }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv4\.limit: must be an integer in 1\.\.4294967295 \(value 4294967296\)/,
    );
    expect(err(yaml("      ipv4: { limit: 10, warningPercent: 0 }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv4\.warningPercent: must be an integer in 1\.\.100 \(value 0\)/,
    );
    expect(err(yaml("      ipv6: { limit: 10, action: disable }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv6\.action: must be one of restart, shutdown, warn \(value "?disable"?\)/,
    );
    expect(err(yaml("      ipv4: { limit: 10, restartAfterSeconds: 0 }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv4\.restartAfterSeconds: must be an integer in 1\.\.604800 \(value 0\)/,
    );
    expect(err(yaml("      ipv4: { limit: 10, action: warn, restartAfterSeconds: 5 }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv4\.restartAfterSeconds: only applies to action restart \(action is warn\)/,
    );
    expect(err(yaml("      ipv4: { warningPercent: 50 }"))).toMatch(/peers\[0\]\.maxPrefixes\.ipv4\.limit: /);
    expect(err(yaml("      ipv4: { limit: 10, max: 3 }"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv4\.max: unknown field/,
    );
    expect(err(yaml("      l2vpn: { limit: 10 }"))).toMatch(/peers\[0\]\.maxPrefixes\.l2vpn: unknown field/);
    expect(err(yaml("      ipv6: { limit: 10 }\n    families: [ipv4]"))).toMatch(
      /peers\[0\]\.maxPrefixes\.ipv6: the peer's families do not include ipv6/,
    );
  });
});

describe("tabby bgp peers", () => {
  it("shows the trip as the last error, and a warning on a session that is up", () => {
    const common = {
      asn: 65002,
      type: "ebgp" as const,
      families: ["ipv4" as const],
      prefixes: {
        ipv4: { received: 800, accepted: 800, advertised: 0 },
        ipv6: { received: 0, accepted: 0, advertised: 0 },
      },
      stale: 0,
      messages: { sent: {}, received: {} },
      flaps: 0,
      passive: false,
      routeReflectorClient: false,
      endOfRibReceived: [],
      since: 0,
    };
    const text = renderPeers(
      [
        {
          ...common,
          name: "tor1",
          address: "10.0.0.2",
          state: "Established",
          prefixLimit:
            "prefix limit warning: 800 prefixes from the peer (ipv4 unicast), warning at 750, limit 1000",
        },
        {
          ...common,
          name: "tor2",
          address: "10.0.0.3",
          state: "Idle",
          lastError:
            "NOTIFICATION sent: Cease / Maximum Number of Prefixes Reached (prefix limit: 1001 prefixes from the peer (ipv4 unicast), limit 1000); restarting in 60 s",
        },
      ],
      0,
    );
    const lines = text.split("\n");
    expect(lines[1]).toMatch(
      /Established .* prefix limit warning: 800 prefixes from the peer \(ipv4 unicast\), warning at 750, limit 1000$/,
    );
    expect(lines[2]).toMatch(
      /Idle .* NOTIFICATION sent: Cease \/ Maximum Number of Prefixes Reached \(prefix limit: 1001 prefixes from the peer \(ipv4 unicast\), limit 1000\); restarting in 60 s$/,
    );
  });
});
