/**
 * The local control plane of a running speaker (design.md: status on a unix socket readable by root
 * only): HTTP over a unix socket so that `tabby bgp peers`, `tabby bgp rib` and `curl --unix-socket`
 * read the same JSON. GET /peers, GET /rib?family=ipv4|ipv6[&prefix=P], GET /summary. A stale socket
 * file left by a killed process is replaced; a live one is refused (two speakers, one socket).
 */

import { createServer, request, type Server } from "node:http";
import type { Speaker } from "../../bgp/speaker/speaker.js";
import { TabbyError } from "../util/errors.js";
import { listenUnix } from "../util/unix-socket.js";

export interface StatusServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function serveStatus(speaker: Speaker, path: string, startedAt: number): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body)}\n`);
    };
    try {
      if (req.method !== "GET") return send(405, { error: "only GET" });
      switch (url.pathname) {
        case "/peers":
          return send(200, speaker.peerStatus());
        case "/rib": {
          const family = url.searchParams.get("family") ?? "ipv4";
          if (family !== "ipv4" && family !== "ipv6")
            return send(400, { error: "family must be ipv4 or ipv6" });
          const prefix = url.searchParams.get("prefix") ?? undefined;
          return send(200, speaker.ribEntries(family, prefix));
        }
        case "/summary":
          return send(200, {
            routerId: speaker.cfg.routerId,
            asn: speaker.cfg.asn,
            startedAt,
            routes: { ipv4: speaker.routeCount("ipv4"), ipv6: speaker.routeCount("ipv6") },
          });
        default:
          return send(404, { error: `no ${url.pathname}; try /peers, /rib, /summary` });
      }
    } catch (e) {
      return send(400, { error: (e as Error).message });
    }
  });
  const close = await listenUnix(
    server,
    path,
    0o600,
    () =>
      new TabbyError("STATUS_SOCKET_BUSY", "another speaker already serves this status socket", {
        file: path,
      }),
    () => server.closeAllConnections(),
  );
  return { path, close };
}

/** GET a JSON document from a speaker's status socket. */
export function statusGet<T>(path: string, resource: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: resource, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => {
        try {
          const parsed = JSON.parse(body) as T & { error?: string };
          if ((res.statusCode ?? 500) >= 400)
            reject(
              new TabbyError("STATUS_REQUEST", parsed.error ?? `HTTP ${res.statusCode}`, { file: path }),
            );
          else resolve(parsed);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        new TabbyError(
          "STATUS_UNREACHABLE",
          e.code === "ENOENT" || e.code === "ECONNREFUSED"
            ? "no speaker is running with this status socket (is `tabby bgp run` up?)"
            : e.message,
          { file: path },
        ),
      ),
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.end();
  });
}
