#!/usr/bin/env node
/**
 * `tabby-cni` (and, by the name it is called under, `tabby-ipam` / `calico-ipam`): the CNI plugin a
 * container runtime execs with CNI_COMMAND set and the network config on stdin. Whatever happens, stdout
 * holds exactly one JSON document, the result or a CNI error, and never a stack trace: the runtime
 * parses it and shows `msg` to the user. Logs go to `log_file_path` if the config names one, else to
 * stderr, which runtimes keep for diagnostics.
 */
import { mkdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import { pino } from "pino";
import { parseCniEnv } from "../cni/env.js";
import { CNI_CODE, CniError, errorResult } from "../cni/errors.js";
import { type NetConf, parseNetConfText } from "../cni/netconf.js";
import { runIpamPlugin, runPlugin } from "../cni/plugin.js";
import { versionResult } from "../cni/result.js";
import { createLogger, type Logger } from "../util/logger.js";
import { type CliIo, processIo } from "./io.js";

const usage = `tabby-cni: the CNI plugin of tabby (CNI spec 0.3.0 to 1.1.0)

A container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION, CNI_CONTAINERID,
CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH set and the network configuration on stdin; it prints
the result, or a CNI error, as JSON on stdout. Called as tabby-ipam (or calico-ipam) it is the IPAM
plugin alone. See docs/cni.md for the configuration keys and pod annotations.
`;

/** The cniVersion to answer an error in: the config's, if it got that far. */
function versionOf(text: string): string {
  try {
    const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
    return typeof v === "string" && v !== "" ? v : "1.0.0";
  } catch {
    return "1.0.0";
  }
}

function pluginLogger(conf: NetConf | undefined): Logger {
  const level = conf?.logLevel === "warning" ? "warn" : (conf?.logLevel ?? "info");
  const safeLevel = ["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(level)
    ? level
    : "info";
  if (conf?.logFilePath !== undefined) {
    try {
      mkdirSync(dirname(conf.logFilePath), { recursive: true });
      return pino(
        {
          level: safeLevel,
          base: { name: "tabby-cni", pid: process.pid },
          timestamp: pino.stdTimeFunctions.isoTime,
        },
        pino.destination({ dest: conf.logFilePath, sync: true, append: true }),
      );
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

export async function main(argv: readonly string[], io: CliIo, invokedAs = "tabby-cni"): Promise<number> {
  const command = io.env.CNI_COMMAND;
  if (command === undefined || command === "") {
    if (argv[0] === "--help" || argv[0] === "-h") {
      io.stdout(usage);
      return 0;
    }
    io.stderr(usage);
    return 2;
  }
  let text = "";
  try {
    text = Buffer.from((await io.readStdin?.()) ?? new Uint8Array()).toString("utf8");
  } catch (e) {
    io.stdout(
      `${JSON.stringify(errorResult(new CniError(CNI_CODE.io, "cannot read stdin", (e as Error).message), "1.0.0"))}\n`,
    );
    return 1;
  }
  const cniVersion = versionOf(text);
  let logger: Logger | undefined;
  try {
    const req = parseCniEnv(io.env);
    if (req.command === "VERSION") {
      io.stdout(`${JSON.stringify(versionResult(cniVersion))}\n`);
      return 0;
    }
    const conf = parseNetConfText(text);
    logger = pluginLogger(conf);
    // Runtimes pass no arguments; `--as NAME` is how a wrapper script names the multi-call role.
    const as = argv[0] === "--as" && argv[1] !== undefined ? argv[1] : invokedAs;
    const ipamOnly = /^(tabby|calico)-ipam$/.test(as);
    const run = ipamOnly ? runIpamPlugin : runPlugin;
    const out = await run(req, conf, io.env, { logger });
    // DEL, CHECK, STATUS and GC print nothing on success; a chained DEL needs no result.
    if (out !== undefined) io.stdout(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (e) {
    const result = errorResult(e, cniVersion);
    logger?.error({ code: result.code, details: result.details }, result.msg);
    io.stdout(`${JSON.stringify(result)}\n`);
    return 1;
  } finally {
    logger?.flush();
  }
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  /(tabby|calico)-(cni|ipam)$/.test(process.argv[1] ?? "")
) {
  const invokedAs = basename(process.argv[1] ?? "tabby-cni").replace(/\.[cm]?[jt]s$/, "");
  main(process.argv.slice(2), processIo, invokedAs).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Unreachable in practice (main catches everything); still, stdout must stay valid JSON.
      process.stdout.write(`${JSON.stringify(errorResult(e, "1.0.0"))}\n`);
      process.exitCode = 1;
    },
  );
}
