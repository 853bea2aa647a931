/**
 * GoBGP 3 in a test namespace: gobgpd in the foreground (its pid is the spawned one; JSON logs on
 * stderr), config as TOML. The `gobgp` CLI speaks gRPC to 127.0.0.1:50051 of the daemon's namespace, so
 * every query runs under `ip netns exec` (peers.md §3). Originated prefixes are added through the CLI
 * after start, since GoBGP's config file has no static routes.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RunResult } from "../exec.js";
import { makeTempDir } from "../naming.js";
import type { Netns, NsProcess } from "../netns.js";
import type { Scope } from "../scope.js";
import { eventually } from "../wait.js";
import { DaemonBase } from "./daemon.js";
import { parseGobgpNeighbors, parseGobgpRib } from "./parse-gobgp.js";
import { renderGobgpConfig, type SpeakerSpec } from "./spec.js";
import type { BgpRoute, Family, PeerSession } from "./types.js";
import { familyOf } from "./types.js";

export interface GobgpOptions {
  readonly spec?: SpeakerSpec;
  /** Raw TOML. */
  readonly config?: string;
}

export class Gobgp extends DaemonBase {
  readonly kind = "gobgp";

  private constructor(
    private readonly proc: NsProcess,
    private readonly ns: Netns,
    readonly logFile: string,
  ) {
    super();
  }

  get pid(): number {
    return this.proc.pid;
  }

  static async start(scope: Scope, ns: Netns, opts: GobgpOptions): Promise<Gobgp> {
    const text = opts.config ?? (opts.spec ? renderGobgpConfig(opts.spec) : undefined);
    if (text === undefined) throw new Error("Gobgp.start needs spec or config");
    const dir = await makeTempDir(scope);
    const configFile = join(dir, "gobgpd.toml");
    const logFile = join(dir, "gobgpd.log");
    await writeFile(configFile, text);
    const proc = ns.spawn(
      "gobgpd",
      [
        "-f",
        configFile,
        "-t",
        "toml",
        "--log-level=info",
        "--api-hosts",
        "127.0.0.1:50051",
        "--pprof-disable",
      ],
      { logFile },
    );
    const g = new Gobgp(proc, ns, logFile);
    await g.withLog(() =>
      eventually(() => g.gobgp("global", "-j").then(() => true), {
        what: "gobgpd's gRPC API",
        timeoutMs: 10_000,
      }),
    );
    for (const p of opts.spec?.originate ?? []) await g.announce(p);
    return g;
  }

  /** Runs the gobgp CLI inside the daemon's namespace. */
  gobgp(...args: string[]): Promise<RunResult> {
    return this.ns.exec("gobgp", ["-u", "127.0.0.1", "-p", "50051", ...args], { timeoutMs: 10_000 });
  }

  async sessions(): Promise<PeerSession[]> {
    return parseGobgpNeighbors((await this.gobgp("neighbor", "-j")).stdout);
  }

  async routes(family: Family): Promise<BgpRoute[]> {
    return parseGobgpRib((await this.gobgp("global", "rib", "-a", family, "-j")).stdout);
  }

  async received(neighbor: string, family: Family): Promise<BgpRoute[]> {
    return parseGobgpRib((await this.gobgp("neighbor", neighbor, "adj-in", "-a", family, "-j")).stdout);
  }

  async advertised(neighbor: string, family: Family): Promise<BgpRoute[]> {
    return parseGobgpRib((await this.gobgp("neighbor", neighbor, "adj-out", "-a", family, "-j")).stdout);
  }

  /** Originates a prefix; `attrs` are gobgp CLI words, e.g. `["community", "65000:1", "med", "5"]`. */
  async announce(prefix: string, attrs: readonly string[] = []): Promise<void> {
    await this.gobgp("global", "rib", "add", prefix, "-a", familyOf(prefix), ...attrs);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.gobgp("global", "rib", "del", prefix, "-a", familyOf(prefix));
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}
