// `tabby bgp reload` and SIGHUP against a running `tabby bgp run` with three BIRD sessions: a changed
// hold time resets only that peer (counted by each session's Established time, on tabby and in BIRD), a
// broken file changes nothing and is reported with file, line and field, and SIGHUP applies a new
// originated prefix without any reset.
import { readFile, writeFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { PeerStatus } from "../../../bgp/speaker/views.js";
import { statusGet } from "../../../src/bgp/status-server.js";
import { runReload } from "../../../src/cli/bgp-reload.js";
import { Bird } from "../../harness/peers/bird.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { eventually } from "../../harness/wait.js";
import { pair, runTabbyProcess } from "./lab.js";

// BIRD runs one protocol per neighbor address, so tabby has an address per session too.
const SESSIONS = [
  { bird: "10.0.0.2", tabby: "10.0.0.1", asn: 65002 },
  { bird: "10.0.0.3", tabby: "10.0.0.13", asn: 65003 },
  { bird: "10.0.0.4", tabby: "10.0.0.14", asn: 65004 },
];

const BIRD = `router id 10.0.0.2;
protocol device { }
${SESSIONS.map(
  (s, i) => `protocol bgp b${i} {
  local ${s.bird} as ${s.asn};
  neighbor ${s.tabby} as 65001;
  connect retry time 1; connect delay time 1; error wait time 1, 5;
  ipv4 { import all; export none; };
}`,
).join("\n")}
`;

async function reload(socket: string): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runReload(["--socket", socket], {
    stdout: (t: string) => {
      out += t;
    },
    stderr: (t: string) => {
      out += t;
    },
  } as never);
  return { code, out };
}

describeWith(["root", "iproute2", "bird"], "tabby bgp reload", () => {
  it("resets only the peer whose hold time changed; a broken file changes nothing; SIGHUP applies a new prefix", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    await a.addAddress("eth0", "10.0.0.13/24", "10.0.0.14/24");
    await b.addAddress("eth0", "10.0.0.3/24", "10.0.0.4/24");
    const bird = await Bird.start(scope, b, { config: BIRD });
    const cfg = {
      routerId: "10.0.0.1",
      asn: 65001,
      listen: { address: "0.0.0.0" },
      connectRetrySec: 1,
      peers: SESSIONS.map((s) => ({
        address: s.bird,
        asn: s.asn,
        localAddress: s.tabby,
        holdTimeSec: 90,
        families: ["ipv4"],
        importPolicy: "ACCEPT_ALL",
        exportPolicy: "ACCEPT_ALL",
      })),
      originate: [{ prefix: "192.0.2.0/24" }],
    };
    const t = await runTabbyProcess(scope, a, cfg as never);
    const peers = () => statusGet<PeerStatus[]>(t.socket, "/peers");
    const allUp = async () => {
      const p = await peers();
      return p.length === 3 && p.every((x) => x.state === "Established") ? p : false;
    };
    const before = await eventually(allUp, { what: "three sessions Established", timeoutMs: 30_000 });
    const birdSince = async () =>
      (await bird.birdc("show", "protocols"))
        .split("\n")
        .filter((l) => /^b\d /.test(l))
        .map((l) => l.split(/\s+/).slice(0, 5).join(" "));
    const birdBefore = await birdSince();

    // One hold time changes: that session alone is reset and comes back with the new time.
    const file = await readFile(t.configFile, "utf8");
    const doc = parse(file);
    doc.peers[1].holdTimeSec = 30;
    await writeFile(t.configFile, stringify(doc));
    const r = await reload(t.socket);
    expect(r).toEqual({ code: 0, out: "reset    10.0.0.3 (holdTimeSec)\n" });
    const after = await eventually(
      async () => {
        const p = await allUp();
        return p && p.find((x) => x.address === "10.0.0.3")?.holdTimeSec === 30 ? p : false;
      },
      { what: "10.0.0.3 back with hold time 30", timeoutMs: 30_000 },
    );
    const of = (list: PeerStatus[], a: string) => list.find((x) => x.address === a)!;
    // The reset session is a new one (its Established time moved); the others are the same sessions.
    expect(of(after, "10.0.0.3").since).toBeGreaterThan(of(before, "10.0.0.3").since);
    expect(of(after, "10.0.0.2").since).toBe(of(before, "10.0.0.2").since);
    expect(of(after, "10.0.0.4").since).toBe(of(before, "10.0.0.4").since);
    const birdAfter = await birdSince();
    expect(birdAfter[0]).toBe(birdBefore[0]);
    expect(birdAfter[2]).toBe(birdBefore[2]);
    expect(birdAfter[1]).not.toBe(birdBefore[1]);

    // A broken file: refused with file, line and field; nothing changes.
    const good = await readFile(t.configFile, "utf8");
    await writeFile(t.configFile, good.replace("asn: 65004", "asn: sixty-five"));
    const bad = await reload(t.socket);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(
      /^tabby bgp reload: the configuration was not changed: .*speaker\.yaml:\d+:\d+: peers\[2\]\.asn: /,
    );
    const still = await peers();
    expect(still.map((p) => [p.state, p.flaps, p.since])).toEqual(
      after.map((p) => [p.state, p.flaps, p.since]),
    );

    // SIGHUP: a new originated prefix reaches BIRD, and no session is reset.
    const doc2 = parse(good);
    doc2.originate.push({ prefix: "198.51.100.0/24" });
    await writeFile(t.configFile, stringify(doc2));
    process.kill(t.proc.pid, "SIGHUP");
    await bird.waitForRoute("ipv4", "198.51.100.0/24");
    const last = await peers();
    expect(last.map((p) => [p.flaps, p.since])).toEqual(after.map((p) => [p.flaps, p.since]));
  }, 90_000);
});
