/**
 * One CNI call, wherever it runs: the plugin process a runtime execs, or the agent serving the same
 * call over its socket for the shim. Takes the role (plugin or IPAM alone), the CNI_* environment and
 * the stdin bytes; returns the exit code and the one JSON document for stdout. Never throws.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { pino } from "pino";
import { createLogger, type Logger } from "../util/logger.js";
import { parseCniEnv } from "./env.js";
import { CNI_CODE, CniError, errorResult } from "./errors.js";
import { type NetConf, parseNetConfText } from "./netconf.js";
import { type PluginDeps, runIpamPlugin, runPlugin } from "./plugin.js";
import { versionResult } from "./result.js";

export interface CniCallInput {
  /** `tabby-cni`, or `tabby-ipam` / `calico-ipam` for the IPAM plugin alone. */
  readonly role: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: Uint8Array;
}

export interface CniCallOutput {
  readonly code: number;
  readonly stdout: string;
}

export interface CniCallDeps extends Omit<PluginDeps, "logger"> {
  /** Logs here instead of the config's log_file_path (the agent's own log). */
  readonly logger?: Logger;
}

export const isIpamRole = (role: string): boolean => /^(tabby|calico)-ipam$/.test(role);

/** The cniVersion to answer an error in: the config's, if it got that far. */
function versionOf(text: string): string {
  try {
    const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
    return typeof v === "string" && v !== "" ? v : "1.0.0";
  } catch {
    return "1.0.0";
  }
}

export function pluginLogger(conf: NetConf | undefined): Logger {
  const level = conf?.logLevel === "warning" ? "warn" : (conf?.logLevel ?? "info");
  const safeLevel = ["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(level)
    ? level
    : "info";
  if (conf?.logFilePath !== undefined) {
    try {
      mkdirSync(dirname(conf.logFilePath), { recursive: true });
      return createLogger({
        level: safeLevel,
        name: "tabby-cni",
        destination: pino.destination({ dest: conf.logFilePath, sync: true, append: true }),
      });
    } catch {
      // An unwritable log file must not fail the pod: log to stderr instead.
    }
  }
  return createLogger({
    level: safeLevel,
    name: "tabby-cni",
    destination: pino.destination({ fd: 2, sync: true }),
  });
}

export async function cniCall(input: CniCallInput, deps: CniCallDeps = {}): Promise<CniCallOutput> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(input.stdin);
  } catch (e) {
    const err = new CniError(
      CNI_CODE.decode,
      "network config on stdin is not valid UTF-8",
      (e as Error).message,
    );
    return { code: 1, stdout: `${JSON.stringify(errorResult(err, "1.0.0"))}\n` };
  }
  const cniVersion = versionOf(text);
  let logger: Logger | undefined;
  try {
    const req = parseCniEnv(input.env);
    if (req.command === "VERSION")
      return { code: 0, stdout: `${JSON.stringify(versionResult(cniVersion))}\n` };
    const conf = parseNetConfText(text);
    logger = deps.logger ?? pluginLogger(conf);
    const run = isIpamRole(input.role) ? runIpamPlugin : runPlugin;
    const out = await run(req, conf, input.env, { ...deps, logger });
    // DEL, CHECK, STATUS and GC print nothing on success; a chained DEL needs no result.
    return { code: 0, stdout: out === undefined ? "" : `${JSON.stringify(out)}\n` };
  } catch (e) {
    const result = errorResult(e, cniVersion);
    logger?.error({ code: result.code, details: result.details }, result.msg);
    return { code: 1, stdout: `${JSON.stringify(result)}\n` };
  } finally {
    if (deps.logger === undefined) logger?.flush();
  }
}
