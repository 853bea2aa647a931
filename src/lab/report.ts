/**
 * What the lab prints: the ping matrix (every pod to every other pod) and the node summary of
 * `tabby lab status`. Pure text from plain data.
 */

export interface PodAddress {
  readonly name: string;
  readonly node: string;
  readonly ip: string;
}

/** `from -> to` keys; true when the ping was answered. */
export type PingResults = ReadonlyMap<string, boolean>;

export const pingKey = (from: string, to: string): string => `${from} -> ${to}`;

export function pingsAnswered(
  pods: readonly PodAddress[],
  results: PingResults,
): { ok: number; total: number } {
  let ok = 0;
  let total = 0;
  for (const a of pods)
    for (const b of pods) {
      if (a.name === b.name) continue;
      total++;
      if (results.get(pingKey(a.name, b.name)) === true) ok++;
    }
  return { ok, total };
}

/** A table with one row per pod: `ok` where the row's pod reached the column's, `FAIL` where not. */
export function renderPingMatrix(pods: readonly PodAddress[], results: PingResults): string {
  const head = ["from \\ to", ...pods.map((p) => p.name)];
  const rows = pods.map((a) => [
    `${a.name} (${a.ip})`,
    ...pods.map((b) => (a.name === b.name ? "-" : results.get(pingKey(a.name, b.name)) ? "ok" : "FAIL")),
  ]);
  const table = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  const lines = table.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
  const { ok, total } = pingsAnswered(pods, results);
  return `${lines.join("\n")}\n${ok}/${total} pings answered\n`;
}

export interface NodeSummary {
  readonly name: string;
  readonly ip: string;
  /** "ready", "starting", or why the agent cannot be read ("not running"). */
  readonly agent: string;
  readonly sessions: readonly { readonly name: string; readonly state: string; readonly info?: string }[];
  readonly pods: readonly string[];
}

export function renderNodeSummary(nodes: readonly NodeSummary[]): string {
  const rows = [["NODE", "ADDRESS", "AGENT", "BGP", "PODS"]];
  const details: string[] = [];
  for (const n of nodes) {
    const up = n.sessions.filter((s) => s.state === "Established").length;
    rows.push([
      n.name,
      n.ip,
      n.agent,
      n.sessions.length === 0 ? "-" : `${up}/${n.sessions.length} Established`,
      n.pods.join(" "),
    ]);
    for (const s of n.sessions)
      if (s.state !== "Established")
        details.push(`  ${n.name} ${s.name}: ${s.state}${s.info ? ` (${s.info})` : ""}`);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const text = rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
  return `${text}\n${details.length > 0 ? `sessions not up:\n${details.join("\n")}\n` : ""}`;
}
