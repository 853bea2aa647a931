/**
 * `tabby bgp reload [--socket PATH]`: asks a running `tabby bgp run` to re-read its YAML (the same as
 * SIGHUP) and prints what changed: peers added, removed, reset (with the fields that made the reset
 * necessary) and updated in place. A file the speaker refuses is printed with its file, line and
 * field; nothing changed then, and the exit code is 1.
 */
import { parseArgs } from "node:util";
import type { ReconfigureResult } from "../../bgp/speaker/speaker.js";
import { DEFAULT_STATUS_SOCKET } from "../bgp/speaker-file.js";
import { statusReload } from "../bgp/status-server.js";
import type { CliIo } from "./io.js";

export const reloadUsage = `Usage: tabby bgp reload [--socket PATH]

Makes a running "tabby bgp run" re-read its configuration file (as SIGHUP does) and apply what
changed: only peers whose session parameters changed are reset; policy changes are re-exported or
refreshed in place. A file with errors changes nothing and is reported (exit 1).
`;

/** The reload's outcome in lines, one per peer that changed. */
export function renderReload(r: ReconfigureResult): string {
  const lines: string[] = [];
  for (const a of r.added) lines.push(`added    ${a}`);
  for (const a of r.removed) lines.push(`removed  ${a}`);
  for (const p of r.reset) lines.push(`reset    ${p.address} (${p.changed.join(", ")})`);
  for (const p of r.updated) lines.push(`updated  ${p.address} (${p.changed.join(", ")}), no reset`);
  if (r.originated > 0) lines.push(`originated ${r.originated} prefixes`);
  if (r.withdrawn > 0) lines.push(`withdrew ${r.withdrawn} originated prefixes`);
  if (lines.length === 0) lines.push("no changes");
  return `${lines.join("\n")}\n`;
}

export async function runReload(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { socket?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { socket: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (e) {
    io.stderr(`tabby bgp reload: ${(e as Error).message}\n\n${reloadUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(reloadUsage);
    return 0;
  }
  try {
    const a = await statusReload(values.socket ?? DEFAULT_STATUS_SOCKET);
    if (!a.ok) {
      io.stderr(`tabby bgp reload: the configuration was not changed: ${a.error}\n`);
      return 1;
    }
    io.stdout(renderReload(a.result));
    return 0;
  } catch (e) {
    io.stderr(`tabby bgp reload: ${(e as Error).message}\n`);
    return 1;
  }
}
