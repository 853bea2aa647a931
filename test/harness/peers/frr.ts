/**
 * FRR (zebra + bgpd) in a test namespace, without systemd or /etc/frr: both run in the foreground with
 * their pid files, zserv socket and vty sockets in the test's temp dir (owned by user frr, which the
 * daemons drop to), as ../shared/reference/peer-configs/frr-run.sh does. State comes from
 * `vtysh --vty_socket DIR ... json`. zebra installs learned routes into the namespace's kernel
 * (`proto bgp`); pass `zebra: false` to run bgpd alone (`-Z`), e.g. for benchmarks. With `bfdd` the BFD
 * daemon runs too (bgpd's `neighbor X bfd` reaches it through zebra), its control socket in the same dir.
 */

import { chown, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FRR_BIN, frrDaemonArgs, writeFrrDir } from "../../../src/lab/tor.js";
import { run } from "../exec.js";
import { makeTempDir } from "../naming.js";
import type { Netns, NsProcess } from "../netns.js";
import type { Scope } from "../scope.js";
import { eventually } from "../wait.js";
import { DaemonBase } from "./daemon.js";
import {
  parseFrrAdvertised,
  parseFrrNeighbors,
  parseFrrPrefixDetail,
  parseFrrRouteTable,
} from "./parse-frr.js";
import { renderFrrConfig, type SpeakerSpec } from "./spec.js";
import type { BgpRoute, Family, PeerSession } from "./types.js";

export interface FrrOptions {
  readonly spec?: SpeakerSpec;
  /** Raw bgpd config text (per-daemon config, not the integrated frr.conf). */
  readonly config?: string;
  /** Run zebra (default true). */
  readonly zebra?: boolean;
  /** Extra bgpd arguments, e.g. ["-n"] (do not install routes in the kernel). */
  readonly bgpdArgs?: readonly string[];
  /** Also run bfdd with this bfdd.conf (e.g. a `bfd` / `peer X` block, or ""); needs zebra. */
  readonly bfdd?: string;
}

export class Frr extends DaemonBase {
  readonly kind = "frr";

  private constructor(
    private readonly bgpd: NsProcess,
    private readonly zebra: NsProcess | undefined,
    private readonly bfdd: NsProcess | undefined,
    readonly dir: string,
    readonly logFile: string,
    private readonly as: number,
  ) {
    super();
  }

  get pid(): number {
    return this.bgpd.pid;
  }

