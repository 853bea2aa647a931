/**
 * The local control plane of a running speaker (design.md: status on a unix socket readable by root
 * only): HTTP over a unix socket so that `tabby bgp peers`, `tabby bgp rib` and `curl --unix-socket`
 * read the same JSON. GET /peers, GET /rib?family=ipv4|ipv6[&prefix=P], GET /summary, and POST /reload
 * (`tabby bgp reload`) when the process gives a reload function. A stale socket
 * file left by a killed process is replaced; a live one is refused (two speakers, one socket).
 */

import { createServer, request, type Server } from "node:http";
import type { ReconfigureResult, Speaker } from "../../bgp/speaker/speaker.js";
import { TabbyError } from "../util/errors.js";
import { listenUnix } from "../util/unix-socket.js";

export interface StatusServer {
  readonly path: string;
  close(): Promise<void>;
}

/** What POST /reload answers: what changed, or why the new file was refused (nothing changed then). */
export type ReloadAnswer =
  | { readonly ok: true; readonly result: ReconfigureResult }
  | { readonly ok: false; readonly error: string };

export async function serveStatus(
  speaker: Speaker,
  path: string,
  startedAt: number,
  reload?: () => Promise<ReloadAnswer>,
): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body)}\n`);
    };
    try {
      if (req.method === "POST" && url.pathname === "/reload" && reload !== undefined) {
        void reload().then(
          (a) => send(a.ok ? 200 : 422, a),
          (e: unknown) => send(500, { ok: false, error: (e as Error).message }),
        );
        return;
      }
      if (req.method !== "GET") return send(405, { error: "only GET (and POST /reload)" });
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

/** POST /reload to a speaker's status socket: its answer, also when it refused the file. */
export function statusReload(path: string): Promise<ReloadAnswer> {
  return statusGet<ReloadAnswer>(path, "/reload", "POST", true);
}

/** GET a JSON document from a speaker's status socket. */
export function statusGet<T>(path: string, resource: string, method = "GET", anyStatus = false): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, path: resource, method, timeout: 30_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => {
        try {
          const parsed = JSON.parse(body) as T & { error?: string };
          if ((res.statusCode ?? 500) >= 400 && !(anyStatus && (res.statusCode ?? 500) < 500))
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
