/**
 * Command-line parsing for tabbyctl's resource commands, with calicoctl's flags: `-f/--filename FILE|-`,
 * `-o/--output ps|wide|yaml|json`, `-n/--namespace NS`, `-A/--all-namespaces`, `--skip-exists`,
 * `--skip-not-exists`; `-x VALUE`, `-xVALUE`, `--long VALUE` and `--long=VALUE` forms. Pure.
 */

export interface CtlArgs {
  readonly words: string[];
  readonly filename?: string;
  readonly output?: string;
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly skipExists: boolean;
  readonly skipNotExists: boolean;
  readonly help: boolean;
}

const WITH_VALUE: Record<string, "filename" | "output" | "namespace"> = {
  "-f": "filename",
  "--filename": "filename",
  "-o": "output",
  "--output": "output",
  "-n": "namespace",
  "--namespace": "namespace",
};

export function parseCtlArgs(argv: readonly string[]): CtlArgs | { readonly error: string } {
  const words: string[] = [];
  const values: Partial<Record<"filename" | "output" | "namespace", string>> = {};
  let allNamespaces = false;
  let skipExists = false;
  let skipNotExists = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-" || !a.startsWith("-")) {
      words.push(a);
      continue;
    }
    if (a === "--") {
      words.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.indexOf("=");
    const flag =
      a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a.length > 2 && !a.startsWith("--") ? a.slice(0, 2) : a;
    const inline = a.startsWith("--")
      ? eq > 0
        ? a.slice(eq + 1)
        : undefined
      : a.length > 2
        ? a.slice(2).replace(/^=/, "")
        : undefined;
    const target = WITH_VALUE[flag];
    if (target !== undefined) {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") return { error: `flag ${flag} needs a value` };
      if (values[target] !== undefined) return { error: `flag ${flag} given twice` };
      values[target] = v;
      continue;
    }
    if (inline !== undefined && !a.startsWith("--")) return { error: `unknown flag ${JSON.stringify(a)}` };
    switch (a) {
      case "-A":
      case "--all-namespaces":
        allNamespaces = true;
        break;
      case "--skip-exists":
        skipExists = true;
        break;
      case "--skip-not-exists":
        skipNotExists = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        return { error: `unknown flag ${JSON.stringify(a)}` };
    }
  }
  return { words, ...values, allNamespaces, skipExists, skipNotExists, help };
}
