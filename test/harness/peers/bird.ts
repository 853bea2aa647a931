/**
 * BIRD 2 in a test namespace: `bird -f` (foreground, so the spawned pid is BIRD's and stderr is its log)
 * with a control socket in the test's temp dir; state read through `birdc -s`. Started from a
 * `SpeakerSpec` (announce/withdraw then rewrite the config and `birdc configure`) or from raw config text.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../exec.js";
import { makeTempDir } from "../naming.js";
import type { Netns, NsProcess } from "../netns.js";
import type { Scope } from "../scope.js";
import { eventually } from "../wait.js";
import { DaemonBase } from "./daemon.js";
import { parseBirdProtocols, parseBirdRoutes } from "./parse-bird.js";
import { birdProtocolName, renderBirdConfig, type SpeakerSpec } from "./spec.js";
import type { BgpRoute, Family, PeerSession } from "./types.js";

export interface BirdOptions {
  /** Neutral spec (preferred) or raw BIRD config text. */
  readonly spec?: SpeakerSpec;
  readonly config?: string;
}

export class Bird extends DaemonBase {
  readonly kind = "bird";
  private spec: SpeakerSpec | undefined;

  private constructor(
    private readonly proc: NsProcess,
    readonly ctl: string,
    readonly configFile: string,
    readonly logFile: string,
    spec: SpeakerSpec | undefined,
  ) {
    super();
    this.spec = spec;
  }

  get pid(): number {
    return this.proc.pid;
  }

  static async start(scope: Scope, ns: Netns, opts: BirdOptions): Promise<Bird> {
    const dir = await makeTempDir(scope);
    const configFile = join(dir, "bird.conf");
    const ctl = join(dir, "bird.ctl");
    const logFile = join(dir, "bird.log");
    const text = opts.config ?? (opts.spec ? renderBirdConfig(opts.spec) : undefined);
    if (text === undefined) throw new Error("Bird.start needs spec or config");
    await writeFile(configFile, text);
    // Parse first, so a config error is reported as such rather than as "not ready".
    await run("bird", ["-p", "-c", configFile]);
    const proc = ns.spawn("bird", ["-f", "-c", configFile, "-s", ctl, "-P", join(dir, "bird.pid")], {
      logFile,
    });
    const bird = new Bird(proc, ctl, configFile, logFile, opts.spec);
    await bird.withLog(() =>
      eventually(async () => (await bird.birdc("show", "status")).includes("Daemon is up and running"), {
        what: "BIRD to answer on its control socket",
        timeoutMs: 10_000,
      }),
    );
    return bird;
  }

  /** Runs a birdc command and returns its output. */
  async birdc(...args: string[]): Promise<string> {
    return (await run("birdc", ["-s", this.ctl, ...args], { timeoutMs: 10_000 })).stdout;
  }

  async sessions(): Promise<PeerSession[]> {
    return parseBirdProtocols(await this.birdc("show", "protocols", "all"));
  }

  private async protocolOf(neighbor: string): Promise<string> {
    const s = (await this.sessions()).find((x) => x.neighbor === neighbor);
    if (s?.name === undefined) throw new Error(`BIRD has no BGP protocol for neighbor ${neighbor}`);
    return s.name;
  }

  private async neighborsByProtocol(): Promise<Map<string, string>> {
    return new Map((await this.sessions()).map((s) => [s.name ?? "", s.neighbor]));
  }

  async routes(family: Family): Promise<BgpRoute[]> {
    const text = await this.birdc("show", "route", "all", "table", family === "ipv4" ? "master4" : "master6");
    return parseBirdRoutes(text, await this.neighborsByProtocol());
  }

  async received(neighbor: string, family: Family): Promise<BgpRoute[]> {
    const proto = await this.protocolOf(neighbor);
    const text = await this.birdc("show", "route", "all", "protocol", proto, "table", tableOf(family));
    return parseBirdRoutes(text, new Map([[proto, neighbor]]));
  }

  async advertised(neighbor: string, family: Family): Promise<BgpRoute[]> {
    const proto = await this.protocolOf(neighbor);
    const text = await this.birdc("show", "route", "all", "export", `${proto}.${family}`);
    return parseBirdRoutes(text, await this.neighborsByProtocol());
  }

  async announce(prefix: string): Promise<void> {
    const s = this.requireSpec();
    await this.reconfigure({ ...s, originate: [...(s.originate ?? []).filter((p) => p !== prefix), prefix] });
  }

  async withdraw(prefix: string): Promise<void> {
    const s = this.requireSpec();
    await this.reconfigure({ ...s, originate: (s.originate ?? []).filter((p) => p !== prefix) });
  }

  /** Disables / enables the session to `neighbor` (BIRD sends Cease / Administrative Shutdown). */
  async setSessionEnabled(neighbor: string, enabled: boolean): Promise<void> {
    await this.birdc(enabled ? "enable" : "disable", await this.protocolOf(neighbor));
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }

  private requireSpec(): SpeakerSpec {
    if (this.spec === undefined) throw new Error("announce/withdraw need a BIRD started from a SpeakerSpec");
    return this.spec;
  }

  private async reconfigure(spec: SpeakerSpec): Promise<void> {
    await writeFile(this.configFile, renderBirdConfig(spec));
    const out = await this.birdc("configure");
    if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
    this.spec = spec;
  }
}

const tableOf = (f: Family) => (f === "ipv4" ? "master4" : "master6");

export { birdProtocolName };
