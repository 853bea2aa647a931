/**
 * BIRD's control-socket replies, as Calico's BIRD (1.6-based) writes them, computed from the agent's BGP
 * sessions, so that the tools that read calico-node's BIRD work against tabby unchanged: calicoctl's
 * `node status` (which requires the 1.6 header `name proto table state since info` exactly, keeps the
 * `BGP` rows named `Mesh_`, `Global_` or `Node_` and splits them on whitespace), Calico's readiness check
 * (`show protocols`, `show status`), the Prometheus bird exporter (`show protocols all`) and `birdc`.
 *
 * The wire format (BIRD's nest/cli.c): every line starts with a four-digit code followed by `-` when
 * the reply goes on or a space on its last line; a line continuing the code of the line before starts
 * with a single space instead. Codes used: 0001 banner, 2002/1002 protocol table, 1006 protocol
 * details, 1000/1011/0013 status, 0024 graceful restart, 1007 routes, 0000 end, 8003 no match, 9001
 * parse error. Times as BIRD 1.6's defaults: protocols and routes `%T` within 20 hours, else `%F`;
 * status `%F %T`; local time. Pure.
 *
 * Only the BGP sessions are listed (no kernel, device or direct protocols: the agent has none to show),
 * and `show protocols all` gives what the speaker knows (no per-update change statistics, no timers'
 * remaining time).
 */
import type { PeerStatus, RibPath } from "../../bgp/speaker/views.js";

export const BIRD_VERSION = "1.6.8-tabby";

export interface BirdView {
  readonly routerId: string | undefined;
  readonly bootedAt: number;
  readonly reconfiguredAt: number;
  /** Sessions whose graceful restart is in progress (End-of-RIB still awaited). */
  readonly gracefulRestartWaiting: number;
  readonly sessions: readonly PeerStatus[];
  routes(prefix?: string): readonly RibPath[];
}

/** One reply line: its code, or a continuation of the code before. */
type Line = { readonly code: number; readonly text: string };

/** The lines as BIRD sends them: `CODE-text`, ` text` for the same code again, `CODE text` last. */
export function encodeReply(lines: readonly Line[]): string {
  let out = "";
  let previous = -1;
  lines.forEach((l, i) => {
    const last = i === lines.length - 1;
    const code = String(l.code).padStart(4, "0");
    if (last) out += `${code} ${l.text}\n`;
    else if (l.code === previous) out += ` ${l.text}\n`;
    else out += `${code}-${l.text}\n`;
    previous = l.code;
  });
  return out;
}

export const banner = () => encodeReply([{ code: 1, text: `BIRD ${BIRD_VERSION} ready.` }]);

const pad2 = (n: number) => String(n).padStart(2, "0");
const localDate = (d: Date) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
const localTime = (d: Date) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;

/** BIRD 1.6's `timeformat protocol` default: `%T` if under 20 hours ago, else `%F`. */
export function protocolTime(at: number, now: number): string {
  const d = new Date(at);
  return now - at < 20 * 3600_000 ? localTime(d) : localDate(d);
}

const baseTime = (at: number) => `${localDate(new Date(at))} ${localTime(new Date(at))}`;

/** BIRD's protocol state: up, start (not established), down (administratively). */
export function protocolState(p: PeerStatus): "up" | "start" | "down" {
  if (p.state === "Established") return "up";
  return isAdminDown(p) ? "down" : "start";
}

const isAdminDown = (p: PeerStatus) => p.lastError === "administratively stopped";

/** BIRD's BGP state word: Passive for a passive session with nobody connected. */
export function bgpStateWord(p: PeerStatus): string {
  if (isAdminDown(p)) return "Down";
  if (p.passive && (p.state === "Idle" || p.state === "Active")) return "Passive";
  return p.state;
}

/**
 * The last error as BIRD classes it (`Socket: `, `Received: `, `BGP Error: `, `Error: `), with tabby's
 * words after the class: a script that looks for BIRD's prefixes still finds them, and the operator
 * reads why.
 */
