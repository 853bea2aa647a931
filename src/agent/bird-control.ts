/**
 * The agent's BIRD control sockets: `/var/run/calico/bird.ctl` for the IPv4 sessions and `bird6.ctl`
 * for the IPv6 ones, as calico-node's two BIRDs have them, answering BIRD's CLI protocol (bird-cli.ts)
 * so that `birdc -s`, `calicoctl node status`, readiness probes and the bird exporter work unchanged. A
 * banner on connect, then one reply per command line, for as long as the client keeps the connection.
 * Root-only (0660), like BIRD's. A line over 1 KiB is refused as BIRD refuses it (9000) and the
 * connection closed; a client that goes away mid-reply is simply dropped.
 */
import { createServer, type Socket } from "node:net";
import { TabbyError } from "../util/errors.js";
import { listenUnix } from "../util/unix-socket.js";
import { answer, type BirdView, banner, encodeReply } from "./bird-cli.js";

const MAX_LINE = 1024;

export interface BirdControl {
  close(): Promise<void>;
}

export async function serveBirdControl(
  path: string,
  view: () => BirdView,
  now: () => number = Date.now,
): Promise<BirdControl> {
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket);
    socket.on("close", () => clients.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.write(banner());
    let buffered = "";
    socket.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl).replace(/\r$/, "");
        buffered = buffered.slice(nl + 1);
        const reply = line.trim() === "" ? "" : answer(line, view(), now());
        if (reply !== "" && !socket.destroyed) socket.write(reply);
      }
      if (buffered.length > MAX_LINE) {
        socket.end(encodeReply([{ code: 9000, text: "Command too long" }]));
        buffered = "";
      }
    });
  });
  const close = await listenUnix(
    server,
    path,
    0o660,
    () =>
      new TabbyError(
        "BIRD_SOCKET_BUSY",
        "another process (a BIRD, or another agent) already serves this socket",
        {
          file: path,
        },
      ),
    () => {
      for (const c of clients) c.destroy();
    },
  );
  return { close };
}
