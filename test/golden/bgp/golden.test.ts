/**
 * Golden captures of real BIRD 2 / FRR / GoBGP sessions (capture.mts made them; see CAPTURED.txt):
 * every message of every direction decodes without error under the context both OPENs negotiate,
 * agrees field by field with Wireshark's dissector (tshark), and re-encodes to the identical bytes,
 * also through the JSON view that `tabby bgp decode` / `encode` use.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { MAX_EXTENDED_MESSAGE_LEN } from "../../../bgp/codec/constants.js";
import { MessageFramer } from "../../../bgp/codec/framing.js";
import { messageFromJson, messageToJson } from "../../../bgp/codec/json.js";
import {
  type CodecContext,
  decodeMessage,
  encodeMessage,
  INITIAL_CONTEXT,
} from "../../../bgp/codec/message.js";
import type { OpenMessage } from "../../../bgp/codec/open.js";
import { contextFromOpens } from "../../../bgp/codec/session-context.js";
import { run } from "../../harness/exec.js";
import { describeWith } from "../../harness/requirements.js";
import { type Direction, extractDirections, reverseOf } from "./pcap-streams.js";
import { type Fields, tabbyFields, tsharkFields } from "./tshark-fields.js";

const here = new URL(".", import.meta.url).pathname;
const pcaps = readdirSync(here).filter((f) => f.endsWith(".pcap"));

interface Decoded {
  bytes: Uint8Array;
  ctx: CodecContext;
  msg: ReturnType<typeof decodeMessage>;
}

function decodeDirection(d: Direction, peer: Direction | undefined): Decoded[] {
  const framer = new MessageFramer(MAX_EXTENDED_MESSAGE_LEN);
  const framed = framer.push(d.bytes);
  expect(framer.error).toBeUndefined();
  expect(framer.pendingBytes).toBe(0);
  const peerOpen = peer ? firstOpen(peer.bytes) : undefined;
  let ctx: CodecContext = INITIAL_CONTEXT;
  return framed.map((f) => {
    const msg = decodeMessage(f.bytes, ctx);
    const out = { bytes: f.bytes, ctx, msg };
    if (msg.type === "OPEN") ctx = contextFromOpens(msg, peerOpen ?? msg);
    return out;
  });
}

function firstOpen(bytes: Uint8Array): OpenMessage | undefined {
  const first = new MessageFramer(MAX_EXTENDED_MESSAGE_LEN).push(bytes)[0];
  const msg = first && decodeMessage(first.bytes);
  return msg?.type === "OPEN" ? msg : undefined;
}

async function tsharkMessages(pcap: string): Promise<Map<string, unknown[]>> {
  const r = await run("tshark", [
    "-r",
    pcap,
    "-Y",
    "bgp",
    "-T",
    "json",
    "-J",
    "bgp ip ipv6 tcp",
    "--no-duplicate-keys",
  ]);
  const packets = JSON.parse(r.stdout) as { _source: { layers: Record<string, unknown> } }[];
  const byDir = new Map<string, unknown[]>();
  for (const p of packets) {
    const l = p._source.layers as Record<string, Record<string, string>>;
    const src = l.ip?.["ip.src"] ?? l.ipv6?.["ipv6.src"];
    const key = `${src}|${l.tcp?.["tcp.srcport"]}`;
    const bgp = l.bgp as unknown;
    const msgs = Array.isArray(bgp) ? bgp : [bgp];
    byDir.set(key, [...(byDir.get(key) ?? []), ...msgs]);
  }
  return byDir;
}

const asObject = (f: Fields) => Object.fromEntries([...f.entries()].sort(([a], [b]) => a.localeCompare(b)));

describeWith(["tshark"], "golden BGP captures from BIRD, FRR and GoBGP", () => {
  it("has captures to check", () => {
    expect(pcaps).toEqual(
      expect.arrayContaining(["bird-frr.pcap", "bird-gobgp.pcap", "as2-as4.pcap", "route-reflector.pcap"]),
    );
  });

  for (const pcap of pcaps) {
    it(`${pcap}: decodes every message, matches tshark field by field, re-encodes byte for byte`, async () => {
      const file = join(here, pcap);
      const dirs = await extractDirections(file);
      const shark = await tsharkMessages(file);
      expect(dirs.length).toBeGreaterThanOrEqual(2);
      let compared = 0;
      for (const d of dirs) {
        const decoded = decodeDirection(d, reverseOf(dirs, d));
        const theirs = shark.get(`${d.src}|${d.srcPort}`) ?? [];
        expect(decoded.length).toBe(theirs.length);
        decoded.forEach((x, i) => {
          const where = `${pcap} ${d.src}:${d.srcPort} message ${i}`;
          expect(asObject(tabbyFields(x.msg, x.bytes.length, x.ctx)), where).toEqual(
            asObject(tsharkFields(theirs[i])),
          );
          // Byte-exact re-encoding, directly and through the JSON view.
          expect(
            Buffer.from(encodeMessage(x.msg, { ...x.ctx, maxMessageLen: MAX_EXTENDED_MESSAGE_LEN })).equals(
              Buffer.from(x.bytes),
            ),
            where,
          ).toBe(true);
          const json = JSON.parse(JSON.stringify(messageToJson(x.msg, x.ctx)));
          const back = messageFromJson(json);
          expect(
            Buffer.from(
              encodeMessage(back.message, { ...back.ctx, maxMessageLen: MAX_EXTENDED_MESSAGE_LEN }),
            ).toString("hex"),
            where,
          ).toBe(Buffer.from(x.bytes).toString("hex"));
          if (x.msg.type === "UPDATE") {
            expect(x.msg.treatAsWithdraw, where).toBeUndefined();
            expect(x.msg.discarded, where).toBeUndefined();
          }
          compared++;
        });
      }
      expect(compared).toBeGreaterThanOrEqual(10);
    });
  }
});