export function birdError(p: PeerStatus): string {
  const e = p.lastError;
  if (e === undefined || e === "" || isAdminDown(p) || p.state === "Established") return "";
  const received = /^NOTIFICATION received: (.*)$/.exec(e);
  if (received !== null) return `Received: ${received[1]}`;
  const sent = /^NOTIFICATION sent: (.*)$/.exec(e);
  if (sent !== null) return `BGP Error: ${sent[1]}`;
  if (/^(connect|no answer|connection|bind|listen)|refused|unreachable|timed out|reset|closed/i.test(e))
    return `Socket: ${e}`;
  return `Error: ${e}`;
}

/** The INFO column: the BGP state padded to 14, then the error; for a down protocol only the error. */
export function protocolInfo(p: PeerStatus): string {
  const err = birdError(p);
  if (protocolState(p) === "down") return err;
  const gr = gracefulRestartWords(p);
  const tail = [err, gr].filter((x) => x !== "").join("; ");
  return `${bgpStateWord(p).padEnd(14)}${tail}`;
}

/**
 * Graceful restart in words: while a peer that restarts is away we keep its routes (stale), and once
 * it is back we keep them until its End-of-RIB says it has sent everything again.
 */
export function gracefulRestartWords(p: PeerStatus): string {
  if (p.stale <= 0) return "";
  const routes = `${p.stale} stale route${p.stale === 1 ? "" : "s"}`;
  if (p.state !== "Established") return `graceful restart: keeping ${routes} until the peer is back`;
  const waiting = p.families.filter((f) => !p.endOfRibReceived.includes(f));
  return waiting.length > 0
    ? `graceful restart: ${routes}, waiting for End-of-RIB (${waiting.join(", ")})`
    : "";
}

function row(p: PeerStatus, now: number): string {
  const c = (s: string, w: number) => s.padEnd(w);
  return `${c(p.name, 8)} ${c("BGP", 8)} ${c("master", 8)} ${c(protocolState(p), 5)}  ${c(protocolTime(p.since, now), 10)}  ${protocolInfo(p)}`;
}

/** A BIRD name pattern: `*` and `?` wildcards, as `show protocols "Mesh_*"`. */
function patternMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(name);
}

function details(p: PeerStatus): Line[] {
  const d = (text: string): Line => ({ code: 1006, text });
  const imported = p.prefixes.ipv4.accepted + p.prefixes.ipv6.accepted;
  const exported = p.prefixes.ipv4.advertised + p.prefixes.ipv6.advertised;
  const out: Line[] = [
    d("  Preference:     100"),
    d("  Input filter:   ACCEPT"),
    d("  Output filter:  (unnamed)"),
  ];
  if (protocolState(p) !== "down")
    out.push(d(`  Routes:         ${imported} imported, ${exported} exported, ${imported} preferred`));
  out.push(d(`  BGP state:          ${bgpStateWord(p)}`));
  out.push(d(`    Neighbor address: ${p.address}`));
  out.push(d(`    Neighbor AS:      ${p.asn}`));
  if (p.state === "Established") {
    if (p.routerId !== undefined) out.push(d(`    Neighbor ID:      ${p.routerId}`));
    const session = [p.type === "ibgp" ? "internal" : "external"];
    if (p.routeReflectorClient) session.push("route-reflector");
    session.push("AS4");
    out.push(d(`    Session:          ${session.join(" ")}`));
    if (p.holdTimeSec !== undefined) out.push(d(`    Hold time:        ${p.holdTimeSec}`));
    if (p.keepaliveSec !== undefined) out.push(d(`    Keepalive time:   ${p.keepaliveSec}`));
  }
  const err = birdError(p);
  if (err !== "") out.push(d(`    Last error:       ${err}`));
  out.push(d(""));
  return out;
}

