/**
 * The mesh-scale benchmark's simulated nodes (bench/mesh.ts): one process holding N light iBGP
 * speakers built on tabby's codec. Speaker i dials PEER:179 from LOCAL_i (the addresses are already on
 * this namespace's interface), announces its one block with itself as next hop, sends End-of-RIB,
 * answers keepalives, and ignores what it is sent. Until its session is up it dials again every 0.5 s. Prints one JSON line per event on stdout:
 * {"event":"established","i":..} and {"event":"error","i":..,"message":..}.
 * Usage: mesh-sim.ts PEER AS ADDRESSES_FILE (lines: "<local address> <block CIDR>")
 */
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import type { PathAttribute } from "../bgp/codec/attributes.js";
import { MessageFramer } from "../bgp/codec/framing.js";
import { decodeMessage, encodeKeepalive } from "../bgp/codec/message.js";
import { prefixListFromStrings } from "../bgp/codec/prefix-list.js";
import { encodeEndOfRib, packAnnouncements } from "../bgp/codec/update-pack.js";
import { benchOpen } from "./bench-open.js";

const [peer, asText, file] = process.argv.slice(2);
if (!peer || !asText || !file) {
  process.stderr.write("usage: mesh-sim.ts PEER AS ADDRESSES_FILE\n");
  process.exit(2);
}
const as = Number(asText);
const emit = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

function speaker(i: number, local: string, block: string): void {
  const sock = connect({ host: peer!, port: 179, localAddress: local });
  sock.setNoDelay(true);
  const framer = new MessageFramer();
  let established = false;
  sock.on("connect", () => {
    sock.write(benchOpen(as, local));
  });
  sock.on("data", (chunk: Buffer) => {
    for (const m of framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
      const msg = decodeMessage(m.bytes, { fourOctetAs: true });
      if (msg.type === "OPEN") sock.write(encodeKeepalive());
      else if (msg.type === "NOTIFICATION") {
        emit({ event: "error", i, message: `NOTIFICATION ${msg.code}/${msg.subcode}` });
        sock.destroy();
      } else if (msg.type === "KEEPALIVE" && !established) {
        established = true;
        emit({ event: "established", i });
        const attrs: PathAttribute[] = [
          { kind: "origin", code: 1, flags: 0x40, origin: 0 },
          { kind: "as-path", code: 2, flags: 0x40, segments: [] },
          { kind: "next-hop", code: 3, flags: 0x40, nextHop: local },
          { kind: "local-pref", code: 5, flags: 0x40, localPref: 100 },
        ];
        for (const u of packAnnouncements(attrs, prefixListFromStrings(1, [block]), { fourOctetAs: true }))
          sock.write(u);
        sock.write(encodeEndOfRib(1));
        setInterval(() => sock.write(encodeKeepalive()), 30_000).unref();
      }
    }
    if (framer.error) {
      emit({ event: "error", i, message: framer.error.message });
      sock.destroy();
    }
  });
  sock.on("error", (e) => {
    if (established) emit({ event: "error", i, message: e.message });
  });
  // The agent may not listen yet: dial again, as a real node's BGP daemon keeps trying.
  sock.on("close", () => {
    if (!established) setTimeout(() => speaker(i, local, block), 500);
  });
}

readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .forEach((line, i) => {
    const [local, block] = line.trim().split(" ");
    speaker(i, local!, block!);
  });
