// 4-octet AS with a 2-octet peer (RFC 6793: AS_TRANS and AS4_PATH, with FRR), route refresh in both
// directions (RFC 2918 / RFC 7313) and the Prometheus metrics of a live session (with BIRD).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { MessageFramer } from "../../../bgp/codec/framing.js";
import { decodeMessage } from "../../../bgp/codec/message.js";
import { speakerRegistry } from "../../../src/bgp/metrics.js";
import { extractDirections } from "../../golden/bgp/pcap-streams.js";
import { makeTempDir } from "../../harness/naming.js";
import { Bird } from "../../harness/peers/bird.js";
import { Frr } from "../../harness/peers/frr.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { pair, startTabby, waitEstablished, waitTabbyRoute } from "./lab.js";

const ACCEPT = { importPolicy: "ACCEPT_ALL", exportPolicy: "ACCEPT_ALL" } as const;

describeWith(
  ["root", "iproute2", "bird", "frr", "tcpdump", "tshark"],
  "tabby with 2-octet peers, route refresh, metrics",
  () => {
    it("a 4-octet tabby and a 2-octet FRR: the session comes up, AS_TRANS plus AS4_PATH go out, FRR's routes come in", async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      // FRR without capabilities towards us is a 2-octet ("OLD") speaker for this session.
      const pcap = join(await makeTempDir(scope), "as2.pcap");
      const dump = a.spawn("tcpdump", ["-i", "eth0", "--immediate-mode", "-U", "-w", pcap, "tcp port 179"]);
      await eventually(() => existsSync(pcap) && statSync(pcap).size > 0, { what: "tcpdump to start" });
      const captured = async () => {
        let last = -1;
        await eventually(
          () => {
            const size = statSync(pcap).size;
            const quiet = size === last;
            last = size;
            return quiet;
          },
          { what: "the capture to go quiet", intervalMs: 300 },
        );
        await dump.stop();
        const dirs = await extractDirections(pcap);
        const fromTabby = dirs.find((d) => d.src === "10.0.0.1")!;
        return new MessageFramer(4096)
          .push(fromTabby.bytes)
          .map((m) => decodeMessage(m.bytes, { fourOctetAs: false }));
      };
      const frr = await Frr.start(scope, b, {
        config: `frr defaults traditional
hostname old
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 4200000001
 neighbor 10.0.0.1 timers connect 1
 neighbor 10.0.0.1 dont-capability-negotiate
 address-family ipv4 unicast
  network 203.0.113.0/24
 exit-address-family
`,
      });
      const tabby = await startTabby(scope, a, {
        routerId: "10.0.0.1",
        asn: 4200000001,
        listen: { address: "0.0.0.0" },
        peers: [{ address: "10.0.0.2", asn: 65002, families: ["ipv4"], ...ACCEPT }],
        originate: [{ prefix: "192.0.2.0/24" }],
      });
      await waitEstablished(tabby, "10.0.0.2");
      await frr.waitForRoute("ipv4", "192.0.2.0/24");
      expect(await waitTabbyRoute(tabby, "203.0.113.0/24")).toMatchObject({ asPath: "65002" });
      // On the wire (captured, decoded with our codec under the 2-octet context): AS_TRANS in AS_PATH,
      // the real AS in AS4_PATH. (FRR itself keeps showing 23456: having received our 4-octet capability
      // it does not merge AS4_PATH, even though it did not announce the capability itself.)
      const sent = await captured();
      const update = sent.find((m) => m.type === "UPDATE" && m.nlri.count > 0);
      expect(
        update?.type === "UPDATE" &&
          update.attributes.filter((x) => x.kind === "as-path" || x.kind === "as4-path"),
      ).toEqual([
        { kind: "as-path", code: 2, flags: 0x40, segments: [{ type: 2, asns: [23456] }] },
        { kind: "as4-path", code: 17, flags: 0xc0, segments: [{ type: 2, asns: [4200000001] }] },
      ]);
    });

    it("route refresh: BIRD's request gets the table again; ours makes BIRD resend", async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      const bird = await Bird.start(scope, b, {
        spec: {
          routerId: "10.0.0.2",
          as: 65002,
          neighbors: [{ address: "10.0.0.1", as: 65001 }],
          originate: ["203.0.113.0/24"],
        },
      });
      const tabby = await startTabby(scope, a, {
        routerId: "10.0.0.1",
        asn: 65001,
        listen: { address: "0.0.0.0" },
        peers: [{ address: "10.0.0.2", asn: 65002, families: ["ipv4"], ...ACCEPT }],
        originate: [{ prefix: "192.0.2.0/24" }],
      });
      await waitEstablished(tabby, "10.0.0.2");
      await bird.waitForRoute("ipv4", "192.0.2.0/24");
      await waitTabbyRoute(tabby, "203.0.113.0/24");
      const stats = () => tabby.peerStatus()[0]!.messages;
      const updatesSent = stats().sent.UPDATE!;
      await bird.birdc("reload", "in", "n0");
      await eventually(() => stats().received["ROUTE-REFRESH"]! >= 1 && stats().sent.UPDATE! > updatesSent, {
        what: "tabby to answer BIRD's ROUTE-REFRESH with its table",
      });
      // Enhanced route refresh: the answer is framed by BoRR and EoRR.
      expect(stats().sent["ROUTE-REFRESH"]).toBe(2);
      const updatesReceived = stats().received.UPDATE!;
      tabby.refreshIn("10.0.0.2");
      await eventually(() => stats().received.UPDATE! > updatesReceived, {
        what: "BIRD to resend after our ROUTE-REFRESH",
      });
      expect(stats().sent["ROUTE-REFRESH"]).toBe(3);
      expect(tabby.ribEntries("ipv4", "203.0.113.0/24")).toHaveLength(1);
    });

    it("Prometheus metrics describe the live session", async () => {
      const scope = testScope();
      const { a, b } = await pair(scope);
      await Bird.start(scope, b, {
        spec: {
          routerId: "10.0.0.2",
          as: 65002,
          neighbors: [{ address: "10.0.0.1", as: 65001 }],
          originate: ["203.0.113.0/24"],
        },
      });
      const tabby = await startTabby(scope, a, {
        routerId: "10.0.0.1",
        asn: 65001,
        listen: { address: "0.0.0.0" },
        peers: [{ address: "10.0.0.2", asn: 65002, families: ["ipv4"], ...ACCEPT }],
        originate: [{ prefix: "192.0.2.0/24" }],
      });
      await waitEstablished(tabby, "10.0.0.2");
      await waitTabbyRoute(tabby, "203.0.113.0/24");
      const text = await speakerRegistry(tabby).metrics();
      expect(text).toContain('tabby_bgp_sessions{state="Established"} 1');
      expect(text).toContain('tabby_bgp_session_up{peer="10.0.0.2",peer_as="65002"} 1');
      expect(text).toContain('tabby_bgp_prefixes{peer="10.0.0.2",family="ipv4",direction="accepted"} 1');
      expect(text).toContain('tabby_bgp_prefixes{peer="10.0.0.2",family="ipv4",direction="advertised"} 1');
      expect(text).toMatch(/tabby_bgp_messages_total\{peer="10\.0\.0\.2",direction="in",type="OPEN"\} 1/);
      expect(text).toContain('tabby_bgp_routes{family="ipv4"} 2');
    });
  },
);
