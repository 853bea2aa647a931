/**
 * Usage screens for commands whose features have not landed yet. A planned command prints the usage and
 * says plainly that it is not implemented, exiting 2, rather than pretending to work.
 */
import type { CliIo } from "./io.js";

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Set while the command is only planned; names the issue that brings it. */
  readonly pending?: string;
}

export function renderUsage(program: string, tagline: string, commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map(
    (c) =>
      `  ${c.name.padEnd(width)}  ${c.summary}${c.pending ? `  [not implemented yet: ${c.pending}]` : ""}`,
  );
  return `${tagline}\n\nUsage: ${program} <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nOptions:\n  -h, --help  show this help\n`;
}

/**
 * `--help`/`-h`/`help` print usage and succeed; no arguments or a known-but-pending command print usage
 * to stderr with a "not implemented" line and exit 2; an unknown command does the same with its name.
 */
export function dispatchPending(
  program: string,
  usage: string,
  commands: readonly CommandSpec[],
  argv: readonly string[],
  io: CliIo,
): number {
  const first = argv[0];
  if (first === "--help" || first === "-h" || first === "help") {
    io.stdout(usage);
    return 0;
  }
  if (first === undefined) {
    io.stderr(usage);
    return 2;
  }
  const words = argv.filter((a) => !a.startsWith("-"));
  const match = commands
    .map((c) => ({ c, words: commandWords(c) }))
    .filter((m) => m.words.every((w, i) => words[i] === w))
    .sort((a, b) => b.words.length - a.words.length)[0];
  if (match === undefined) {
    io.stderr(`${program}: unknown command ${JSON.stringify(first)}\n\n${usage}`);
    return 2;
  }
  io.stderr(
    `${program} ${match.words.join(" ")}: not implemented yet (${match.c.pending ?? "planned"})\n\n${usage}`,
  );
  return 2;
}

/** The literal words that select a command: "bgp run --config FILE" is selected by "bgp run". */
function commandWords(c: CommandSpec): string[] {
  const out: string[] = [];
  for (const w of c.name.split(" ")) {
    if (!/^[a-z][a-z-]*$/.test(w)) break;
    out.push(w);
  }
  return out;
}
