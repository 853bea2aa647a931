/**
 * The benchmark receiver: a minimal BGP speaker (tabby's codec) that opens one eBGP session from
 * LOCAL to PEER, counts the IPv4 prefixes announced to it, and prints JSON lines:
 * {"event":"established","t":...} and {"event":"done","t":...,"prefixes":N} when it has N.
 * Usage: receiver.ts PEER LOCAL LOCAL_AS ROUTER_ID N
 */
import { connect } from "node:net";
import { MessageFramer } from "../bgp/codec/framing.js";
import { decodeMessage, encodeKeepalive } from "../bgp/codec/message.js";
import { benchOpen } from "./bench-open.js";

const [peer, local, localAs, routerId, nText] = process.argv.slice(2);
if (!peer || !local || !localAs || !routerId || !nText) {
  process.stderr.write("usage: receiver.ts PEER LOCAL LOCAL_AS ROUTER_ID N\n");
  process.exit(2);
}
const want = Number(nText);
const as = Number(localAs);
const emit = (o: object) => process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`);
const framer = new MessageFramer(65535);
let established = false;
let count = 0;
let done = false;
const ctx = { fourOctetAs: true, maxMessageLen: 65535 };

const sock = connect({ host: peer, port: 179, localAddress: local });
sock.on("connect", () => {
  sock.write(benchOpen(as, routerId));
});
sock.on("data", (chunk: Buffer) => {
  for (const m of framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
    const type = m.bytes[18];
    if (type === 2) {
      // Count NLRI without building attribute objects: the NLRI field follows the attributes.
      const b = m.bytes;
      const wl = (b[19]! << 8) | b[20]!;
      const al = (b[21 + wl]! << 8) | b[22 + wl]!;
      let p = 23 + wl + al;
      while (p < b.length) {
        count++;
        p += 1 + ((b[p]! + 7) >> 3);
      }
      if (!done && count >= want) {
        done = true;
        emit({ event: "done", prefixes: count });
      }
      continue;
    }
    const msg = decodeMessage(m.bytes, ctx);
    if (msg.type === "OPEN") sock.write(encodeKeepalive());
    if (msg.type === "KEEPALIVE" && !established) {
      established = true;
      emit({ event: "established" });
      setInterval(() => sock.write(encodeKeepalive()), 30_000);
    }
    if (msg.type === "NOTIFICATION") {
      emit({ event: "notification", code: msg.code, subcode: msg.subcode });
      process.exit(1);
    }
  }
});
sock.on("error", (e) => {
  emit({ event: "error", message: e.message });
  process.exit(1);
});