/** `show protocols [all] ["PATTERN" | NAME]`. */
export function showProtocols(view: BirdView, now: number, all: boolean, pattern?: string): string {
  const sessions = view.sessions.filter((p) => pattern === undefined || patternMatches(pattern, p.name));
  // A pattern that matches nothing is BIRD's 8003. Without one, an agent with no session still answers
  // with the (empty) table: BIRD always has protocols to list, and calicoctl rejects 8003 there.
  if (sessions.length === 0 && pattern !== undefined)
    return encodeReply([{ code: 8003, text: "No protocols match" }]);
  const lines: Line[] = [{ code: 2002, text: "name     proto    table    state  since       info" }];
  for (const p of sessions) {
    lines.push({ code: 1002, text: row(p, now) });
    if (all) lines.push(...details(p));
  }
  lines.push({ code: 0, text: "" });
  return encodeReply(lines);
}

/** `show status`: version, router ID, times, graceful restart in progress, and the daemon's state. */
export function showStatus(view: BirdView, now: number): string {
  const lines: Line[] = [
    { code: 1000, text: `BIRD ${BIRD_VERSION}` },
    { code: 1011, text: `Router ID is ${view.routerId ?? "0.0.0.0"}` },
    { code: 1011, text: `Current server time is ${baseTime(now)}` },
    { code: 1011, text: `Last reboot on ${baseTime(view.bootedAt)}` },
    { code: 1011, text: `Last reconfiguration on ${baseTime(view.reconfiguredAt)}` },
  ];
  if (view.gracefulRestartWaiting > 0) {
    lines.push({ code: 24, text: "Graceful restart recovery in progress" });
    lines.push({ code: 24, text: `  Waiting for ${view.gracefulRestartWaiting} protocols to recover` });
  }
  lines.push({ code: 13, text: "Daemon is up and running" });
  return encodeReply(lines);
}

/** `show route [for PREFIX]`: one line per path, the prefix only on its first, `*` on the best. */
export function showRoute(view: BirdView, now: number, prefix?: string): string {
  const paths = view.routes(prefix);
  if (paths.length === 0 && prefix !== undefined)
    return encodeReply([{ code: 8001, text: "Network not in table" }]);
  const lines: Line[] = [];
  let last = "";
  for (const r of paths) {
    const session = view.sessions.find((p) => p.address === r.from);
    const name = r.fromName || session?.name || "static1";
    const since = session !== undefined ? protocolTime(session.since, now) : protocolTime(view.bootedAt, now);
    const lastAs = r.asPath
      .split(" ")
      .filter((x: string) => /^\d+$/.test(x))
      .at(-1);
    const origin = ({ igp: "i", egp: "e", incomplete: "?" } as const)[r.origin];
    const shown = r.prefix === last ? "" : r.prefix;
    last = r.prefix;
    lines.push({
      code: 1007,
      text: `${shown.padEnd(18)} via ${r.nextHop} [${name} ${since}]${r.best ? " *" : ""} (100) [${lastAs !== undefined ? `AS${lastAs}` : ""}${origin}]`,
    });
  }
  lines.push({ code: 0, text: "" });
  return encodeReply(lines);
}

/**
 * One command line, answered. Words may be abbreviated as birdc allows (`sh pro all`); a name may be
 * quoted as a pattern. Commands other than the show commands get BIRD's parse error.
 */
export function answer(line: string, view: BirdView, now: number): string {
  const words = line.trim().match(/"[^"]*"|\S+/g) ?? [];
  const is = (w: string | undefined, full: string) => w !== undefined && w.length > 0 && full.startsWith(w);
  const unquote = (w: string) => (w.startsWith('"') ? w.slice(1, -1) : w);
  if (words.length === 0) return "";
  if (is(words[0], "show")) {
    const [, what, ...rest] = words;
    if (is(what, "protocols")) {
      const all = rest[0] !== undefined && is(rest[0], "all");
      const target = all ? rest[1] : rest[0];
      return showProtocols(view, now, all, target === undefined ? undefined : unquote(target));
    }
    if (is(what, "status")) return showStatus(view, now);
    if (is(what, "route")) {
      const forAt = rest.findIndex((w) => w === "for");
      const first = rest[0];
      const prefix =
        forAt >= 0 ? rest[forAt + 1] : first !== undefined && /[.:]/.test(first) ? first : undefined;
      return showRoute(view, now, prefix);
    }
  }
  return encodeReply([{ code: 9001, text: `syntax error, unexpected ${words.at(-1) ?? "end"}` }]);
}
