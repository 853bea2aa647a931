// Prefix limits against a real GoBGP: it announces more prefixes than tabby's limit, tabby sends Cease /
// Maximum Number of Prefixes Reached with the RFC 4486 §4 data (checked on the wire with tshark and in
// what GoBGP reports), drops the peer's routes, and connects again after restartAfterSeconds (real
// clock here, 2 s); with the peer back under the limit the session stays up.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { MessageFramer } from "../../../bgp/codec/framing.js";
import { decodeMessage } from "../../../bgp/codec/message.js";
import { extractDirections } from "../../golden/bgp/pcap-streams.js";
import { makeTempDir } from "../../harness/naming.js";
import { Gobgp } from "../../harness/peers/gobgp.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { pair, startTabby, waitEstablished } from "./lab.js";

const PREFIXES = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/25", "192.0.2.128/25", "100.64.0.0/24"];
const ONE_TOO_MANY = "100.64.1.0/24";

describeWith(["root", "iproute2", "gobgp", "tcpdump", "tshark"], "prefix limit with GoBGP", () => {
  it("over the limit: Cease/1 with AFI, SAFI and the limit on the wire, routes gone, back after the restart time", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const pcap = join(await makeTempDir(scope), "limit.pcap");
    const dump = a.spawn("tcpdump", ["-i", "eth0", "--immediate-mode", "-U", "-w", pcap, "tcp port 179"]);
    await eventually(() => existsSync(pcap) && statSync(pcap).size > 0, { what: "tcpdump to start" });
    const gobgp = await Gobgp.start(scope, b, {
      spec: {
        routerId: "10.0.0.2",
        as: 65002,
        neighbors: [{ address: "10.0.0.1", as: 65001, families: ["ipv4"] }],
        originate: [...PREFIXES, ONE_TOO_MANY],
      },
    });
    const tabby = await startTabby(scope, a, {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      peers: [
        {
          address: "10.0.0.2",
          asn: 65002,
          families: ["ipv4"],
          importPolicy: "ACCEPT_ALL",
          exportPolicy: "ACCEPT_ALL",
          maxPrefixes: { ipv4: { limit: 5, restartAfterSeconds: 2 } },
        },
      ],
    });
    const peer = () => tabby.peerStatus()[0]!;
    await eventually(() => (peer().prefixLimits?.[0]?.trips ?? 0) >= 1, {
      what: `the prefix limit to trip (state ${peer().state}, accepted ${peer().prefixes.ipv4.accepted})`,
      timeoutMs: 10_000,
    });
    // Right after the trip tabby rests: no routes from the peer, the reason in words.
    expect(peer().lastError).toMatch(
      /^NOTIFICATION sent: Cease \/ Maximum Number of Prefixes Reached \(prefix limit: 6 prefixes from the peer \(ipv4 unicast\), limit 5\)/,
    );
    expect(tabby.ribEntries("ipv4").filter((r) => r.from === "10.0.0.2")).toEqual([]);
    // GoBGP counts the NOTIFICATION and logs its code, subcode and data (base64 of 00 01 01 00 00 00 05).
    await eventually(
      async () => {
        const out = (await gobgp.gobgp("neighbor", "10.0.0.1", "-j")).stdout;
        const n = JSON.parse(out) as { state?: { messages?: { received?: { notification?: number } } } };
        return Number(n.state?.messages?.received?.notification ?? 0) >= 1;
      },
      { what: "GoBGP to count the NOTIFICATION", timeoutMs: 5_000 },
    );
    const received = readFileSync(gobgp.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"received notification"'))
      .map((l) => JSON.parse(l) as { Code: number; Subcode: number; Data: string; Key: string });
    expect(received[0]).toMatchObject({ Key: "10.0.0.1", Code: 6, Subcode: 1 });
    expect(Buffer.from(received[0]!.Data, "base64").toString("hex")).toBe("00010100000005");
    // Back under the limit at the peer: after the restart time tabby connects again and stays up.
    await gobgp.withdraw(ONE_TOO_MANY);
    await eventually(() => peer().state === "Established" && peer().prefixes.ipv4.accepted === 5, {
      what: `the session back with 5 prefixes (state ${peer().state}, last error ${peer().lastError})`,
      timeoutMs: 10_000,
    });
    await waitEstablished(tabby, "10.0.0.2");
    await gobgp.waitForSession("10.0.0.1");
    expect(peer().prefixLimits?.[0]).toMatchObject({ limit: 5, count: 5, state: "warning" });

    // On the wire, from tabby: header (length 28, type 3), Cease / 1, AFI 1, SAFI 1, limit 5.
    await dump.stop();
    const sent = (await extractDirections(pcap))
      .filter((d) => d.src === "10.0.0.1")
      .flatMap((d) => new MessageFramer(65535).push(d.bytes))
      .filter((m) => decodeMessage(m.bytes, { fourOctetAs: true }).type === "NOTIFICATION");
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(Buffer.from(sent[0]!.bytes).toString("hex")).toBe(
      `${"ff".repeat(16)}001c030601000101${"00000005"}`,
    );
  });
});
