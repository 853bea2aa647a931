/**
 * The pino logger factory. Logs are JSON lines (one object per event) so operators can filter by field:
 * every component logs through a child that carries `component`, and per-session or per-interface code
 * adds `peer` or `iface`, e.g. `{"component":"bgp","peer":"10.0.0.2","msg":"session established"}`.
 * Level comes from the caller or `TABBY_LOG_LEVEL` (Felix's `FELIX_LOGSEVERITYSCREEN` is mapped later by
 * the agent's config). Library folders (bgp/, felix/, ipam/) take a `pino.Logger` as a parameter rather
 * than importing this module.
 */
import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

export interface LoggerConfig {
  /** pino level name; default `TABBY_LOG_LEVEL` or "info". */
  readonly level?: string;
  /** Process name recorded in every line, e.g. "tabby-node". */
  readonly name?: string;
  /** Where lines go; default stderr, so that stdout stays free for command output. */
  readonly destination?: DestinationStream;
}

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function createLogger(config: LoggerConfig = {}): Logger {
  const level = (config.level ?? process.env.TABBY_LOG_LEVEL ?? "info").toLowerCase();
  if (!LEVELS.has(level)) {
    throw new Error(`unknown log level ${JSON.stringify(level)}; use one of ${[...LEVELS].join(", ")}`);
  }
  const options: LoggerOptions = {
    level,
    base: config.name === undefined ? { pid: process.pid } : { name: config.name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, config.destination ?? pino.destination({ fd: 2, sync: false }));
}

/** Fields a child logger may carry; `component` is required so every line says who wrote it. */
export interface LogFields {
  readonly component: string;
  readonly peer?: string;
  readonly iface?: string;
  readonly [extra: string]: unknown;
}

export function childLogger(parent: Logger, fields: LogFields): Logger {
  return parent.child(fields);
}
