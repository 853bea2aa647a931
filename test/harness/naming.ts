/**
 * Names for everything the harness creates outside the process: network namespaces, temp dirs, and so
 * (through config paths in their command lines) daemon processes. Format: `tabbyt-<run>-<pid>-<n>`.
 * `run` ties artifacts to one test run (set by test/run-tests.mjs or vitest.config.ts), `pid` to the
 * worker that made them, so the sweeper can tell leftovers of a dead worker from a live run's.
 */

import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Scope } from "./scope.js";

export const PREFIX = "tabbyt-";

export function runId(): string {
  return process.env.TABBY_TEST_RUN ?? "dev";
}

let counter = 0;

/** A fresh name `tabbyt-<run>-<pid>-<n>`, unique on this machine while this process lives. */
export function uniqueName(): string {
  counter += 1;
  return `${PREFIX}${runId()}-${process.pid}-${counter}`;
}

export interface ParsedName {
  readonly run: string;
  readonly pid: number;
}

/** Reads run id and creator pid back out of a harness name (or a path containing one). */
export function parseName(s: string): ParsedName | undefined {
  const m = /tabbyt-([a-z0-9]+)-(\d+)-/.exec(s);
  if (m === null) return undefined;
  return { run: m[1]!, pid: Number(m[2]) };
}

/** A temp dir `$TMPDIR/tabbyt-<run>-<pid>-XXXXXX`, removed when the scope closes. */
export async function makeTempDir(scope: Scope): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${runId()}-${process.pid}-`));
  scope.defer(
    `remove ${dir}`,
    () => rm(dir, { recursive: true, force: true }),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  return dir;
}
