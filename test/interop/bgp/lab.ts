/**
 * Shared setup for the BGP interop tests: namespaces joined by a veth (or a bridge), a tabby speaker
 * running in-process with its sockets opened inside a namespace (the transport's netnsPath), or as a
 * `tabby bgp run` process inside the namespace when the test must kill it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { SpeakerConfig } from "../../../bgp/speaker/config.js";
import { type RibPath, Speaker } from "../../../bgp/speaker/speaker.js";
import { systemClock } from "../../../src/util/clock.js";
import { makeTempDir } from "../../harness/naming.js";
import { connectVeth, Netns, type NsProcess } from "../../harness/netns.js";
import type { Scope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";

/** a = 10.0.0.1 / fd00::1 (tabby), b = 10.0.0.2 / fd00::2 (the peer). */
export async function pair(scope: Scope): Promise<{ a: Netns; b: Netns }> {
  const a = await Netns.create(scope);
  const b = await Netns.create(scope);
  await connectVeth(
    { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
  );
  return { a, b };
}

/** A speaker in this process whose sockets live in `ns`. Stopped when the scope closes. */
export async function startTabby(scope: Scope, ns: Netns, cfg: SpeakerConfig): Promise<Speaker> {
  const s = new Speaker(cfg, { clock: systemClock, netnsPath: `/run/netns/${ns.name}` });
  scope.defer("stop tabby speaker", () => s.stop());
  await s.start();
  return s;
}

export async function waitEstablished(s: Speaker, peer: string, timeoutMs = 30_000): Promise<void> {
  await eventually(() => s.peerStatus().find((p) => p.address === peer)?.state === "Established", {
    what: `tabby's session to ${peer} to be Established (now ${s.peerStatus().find((p) => p.address === peer)?.state}; last error ${s.peerStatus().find((p) => p.address === peer)?.lastError})`,
    timeoutMs,
  });
}

export async function waitTabbyRoute(
  s: Speaker,
  prefix: string,
  opts: { gone?: boolean; timeoutMs?: number } = {},
) {
  const family = prefix.includes(":") ? "ipv6" : "ipv4";
  return eventually(
    () => {
      const best = s.ribEntries(family, prefix).find((p) => p.best);
      // With `gone`, any truthy value ends the wait; the caller ignores it.
      if (opts.gone) return best === undefined ? ({ gone: true } as unknown as RibPath) : undefined;
      return best;
    },
    { what: `tabby to ${opts.gone ? "lose" : "have"} ${prefix}`, timeoutMs: opts.timeoutMs ?? 30_000 },
  );
}

/** `tabby bgp run` as a process inside `ns`, from a SpeakerConfig written as YAML. */
export async function runTabbyProcess(
  scope: Scope,
  ns: Netns,
  cfg: SpeakerConfig,
  extra: Record<string, unknown> = {},
): Promise<{ proc: NsProcess; socket: string; configFile: string; logFile: string }> {
  const dir = await makeTempDir(scope);
  const socket = join(dir, "bgp.sock");
  const configFile = join(dir, "speaker.yaml");
  const logFile = join(dir, "tabby.log");
  writeFileSync(configFile, stringify({ ...cfg, status: { socket }, logLevel: "debug", ...extra }));
  const entry = new URL("../../../src/cli/tabby.ts", import.meta.url);
  const proc = ns.spawnNode(entry, ["bgp", "run", "--config", configFile], { logFile });
  const { statusGet } = await import("../../../src/bgp/status-server.js");
  await eventually(() => statusGet(socket, "/summary").then(() => true), {
    what: "tabby bgp run to serve status",
    timeoutMs: 20_000,
  });
  return { proc, socket, configFile, logFile };
}

/**
 * tabby (AS 65001, 10.0.0.1) with one peer at 10.0.0.2, originating a v4 and a v6 prefix with
 * communities, a large community, MED and (iBGP) LOCAL_PREF: the one-session interop tests' speaker.
 */
export const oneSessionConfig = (peerAs: number, mode: "ebgp" | "ibgp") => ({
  routerId: "10.0.0.1",
  asn: 65001,
  listen: { address: "::" },
  peers: [
    {
      address: "10.0.0.2",
      asn: peerAs,
      importPolicy: "ACCEPT_ALL",
      exportPolicy: "ACCEPT_ALL",
      nextHopSelf: { ipv6: "fd00::1" },
    },
  ],
  originate: [
    {
      prefix: "192.0.2.0/24",
      communities: ["65001:100"],
      largeCommunities: ["65001:1:2"],
      med: 7,
      ...(mode === "ibgp" ? { localPref: 300 } : {}),
    },
    { prefix: "2001:db8:a::/48", communities: ["65001:101"] },
  ],
});
