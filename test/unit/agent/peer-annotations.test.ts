// bgp.tabby.dev/ annotations: what Calico's BGPPeer has no field for, each bad value named and left out.
import { describe, expect, it } from "vitest";
import { longLivedStaleTime, peerExtensions } from "../../../src/agent/peer-annotations.js";

describe("BGPPeer annotations", () => {
  it("reads BFD, prefix limits, ADD-PATH send and role", () => {
    const problems: string[] = [];
    const ext = peerExtensions(
      {
        "bgp.tabby.dev/bfd": "true",
        "bgp.tabby.dev/bfd-interval": "100ms",
        "bgp.tabby.dev/bfd-multiplier": "5",
        "bgp.tabby.dev/max-prefixes": "1000",
        "bgp.tabby.dev/max-prefixes-action": "warn",
        "bgp.tabby.dev/add-path-send": "2",
        "bgp.tabby.dev/role": "customer",
      },
      "ipv4",
      (r) => problems.push(r),
    );
    expect(problems).toEqual([]);
    expect(ext).toEqual({
      bfd: { minRxMs: 100, minTxMs: 100, multiplier: 5 },
      maxPrefixes: { ipv4: { limit: 1000, action: "warn" } },
      addPathSend: { best: 2 },
      role: "customer",
    });
  });

  it("names each bad value and leaves it out", () => {
    const problems: string[] = [];
    const ext = peerExtensions(
      { "bgp.tabby.dev/bfd": "yes", "bgp.tabby.dev/add-path-send": "many", "bgp.tabby.dev/role": "boss" },
      "ipv6",
      (r) => problems.push(r),
    );
    expect(ext).toEqual({});
    expect(problems).toEqual([
      'annotation bgp.tabby.dev/bfd: "yes" is not "true" or "false"; left out',
      'annotation bgp.tabby.dev/add-path-send: "many" is not "all" or a number of paths in 1..64; left out',
      'annotation bgp.tabby.dev/role: "boss" is not provider, rs-server, rs-client, customer, peer; left out',
    ]);
    expect(longLivedStaleTime({ "bgp.tabby.dev/long-lived-stale-time": "24h" }, () => {})).toBe(86400);
    expect(
      longLivedStaleTime({ "bgp.tabby.dev/long-lived-stale-time": "soon" }, (r) => problems.push(r)),
    ).toBe(undefined);
    expect(problems.at(-1)).toContain("long-lived-stale-time");
  });
});