  /**
   * Checks a bgpd config with `bgpd -C` and returns FRR's complaints (empty when it is accepted). bgpd
   * exits 0 even for a bad line, so the complaints are its error-class log lines (`[EC nnn]`).
   */
  static async checkConfig(scope: Scope, text: string): Promise<string[]> {
    const dir = await Frr.prepareDir(scope, text);
    const r = await run(`${FRR_BIN}/bgpd`, ["-C", "-f", join(dir, "bgpd.conf"), "-Z", "--log", "stdout"], {
      allowFailure: true,
    });
    const complaints = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.includes("[EC "));
    return r.code === 0 ? complaints : [...complaints, `bgpd -C exited ${r.code}`];
  }

  /** A temp dir the frr user owns, holding bgpd.conf and an empty zebra.conf. */
  private static async prepareDir(scope: Scope, bgpdConf: string): Promise<string> {
    const dir = await makeTempDir(scope);
    await writeFrrDir(dir, bgpdConf);
    return dir;
  }

  static async start(scope: Scope, ns: Netns, opts: FrrOptions): Promise<Frr> {
    const text = opts.config ?? (opts.spec ? renderFrrConfig(opts.spec) : undefined);
    if (text === undefined) throw new Error("Frr.start needs spec or config");
    const as = opts.spec?.as ?? Number(/router bgp (\d+)/.exec(text)?.[1]);
    const dir = await Frr.prepareDir(scope, text);
    const logFile = join(dir, "bgpd.log");
    let zebra: NsProcess | undefined;
    const zapi = join(dir, "zserv.api");
    if (opts.zebra !== false) {
      zebra = ns.spawn(`${FRR_BIN}/zebra`, frrDaemonArgs("zebra", dir, zapi), {
        logFile: join(dir, "zebra.out"),
      });
      await eventually(() => run("test", ["-S", zapi]).then(() => true), {
        what: "zebra's zserv socket",
        timeoutMs: 10_000,
      });
    }
    let bfdd: NsProcess | undefined;
    if (opts.bfdd !== undefined) {
      if (zebra === undefined) throw new Error("Frr.start: bfdd needs zebra");
      bfdd = await Frr.startBfdd(ns, dir, zapi, opts.bfdd);
    }
    const bgpd = ns.spawn(
      `${FRR_BIN}/bgpd`,
      [...frrDaemonArgs("bgpd", dir, zebra ? zapi : undefined), ...(opts.bgpdArgs ?? [])],
      { logFile: join(dir, "bgpd.out") },
    );
    const frr = new Frr(bgpd, zebra, bfdd, dir, logFile, as);
    await frr.withLog(() =>
      eventually(() => frr.vtysh("show bgp summary json").then(() => true), {
        what: "bgpd to answer vtysh",
        timeoutMs: 15_000,
      }),
    );
    return frr;
  }

  /** bfdd as user frr, its config, pid, control and vty sockets and log in `dir`; waits for its vty. */
  private static async startBfdd(ns: Netns, dir: string, zapi: string, conf: string): Promise<NsProcess> {
    const file = join(dir, "bfdd.conf");
    await writeFile(file, conf);
    // Owned like the dir writeFrrDir prepared: the frr user.
    const { uid, gid } = await stat(dir);
    await chown(file, uid, gid);
    const proc = ns.spawn(
      `${FRR_BIN}/bfdd`,
      [
        ...["-u", "frr", "-g", "frr", "--vty_socket", dir, "-f", file, "-i", join(dir, "bfdd.pid")],
        ...["-z", zapi, "--bfdctl", join(dir, "bfdd.sock"), "--log", `file:${join(dir, "bfdd.log")}`],
      ],
      { logFile: join(dir, "bfdd.out") },
    );
    await eventually(() => run("test", ["-S", join(dir, "bfdd.vty")]).then(() => true), {
      what: "bfdd's vty socket",
      timeoutMs: 10_000,
    });
    return proc;
  }

  /** Runs vtysh commands (each a separate `-c`) against this instance. */
  async vtysh(...commands: string[]): Promise<string> {
    const args = ["--vty_socket", this.dir, ...commands.flatMap((c) => ["-c", c])];
    return (await run("vtysh", args, { timeoutMs: 10_000 })).stdout;
  }

  async sessions(): Promise<PeerSession[]> {
    return parseFrrNeighbors(await this.vtysh("show bgp neighbors json"));
  }

  async routes(family: Family): Promise<BgpRoute[]> {
    return parseFrrRouteTable(await this.vtysh(`show bgp ${family} unicast json`));
  }

  /** Every path of one prefix with communities, large communities, ORIGINATOR_ID and CLUSTER_LIST. */
  async routeDetail(family: Family, prefix: string): Promise<BgpRoute[]> {
    return parseFrrPrefixDetail(await this.vtysh(`show bgp ${family} unicast ${prefix} json`));
  }

  async received(neighbor: string, family: Family): Promise<BgpRoute[]> {
    return parseFrrRouteTable(
      await this.vtysh(`show bgp ${family} unicast neighbors ${neighbor} routes json`),
    );
  }

  async advertised(neighbor: string, family: Family): Promise<BgpRoute[]> {
    return parseFrrAdvertised(
      await this.vtysh(`show bgp ${family} unicast neighbors ${neighbor} advertised-routes json`),
    );
  }

  async announce(prefix: string): Promise<void> {
    await this.configure(`network ${prefix}`, prefix);
  }

  async withdraw(prefix: string): Promise<void> {
    await this.configure(`no network ${prefix}`, prefix);
  }

  async stop(): Promise<void> {
    await this.bgpd.stop();
    await this.bfdd?.stop();
    await this.zebra?.stop();
  }

  private async configure(line: string, prefix: string): Promise<void> {
    const family = prefix.includes(":") ? "ipv6" : "ipv4";
    await this.vtysh(
      "configure terminal",
      `router bgp ${this.as}`,
      `address-family ${family} unicast`,
      line,
      "exit-address-family",
    );
  }
}
