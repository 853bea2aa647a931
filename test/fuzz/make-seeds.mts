// Writes test/fuzz/seeds.jsonl: every message of the golden captures (test/golden/bgp/*.pcap) with the
// codec context it was sent under, as the fuzzer's starting corpus. Needs tshark. Run:
//   node --import tsx test/fuzz/make-seeds.mts
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAX_EXTENDED_MESSAGE_LEN } from "../../bgp/codec/constants.js";
import { MessageFramer } from "../../bgp/codec/framing.js";
import { type CodecContext, decodeMessage, INITIAL_CONTEXT } from "../../bgp/codec/message.js";
import type { OpenMessage } from "../../bgp/codec/open.js";
import { contextFromOpens } from "../../bgp/codec/session-context.js";
import { extractDirections, reverseOf } from "../golden/bgp/pcap-streams.js";

const golden = new URL("../golden/bgp/", import.meta.url).pathname;
const lines: string[] = [];
for (const pcap of readdirSync(golden).filter((f) => f.endsWith(".pcap"))) {
  const dirs = await extractDirections(join(golden, pcap));
  for (const d of dirs) {
    const peer = reverseOf(dirs, d);
    const first = peer && new MessageFramer(MAX_EXTENDED_MESSAGE_LEN).push(peer.bytes)[0];
    const p = first && decodeMessage(first.bytes);
    const peerOpen = p?.type === "OPEN" ? (p as OpenMessage) : undefined;
    let ctx: CodecContext = INITIAL_CONTEXT;
    for (const m of new MessageFramer(MAX_EXTENDED_MESSAGE_LEN).push(d.bytes)) {
      lines.push(JSON.stringify({ ctx, hex: Buffer.from(m.bytes).toString("hex") }));
      const msg = decodeMessage(m.bytes, ctx);
      if (msg.type === "OPEN") ctx = contextFromOpens(msg, peerOpen ?? msg);
    }
  }
}
writeFileSync(new URL("./seeds.jsonl", import.meta.url), `${lines.join("\n")}\n`);
console.log(`${lines.length} seed messages`);
