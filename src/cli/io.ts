/**
 * The streams and environment a command runs with, passed in so that commands are testable in-process.
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Raw bytes to stdout (for `tabby bgp encode`). */
  readonly stdoutBytes?: (bytes: Uint8Array) => void;
  /** All of stdin (for `-` as a file name). */
  readonly readStdin?: () => Promise<Uint8Array>;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  stdoutBytes: (b) => process.stdout.write(b),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  },
};

/** Runs `main` as the process entry point and exits with its code once output is flushed. */
export function runMain(main: (argv: readonly string[], io: CliIo) => Promise<number> | number): void {
  // `tabby bgp decode capture | head`: a closed pipe ends the output, it is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  Promise.resolve()
    .then(() => main(process.argv.slice(2), processIo))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (e: unknown) => {
        process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      },
    );
}
