// BGP roles and Only to Customer (RFC 9234) against BIRD 2.0.12 (`local role`, `require roles`):
// tabby is a customer of two providers and a provider of one customer, all in one BIRD daemon (one
// protocol per address). A provider's route must reach the customer with OTC and never the other
// provider; tabby's own route reaches the customer with OTC = tabby's AS; a role mismatch and a
// missing role under strict mode are refused with OPEN Message Error / Role Mismatch.
import { expect, it } from "vitest";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

// BIRD runs one protocol per neighbor address, so tabby has one address per session as well.
const tabbyIp = (birdIp: string) => (birdIp === "10.0.0.2" ? "10.0.0.1" : birdIp.replace(/\.(\d+)$/, ".1$1"));

const bgp = (name: string, ip: string, asn: number, role: string | undefined, exp: string) => `
protocol bgp ${name} {
  local ${ip} as ${asn};
  neighbor ${tabbyIp(ip)} as 65001;
  ${role !== undefined ? `local role ${role};` : ""}
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export ${exp}; };
}`;

const BIRD = `router id 10.0.0.2;
log stderr all;
protocol device { }
protocol static s1 { ipv4; route 203.0.113.0/24 blackhole; }
${bgp("p1", "10.0.0.2", 65002, "provider", 'where proto = "s1"')}
${bgp("p2", "10.0.0.3", 65003, "provider", "none")}
${bgp("c4", "10.0.0.4", 65004, "customer", "none")}
${bgp("x5", "10.0.0.5", 65005, undefined, "none")}
${bgp("m6", "10.0.0.6", 65006, "customer", "none")}
`;

const peerOf = (address: string, asn: number, role: "customer" | "provider" | "peer", strict = false) => ({
  address,
  asn,
  role,
  ...(strict ? { roleStrict: true } : {}),
  localAddress: tabbyIp(address),
  importPolicy: "ACCEPT_ALL",
  exportPolicy: "ACCEPT_ALL",
  families: ["ipv4" as const],
  connectRetrySec: 1,
});

describeWith(["root", "iproute2", "bird"], "BGP roles (RFC 9234) with BIRD", () => {
  it("OTC keeps a provider's route from the other provider, marks what goes to the customer, and mismatches are refused", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    await b.addAddress("eth0", "10.0.0.3/24", "10.0.0.4/24", "10.0.0.5/24", "10.0.0.6/24");
    await a.addAddress("eth0", "10.0.0.13/24", "10.0.0.14/24", "10.0.0.15/24", "10.0.0.16/24");
    const bird = await Bird.start(scope, b, { config: BIRD });
    const tabby = await startTabby(scope, a, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      peers: [
        peerOf("10.0.0.2", 65002, "customer"), // we are p1's customer
        peerOf("10.0.0.3", 65003, "customer"), // and p2's
        peerOf("10.0.0.4", 65004, "provider"), // c4 is our customer
        peerOf("10.0.0.5", 65005, "peer", true), // x5 announces no role: refused (strict)
        peerOf("10.0.0.6", 65006, "customer"), // m6 says customer too: mismatch
      ],
      originate: [{ prefix: "192.0.2.0/24" }],
    });
    for (const p of ["10.0.0.2", "10.0.0.3", "10.0.0.4"])
      await waitEstablished(tabby, p).catch(async (e) => {
        throw new Error(`${(e as Error).message}\n${await bird.birdc("show", "protocols", "all")}`);
      });

    // Ingress: the provider's route is stored with OTC = the provider's AS.
    const fromP1 = await waitTabbyRoute(tabby, "203.0.113.0/24");
    expect(fromP1).toMatchObject({ asPath: "65002" });
    // To the customer: the provider's route with its OTC, our own with OTC = 65001.
    const atC4 = await eventually(
      async () => {
        const text = await bird.birdc("show", "route", "all", "protocol", "c4");
        return text.includes("203.0.113.0/24") && text.includes("192.0.2.0/24") ? text : false;
      },
      { what: "BIRD's c4 to receive both routes from tabby", timeoutMs: 15_000 },
    );
    const block = (prefix: string) => atC4.slice(atC4.indexOf(prefix)).split(/\n(?=\S)/)[0]!;
    expect(block("203.0.113.0/24")).toMatch(/BGP\.otc: 65002/);
    expect(block("192.0.2.0/24")).toMatch(/BGP\.otc: 65001/);
    // Egress: nothing with OTC goes to a provider: p2 gets our own route only, without OTC.
    const atP2 = await eventually(
      async () => {
        const text = await bird.birdc("show", "route", "all", "protocol", "p2");
        return text.includes("192.0.2.0/24") ? text : false;
      },
      { what: "BIRD's p2 to receive tabby's own route", timeoutMs: 15_000 },
    );
    expect(atP2).not.toContain("203.0.113.0/24");
    expect(atP2).not.toMatch(/BGP\.otc/);
    const p2 = tabby.peerStatus().find((p) => p.address === "10.0.0.3")!;
    expect(p2.prefixes.ipv4?.advertised).toBe(1);

    // Mismatches: never Established, and the reason is Role Mismatch.
    for (const [address, why] of [
      ["10.0.0.5", /Role Mismatch/],
      ["10.0.0.6", /Role Mismatch/],
    ] as const) {
      await eventually(
        () => {
          const s = tabby.peerStatus().find((p) => p.address === address)!;
          return s.state !== "Established" && why.test(s.lastError ?? "") ? s : false;
        },
        { what: `tabby to refuse ${address} with Role Mismatch`, timeoutMs: 15_000 },
      );
    }
    expect(await bird.birdc("show", "protocols", "all", "m6")).toMatch(/Role mismatch/i);
  }, 60_000);
});
