/**
 * `tabby bgp run --config speaker.yaml`: a standalone BGP speaker (route reflector, test peer,
 * benchmark target). Loads and checks the YAML (errors name file, line and field; exit 2), starts the
 * speaker on the system clock, serves status on its unix socket and metrics if asked, logs JSON lines
 * with the peer as a field, and on SIGTERM/SIGINT shuts every session down with an RFC 9003 message.
 * SIGHUP, or `tabby bgp reload` (POST /reload on the status socket), re-reads the file and applies the
 * difference (Speaker.reconfigure: only peers whose session parameters changed are reset); a file
 * that does not load or validate changes nothing and is reported with file, line and field.
 */
import { parseArgs } from "node:util";
import { Speaker, SpeakerError } from "../../bgp/speaker/speaker.js";
import { serveMetrics, speakerRegistry } from "../bgp/metrics.js";
import { loadSpeakerFile } from "../bgp/speaker-file.js";
import { type ReloadAnswer, serveStatus } from "../bgp/status-server.js";
import { systemClock } from "../util/clock.js";
import { isTabbyError } from "../util/errors.js";
import { childLogger, createLogger } from "../util/logger.js";
import type { CliIo } from "./io.js";

export const runUsage = `Usage: tabby bgp run --config FILE [--socket PATH] [--metrics HOST:PORT]

Runs a BGP speaker configured by a YAML file (docs/bgp-speaker.md). Status is served on a unix socket
(default /var/run/tabby/bgp.sock, or status.socket in the file) for "tabby bgp peers" and "tabby bgp rib".
SIGHUP or "tabby bgp reload" re-reads the file and applies only what changed.
`;

export async function runSpeaker(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  let values: { config?: string; socket?: string; metrics?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: "string", short: "c" },
        socket: { type: "string" },
        metrics: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.stderr(`tabby bgp run: ${(e as Error).message}\n\n${runUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(runUsage);
    return 0;
  }
  if (values.config === undefined) {
    io.stderr(`tabby bgp run: --config FILE is required\n\n${runUsage}`);
    return 2;
  }
  let file: Awaited<ReturnType<typeof loadSpeakerFile>>;
  try {
    file = await loadSpeakerFile(values.config);
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabby bgp run: ${(e as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: file.logLevel, name: "tabby-bgp" });
  const bgpLog = childLogger(log, { component: "bgp" });
  const speaker = new Speaker(file.speaker, {
    clock: systemClock,
    log: (level, msg, fields) => bgpLog[level](fields, msg),
  });
  const startedAt = Date.now();
  try {
    await speaker.start();
  } catch (e) {
    io.stderr(`tabby bgp run: ${(e as Error).message}\n`);
    await speaker.stop().catch(() => {});
    return 1;
  }
  const socketPath = values.socket ?? file.statusSocket;
  const config = values.config;
  const reload = async (): Promise<ReloadAnswer> => {
    let next: Awaited<ReturnType<typeof loadSpeakerFile>>;
    try {
      next = await loadSpeakerFile(config);
    } catch (e) {
      if (!isTabbyError(e)) throw e;
      bgpLog.error({ file: config, err: (e as Error).message }, "configuration not reloaded");
      return { ok: false, error: (e as Error).message };
    }
    try {
      const result = await speaker.reconfigure(next.speaker);
      bgpLog.info({ file: config, ...result }, "configuration reloaded");
      return { ok: true, result };
    } catch (e) {
      if (!(e instanceof SpeakerError)) throw e;
      const error = `${config}: ${e.message}`;
      bgpLog.error({ file: config, err: error }, "configuration not reloaded");
      return { ok: false, error };
    }
  };
  let status: Awaited<ReturnType<typeof serveStatus>>;
  try {
    status = await serveStatus(speaker, socketPath, startedAt, reload);
  } catch (e) {
    io.stderr(`tabby bgp run: ${(e as Error).message}\n`);
    await speaker.stop();
    return 1;
  }
  const metricsAt = values.metrics ?? file.metricsListen;
  const metrics =
    metricsAt !== undefined ? await serveMetrics(speakerRegistry(speaker), metricsAt) : undefined;
  bgpLog.info(
    {
      routerId: file.speaker.routerId,
      asn: file.speaker.asn,
      peers: file.speaker.peers.length,
      listenPort: speaker.listenPort,
      status: socketPath,
      metrics: metricsAt,
    },
    "BGP speaker running",
  );
  const onHup = () => void reload();
  process.on("SIGHUP", onHup);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
    signal?.addEventListener("abort", done, { once: true });
  });
  process.off("SIGHUP", onHup);
  bgpLog.info({}, "shutting down");
  await speaker.stop("tabby bgp speaker shutting down");
  await status.close();
  await metrics?.close();
  // Let the NOTIFICATIONs and the FINs go out before the process ends.
  await new Promise((r) => setTimeout(r, 200));
  log.flush();
  return 0;
}
