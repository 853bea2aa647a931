/**
 * The benchmark feeder: a minimal BGP speaker built on tabby's codec that opens one eBGP session
 * (active, to PEER:179), waits for Established, then writes a pre-encoded UPDATE stream file as fast as
 * the socket takes it, followed by End-of-RIB, and keeps the session alive until killed. It prints JSON
 * lines on stdout: {"event":"established","t":<epoch ms>} and {"event":"sent","t":...,"bytes":...}.
 * Run inside a network namespace (ns.spawnNode). Usage: feeder.ts PEER LOCAL_AS PEER_AS ROUTER_ID STREAM
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { MessageFramer } from "../bgp/codec/framing.js";
import { decodeMessage, encodeKeepalive } from "../bgp/codec/message.js";
import { encodeEndOfRib } from "../bgp/codec/update-pack.js";
import { benchOpen } from "./bench-open.js";

const [peer, localAs, , routerId, streamFile] = process.argv.slice(2);
if (!peer || !localAs || !routerId || !streamFile) {
  process.stderr.write("usage: feeder.ts PEER LOCAL_AS PEER_AS ROUTER_ID STREAM\n");
  process.exit(2);
}
const stream = readFileSync(streamFile);
const as = Number(localAs);
const emit = (o: object) => process.stdout.write(`${JSON.stringify({ ...o, t: Date.now() })}\n`);

const sock = connect({
  host: peer,
  port: 179,
  ...(process.env.FEEDER_LOCAL ? { localAddress: process.env.FEEDER_LOCAL } : {}),
});
sock.setNoDelay(true);
const framer = new MessageFramer();
let established = false;

sock.on("connect", () => {
  sock.write(benchOpen(as, routerId, { ipv6: true }));
});

sock.on("data", (chunk: Buffer) => {
  for (const m of framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
    const msg = decodeMessage(m.bytes, { fourOctetAs: true });
    if (msg.type === "OPEN") sock.write(encodeKeepalive());
    if (msg.type === "NOTIFICATION") {
      emit({ event: "notification", code: msg.code, subcode: msg.subcode });
      process.exit(1);
    }
    if (msg.type === "KEEPALIVE" && !established) {
      established = true;
      emit({ event: "established" });
      emit({ event: "first-update" });
      sock.write(stream, () => {
        // IPv4 only: an End-of-RIB for a family the session did not negotiate resets it on GoBGP.
        sock.write(encodeEndOfRib(1));
        emit({ event: "sent", bytes: stream.length });
      });
      setInterval(() => sock.write(encodeKeepalive()), 30_000);
    }
  }
  if (framer.error) {
    emit({ event: "error", message: framer.error.message });
    process.exit(1);
  }
});
sock.on("error", (e) => {
  emit({ event: "error", message: e.message });
  process.exit(1);
});
