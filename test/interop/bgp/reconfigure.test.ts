// Runtime reconfiguration against real peers: tabby (10.0.0.1) with BIRD (10.0.0.2) and FRR (10.0.0.3)
// on one segment. Each change is counted: which sessions were reset (tabby's flap counters and BIRD's
// own session state), what the peers learned or lost. A new peer leaves the others alone, an export
// policy change re-exports without a reset, a peer with an MD5 key added at runtime connects to the
// listener that was already open, and a removed peer gets a Cease while the rest stays up.
import { expect, it } from "vitest";
import type { SpeakerConfig } from "../../../bgp/speaker/config.js";
import type { Speaker } from "../../../bgp/speaker/speaker.js";
import { connectToBridge, Netns } from "../../harness/netns.js";
import { Bird } from "../../harness/peers/bird.js";
import { Frr } from "../../harness/peers/frr.js";
import { describeWith } from "../../harness/requirements.js";
import type { Scope } from "../../harness/scope.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { startTabby, waitEstablished } from "./lab.js";

async function segment(scope: Scope) {
  const sw = await Netns.create(scope);
  await sw.createBridge("br0");
  const hosts: Netns[] = [];
  for (let i = 1; i <= 3; i++) {
    const ns = await Netns.create(scope);
    await connectToBridge(sw, "br0", `p${i}`, { ns, name: "eth0", addresses: [`10.0.0.${i}/24`] });
    hosts.push(ns);
  }
  return hosts as [Netns, Netns, Netns];
}

const flaps = (s: Speaker) => Object.fromEntries(s.peerStatus().map((p) => [p.address, p.flaps]));
const since = (s: Speaker, a: string) => s.peerStatus().find((p) => p.address === a)?.since;

const birdPeer = { address: "10.0.0.2", asn: 65002, importPolicy: "ACCEPT_ALL", exportPolicy: "ALL" };
const base: SpeakerConfig = {
  routerId: "10.0.0.1",
  asn: 65001,
  listen: { address: "0.0.0.0" },
  connectRetrySec: 1,
  policies: { ALL: { name: "ALL", rules: [], defaultAction: "accept" } },
  peers: [birdPeer],
  originate: [{ prefix: "192.0.2.0/24" }, { prefix: "198.51.100.0/24" }],
};

describeWith(["root", "iproute2", "bird", "frr"], "runtime reconfiguration", () => {
  it("touches only the peers a change names, against BIRD and FRR", async () => {
    const scope = testScope();
    const [me, birdNs, frrNs] = await segment(scope);
    const bird = await Bird.start(scope, birdNs, {
      spec: { routerId: "10.0.0.2", as: 65002, neighbors: [{ address: "10.0.0.1", as: 65001 }] },
    });
    const frr = await Frr.start(scope, frrNs, {
      spec: {
        routerId: "10.0.0.3",
        as: 65003,
        neighbors: [{ address: "10.0.0.1", as: 65001, password: "s3cret" }],
      },
    });
    const tabby = await startTabby(scope, me, base);
    await waitEstablished(tabby, "10.0.0.2");
    await bird.waitForRoute("ipv4", "198.51.100.0/24");
    const birdSince = since(tabby, "10.0.0.2");
    const port = tabby.listenPort;

    // 1. A new peer with an MD5 key, passive: FRR must reach our already-open listener with the key.
    const frrPeer = {
      address: "10.0.0.3",
      asn: 65003,
      password: "s3cret",
      passive: true,
      importPolicy: "ACCEPT_ALL",
      exportPolicy: "ALL",
    };
    const withFrr: SpeakerConfig = { ...base, peers: [birdPeer, frrPeer] };
    const r1 = await tabby.reconfigure(withFrr);
    expect(r1).toMatchObject({ added: ["10.0.0.3"], removed: [], reset: [], updated: [] });
    await waitEstablished(tabby, "10.0.0.3");
    await frr.waitForRoute("ipv4", "192.0.2.0/24");
    expect(tabby.listenPort).toBe(port);
    expect(flaps(tabby)).toEqual({ "10.0.0.2": 0, "10.0.0.3": 0 });
    expect(since(tabby, "10.0.0.2")).toBe(birdSince);

    // 2. The export policy BIRD's session uses stops exporting one prefix: withdrawn, no reset.
    const narrower: SpeakerConfig = {
      ...withFrr,
      policies: {
        ...withFrr.policies,
        NARROW: {
          name: "NARROW",
          rules: [{ match: { prefixes: [{ prefix: "198.51.100.0/24" }] }, action: "reject" }],
          defaultAction: "accept",
        },
      },
      peers: [{ ...birdPeer, exportPolicy: "NARROW" }, frrPeer],
    };
    const r2 = await tabby.reconfigure(narrower);
    expect(r2).toMatchObject({ added: [], removed: [], reset: [] });
    expect(r2.updated).toEqual([{ address: "10.0.0.2", changed: ["exportPolicy"] }]);
    await eventually(async () => !(await bird.routes("ipv4")).some((r) => r.prefix === "198.51.100.0/24"), {
      what: "BIRD to lose 198.51.100.0/24",
    });
    expect((await bird.routes("ipv4")).map((r) => r.prefix)).toContain("192.0.2.0/24");
    expect((await frr.routes("ipv4")).map((r) => r.prefix)).toContain("198.51.100.0/24");
    expect(flaps(tabby)).toEqual({ "10.0.0.2": 0, "10.0.0.3": 0 });
    expect(since(tabby, "10.0.0.2")).toBe(birdSince);

    // 3. The same policy name with new contents re-exports too (the speaker versions policies).
    const narrowerStill: SpeakerConfig = {
      ...narrower,
      policies: {
        ...narrower.policies,
        NARROW: { name: "NARROW", rules: [], defaultAction: "reject" },
      },
    };
    const r3 = await tabby.reconfigure(narrowerStill);
    expect(r3.reset).toEqual([]);
    expect(r3.updated.map((u) => u.address)).toEqual(["10.0.0.2"]);
    await eventually(async () => (await bird.routes("ipv4")).length === 0, {
      what: "BIRD to lose every route from tabby",
    });

    // 4. A changed MD5 key resets only that peer; with the wrong key FRR stays out, BIRD stays up.
    const r4 = await tabby.reconfigure({
      ...narrowerStill,
      peers: [narrowerStill.peers[0]!, { ...frrPeer, password: "other" }],
    });
    expect(r4.reset).toEqual([{ address: "10.0.0.3", changed: ["password"] }]);
    expect(tabby.peerStatus().find((p) => p.address === "10.0.0.3")?.state).not.toBe("Established");
    expect(since(tabby, "10.0.0.2")).toBe(birdSince);

    // 5. The peer removed: Cease to it, nothing else.
    const r5 = await tabby.reconfigure({ ...narrowerStill, peers: [narrowerStill.peers[0]!] });
    expect(r5).toMatchObject({ removed: ["10.0.0.3"], added: [], reset: [] });
    expect(tabby.peerStatus().map((p) => p.address)).toEqual(["10.0.0.2"]);
    expect(flaps(tabby)).toEqual({ "10.0.0.2": 0 });
    const birdView = (await bird.sessions()).find((s) => s.neighbor === "10.0.0.1");
    expect(birdView?.state).toBe("Established");
    expect(since(tabby, "10.0.0.2")).toBe(birdSince);
  });
});
