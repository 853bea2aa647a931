import { expect, it } from "vitest";
import { isAlive } from "../exec.js";
import { connectVeth, Netns } from "../netns.js";
import { describeWith } from "../requirements.js";
import { testScope } from "../scope.js";
import { Bird } from "./bird.js";
import { Frr } from "./frr.js";
import { Gobgp } from "./gobgp.js";

/** Two namespaces joined by a veth: a = 10.0.0.1 / fd00::1, b = 10.0.0.2 / fd00::2. */
async function pair(scope: ReturnType<typeof testScope>) {
  const a = await Netns.create(scope);
  const b = await Netns.create(scope);
  await connectVeth(
    { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
  );
  return { a, b };
}

describeWith(["root", "iproute2", "bird", "frr"], "peer harness: BIRD <-> FRR", () => {
  it("establishes eBGP over IPv4 and IPv6 and exchanges one prefix of each family both ways", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const bird = await Bird.start(scope, a, {
      spec: {
        routerId: "10.0.0.1",
        as: 65001,
        neighbors: [
          { address: "10.0.0.2", as: 65002, localAddress: "10.0.0.1" },
          { address: "fd00::2", as: 65002, localAddress: "fd00::1" },
        ],
        originate: ["192.0.2.0/24", "2001:db8:a::/48"],
      },
    });
    const frr = await Frr.start(scope, b, {
      spec: {
        routerId: "10.0.0.2",
        as: 65002,
        neighbors: [
          { address: "10.0.0.1", as: 65001 },
          { address: "fd00::1", as: 65001 },
        ],
        originate: ["203.0.113.0/24", "2001:db8:b::/48"],
      },
    });

    for (const n of ["10.0.0.2", "fd00::2"]) await bird.waitForSession(n);
    for (const n of ["10.0.0.1", "fd00::1"]) await frr.waitForSession(n);

    // FRR's prefixes in BIRD, with FRR as next hop and AS path.
    const v4 = await bird.waitForRoute("ipv4", "203.0.113.0/24");
    expect(v4).toMatchObject({ nextHop: "10.0.0.2", asPath: [65002], origin: "igp", from: "10.0.0.2" });
    const v6 = await bird.waitForRoute("ipv6", "2001:db8:b::/48");
    expect(v6).toMatchObject({ nextHop: "fd00::2", asPath: [65002], from: "fd00::2" });

    // BIRD's prefixes in FRR.
    expect(await frr.waitForRoute("ipv4", "192.0.2.0/24")).toMatchObject({
      nextHop: "10.0.0.1",
      asPath: [65001],
    });
    expect(await frr.waitForRoute("ipv6", "2001:db8:a::/48")).toMatchObject({ asPath: [65001] });

    // Per-neighbor views and counters agree.
    expect((await frr.received("10.0.0.1", "ipv4")).map((r) => r.prefix)).toEqual(["192.0.2.0/24"]);
    expect((await bird.advertised("10.0.0.2", "ipv4")).map((r) => r.prefix)).toContain("192.0.2.0/24");
    expect((await frr.advertised("10.0.0.1", "ipv4")).map((r) => r.prefix)).toContain("203.0.113.0/24");
    const s = (await bird.sessions()).find((x) => x.neighbor === "10.0.0.2");
    expect(s).toMatchObject({ remoteAs: 65002, state: "Established" });
    expect(s?.prefixes?.ipv4?.received).toBe(1);

    // Withdraw travels too.
    await frr.withdraw("203.0.113.0/24");
    await bird.waitForRoute("ipv4", "203.0.113.0/24", { gone: true });
    await bird.withdraw("2001:db8:a::/48");
    await frr.waitForRoute("ipv6", "2001:db8:a::/48", { gone: true });

    // Stopped by pid: the process is gone and FRR sees the session drop.
    const pid = bird.pid;
    await bird.stop();
    expect(isAlive(pid)).toBe(false);
    const after = await frr
      .waitForSession("10.0.0.1", { state: "Active" })
      .catch(() => frr.waitForSession("10.0.0.1", { state: "Connect" }));
    expect(after.state).not.toBe("Established");
  });
});

describeWith(["root", "iproute2", "bird", "gobgp"], "peer harness: BIRD <-> GoBGP", () => {
  it("establishes a session and GoBGP's routes with communities arrive in BIRD", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const bird = await Bird.start(scope, a, {
      spec: {
        routerId: "10.0.0.1",
        as: 65001,
        neighbors: [{ address: "10.0.0.2", as: 65002 }],
        originate: ["192.0.2.0/24"],
      },
    });
    const gobgp = await Gobgp.start(scope, b, {
      spec: { routerId: "10.0.0.2", as: 65002, neighbors: [{ address: "10.0.0.1", as: 65001 }] },
    });
    await gobgp.waitForSession("10.0.0.1");
    await bird.waitForSession("10.0.0.2");
    await gobgp.announce("198.51.100.0/24", [
      "community",
      "65000:100",
      "large-community",
      "65000:1:2",
      "med",
      "7",
    ]);
    const r = await bird.waitForRoute("ipv4", "198.51.100.0/24");
    expect(r).toMatchObject({
      nextHop: "10.0.0.2",
      asPath: [65002],
      med: 7,
      communities: ["65000:100"],
      largeCommunities: ["65000:1:2"],
    });
    const learned = await gobgp.waitForRoute("ipv4", "192.0.2.0/24");
    expect(learned).toMatchObject({ nextHop: "10.0.0.1", asPath: [65001], from: "10.0.0.1" });
    expect((await gobgp.received("10.0.0.1", "ipv4")).map((x) => x.prefix)).toEqual(["192.0.2.0/24"]);
    expect((await gobgp.advertised("10.0.0.1", "ipv4")).map((x) => x.prefix)).toContain("198.51.100.0/24");
  });
});
