/**
 * `tabby bgp peers` and `tabby bgp rib [PREFIX]`: read a running speaker's status socket and print
 * tables an operator can scan (state, how long, prefixes, the last error in words), or JSON with `-o json`.
 */
import { parseArgs } from "node:util";
import type { PeerStatus, RibPath } from "../../bgp/speaker/speaker.js";
import { DEFAULT_STATUS_SOCKET } from "../bgp/speaker-file.js";
import { statusGet } from "../bgp/status-server.js";
import { isTabbyError } from "../util/errors.js";
import type { CliIo } from "./io.js";

export const peersUsage = `Usage: tabby bgp peers [--socket PATH] [-o table|json]

Shows the sessions of a running "tabby bgp run" (default socket ${DEFAULT_STATUS_SOCKET}).
`;
export const ribUsage = `Usage: tabby bgp rib [PREFIX] [--family ipv4|ipv6] [--socket PATH] [-o table|json]

Shows the Loc-RIB of a running "tabby bgp run": every path, best first ("*").
`;

/** "3d04h", "02:05:13", as BIRD and FRR print session ages. */
export function formatSince(sinceMs: number, nowMs: number): string {
  const s = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return d > 0 ? `${d}d${p2(h)}h${p2(m)}m` : `${p2(h)}:${p2(m)}:${p2(sec)}`;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

export function renderPeers(peers: readonly PeerStatus[], now: number): string {
  const rows = peers.map((p) => {
    const sum = (k: "received" | "accepted" | "advertised") =>
      String(p.prefixes.ipv4[k] + p.prefixes.ipv6[k]);
    return [
      p.name,
      p.address,
      String(p.asn),
      p.type,
      p.state,
      formatSince(p.since, now),
      sum("received"),
      sum("accepted"),
      sum("advertised"),
      p.state === "Established"
        ? [p.stale > 0 ? `${p.stale} stale routes kept (graceful restart)` : "", p.prefixLimit ?? ""]
            .filter((x) => x !== "")
            .join("; ")
        : (p.lastError ?? ""),
    ];
  });
  return table(
    ["PEER", "ADDRESS", "AS", "TYPE", "STATE", "SINCE", "RECEIVED", "ACCEPTED", "ADVERTISED", "LAST ERROR"],
    rows,
  );
}

export function renderRib(paths: readonly RibPath[]): string {
  const rows = paths.map((p) => [
    p.best ? "*" : "",
    p.prefix,
    p.nextHop,
    p.fromName === p.from || p.from === "local" ? p.from : `${p.fromName} (${p.from})`,
    p.asPath === "" ? "-" : p.asPath,
    p.origin,
    p.localPref !== undefined ? String(p.localPref) : "",
    p.med !== undefined ? String(p.med) : "",
    [...p.communities, ...p.largeCommunities].join(" ") + (p.stale ? " (stale)" : ""),
  ]);
  return table(["", "PREFIX", "NEXT HOP", "FROM", "AS PATH", "ORIGIN", "LOCPRF", "MED", "COMMUNITIES"], rows);
}

async function fetchOrFail<T>(io: CliIo, socket: string, resource: string, cmd: string): Promise<T | number> {
  try {
    return await statusGet<T>(socket, resource);
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabby bgp ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

export async function runPeers(argv: readonly string[], io: CliIo, now = Date.now()): Promise<number> {
  let values: { socket?: string; output?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        socket: { type: "string" },
        output: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
      },
    }));
    if (values.output !== undefined && values.output !== "json" && values.output !== "table")
      throw new Error("-o must be table or json");
  } catch (e) {
    io.stderr(`tabby bgp peers: ${(e as Error).message}\n\n${peersUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(peersUsage);
    return 0;
  }
  const peers = await fetchOrFail<PeerStatus[]>(
    io,
    values.socket ?? DEFAULT_STATUS_SOCKET,
    "/peers",
    "peers",
  );
  if (typeof peers === "number") return peers;
  io.stdout(values.output === "json" ? `${JSON.stringify(peers, null, 2)}\n` : renderPeers(peers, now));
  return 0;
}

export async function runRib(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { socket?: string; output?: string; family?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        socket: { type: "string" },
        output: { type: "string", short: "o" },
        family: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
    if (values.output !== undefined && values.output !== "json" && values.output !== "table")
      throw new Error("-o must be table or json");
    if (positionals.length > 1) throw new Error("at most one PREFIX");
  } catch (e) {
    io.stderr(`tabby bgp rib: ${(e as Error).message}\n\n${ribUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(ribUsage);
    return 0;
  }
  const prefix = positionals[0];
  const family = values.family ?? (prefix?.includes(":") ? "ipv6" : "ipv4");
  const q = `/rib?family=${family}${prefix ? `&prefix=${encodeURIComponent(prefix)}` : ""}`;
  const paths = await fetchOrFail<RibPath[]>(io, values.socket ?? DEFAULT_STATUS_SOCKET, q, "rib");
  if (typeof paths === "number") return paths;
  io.stdout(values.output === "json" ? `${JSON.stringify(paths, null, 2)}\n` : renderRib(paths));
  return 0;
}
