/**
 * Starts the lab's ToR daemon in its namespace: BIRD 2 (`bird -f`, its control socket in the lab dir),
 * or FRR's zebra and bgpd in the foreground with their pid files and vty sockets in a directory the
 * frr user owns (no systemd, no /etc/frr). zebra puts what bgpd learns into the ToR's kernel table.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sh, spawnDaemon } from "./host.js";
import type { LabPlan } from "./plan.js";
import type { LabDaemon } from "./state.js";
import { renderBirdTor, renderFrrTor } from "./tor-config.js";

export const FRR_BIN = "/usr/lib/frr";

export interface TorHandle {
  readonly daemons: LabDaemon[];
  /** Shows the ToR's BGP sessions, in the daemon's own words. */
  readonly showCommand: readonly string[];
}

/**
 * Readies `dir` for FRR's daemons, which drop to user frr: it must reach and own the directory and
 * its config files (bgpd.conf as given, an empty zebra.conf).
 */
export async function writeFrrDir(dir: string, bgpdConf: string): Promise<void> {
  const uid = Number(execFileSync("id", ["-u", "frr"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "frr"], { encoding: "utf8" }).trim());
  await chmod(dir, 0o755);
  await writeFile(join(dir, "bgpd.conf"), bgpdConf);
  await writeFile(join(dir, "zebra.conf"), "");
  for (const f of ["", "bgpd.conf", "zebra.conf"]) await chown(join(dir, f), uid, gid);
}

/**
 * An FRR daemon in the foreground without /etc/frr: as user frr, its config, pid file, vty socket and
 * log in `dir`; bgpd talks to zebra at `zapi`, or runs alone (-Z) without one.
 */
export function frrDaemonArgs(daemon: "zebra" | "bgpd", dir: string, zapi: string | undefined): string[] {
  return [
    ...["-u", "frr", "-g", "frr", "--vty_socket", dir],
    ...["-f", join(dir, `${daemon}.conf`), "-i", join(dir, `${daemon}.pid`)],
    ...(zapi !== undefined ? ["-z", zapi] : ["-Z"]),
    ...["--log", `file:${join(dir, `${daemon}.log`)}`],
  ];
}

/** Starts the ToR daemon; waits until its control socket answers. */
export async function startTor(
  plan: LabPlan,
  dir: string,
  labDir: string,
  waitFor: (what: string, probe: () => Promise<boolean>) => Promise<void>,
): Promise<TorHandle> {
  const ns = plan.torNetns;
  await mkdir(dir, { recursive: true });
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  if (plan.tor === "bird") {
    const conf = join(dir, "bird.conf");
    const ctl = join(dir, "bird.ctl");
    await writeFile(conf, renderBirdTor(plan));
    await sh("bird", ["-p", "-c", conf]);
    const pid = spawnDaemon(ns, "bird", ["-f", "-c", conf, "-s", ctl, "-P", join(dir, "bird.pid")], {
      env,
      logFile: join(dir, "bird.log"),
      labDir,
    });
    await waitFor(
      `the ToR's BIRD to answer (log: ${join(dir, "bird.log")})`,
      async () => (await sh("birdc", ["-s", ctl, "show", "status"], { allowFailure: true })).code === 0,
    );
    return {
      daemons: [{ what: "ToR bird", pid, netns: ns }],
      showCommand: ["birdc", "-s", ctl, "show", "protocols"],
    };
  }
  await writeFrrDir(dir, renderFrrTor(plan));
  const zapi = join(dir, "zserv.api");
  const zebra = spawnDaemon(ns, `${FRR_BIN}/zebra`, frrDaemonArgs("zebra", dir, zapi), {
    env,
    logFile: join(dir, "zebra.out"),
    labDir,
  });
  await waitFor(`the ToR's zebra to listen (log: ${join(dir, "zebra.out")})`, async () => existsSync(zapi));
  const bgpd = spawnDaemon(ns, `${FRR_BIN}/bgpd`, frrDaemonArgs("bgpd", dir, zapi), {
    env,
    logFile: join(dir, "bgpd.out"),
    labDir,
  });
  const vtysh = ["vtysh", "--vty_socket", dir, "-c", "show bgp summary"];
  await waitFor(
    `the ToR's bgpd to answer (log: ${join(dir, "bgpd.log")})`,
    async () => (await sh(vtysh[0]!, vtysh.slice(1), { allowFailure: true })).code === 0,
  );
  return {
    daemons: [
      { what: "ToR zebra", pid: zebra, netns: ns },
      { what: "ToR bgpd", pid: bgpd, netns: ns },
    ],
    showCommand: vtysh,
  };
}
