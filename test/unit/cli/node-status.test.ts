// tabbyctl node status against the agent's BIRD control sockets (real unix sockets in a temp dir):
// calicoctl's output byte for byte for up / start / down sessions, a wrapped INFO, IPv4 only, IPv6, no
// peers, not root, no agent, no BGP backend, a dead socket; and the same rows in -o json.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PeerStatus } from "../../../bgp/speaker/views.js";
import type { BirdView } from "../../../src/agent/bird-cli.js";
import { protocolTime } from "../../../src/agent/bird-cli.js";
import { serveBirdControl } from "../../../src/agent/bird-control.js";
import { hostNodeStatusDeps, isAgentProcess, type NodeStatusDeps } from "../../../src/cli/ctl/node-status.js";
import type { CliIo } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/tabbyctl.js";
import { peerStatus } from "../agent/peer-status.js";

const counts = { received: 0, accepted: 0, advertised: 0 };
const NOW = Date.now();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const peer = (over: Partial<PeerStatus>): PeerStatus =>
  peerStatus({
    name: "Mesh_10_0_0_12",
    address: "10.0.0.12",
    since: NOW - 3600_000,
    prefixes: { ipv4: { ...counts, accepted: 2 }, ipv6: { ...counts } },
    ...over,
  });

const view = (sessions: PeerStatus[]): BirdView => ({
  routerId: "10.0.0.11",
  bootedAt: NOW - 7200_000,
  reconfiguredAt: NOW - 7200_000,
  gracefulRestartWaiting: 0,
  sessions,
  routes: () => [],
});

async function host(v4?: PeerStatus[], v6?: PeerStatus[]) {
  const dir = mkdtempSync(join(tmpdir(), "tabby-status-"));
  if (v4 !== undefined) {
    const s = await serveBirdControl(join(dir, "bird.ctl"), () => view(v4));
    closers.push(() => s.close());
  }
  if (v6 !== undefined) {
    const s = await serveBirdControl(join(dir, "bird6.ctl"), () => view(v6));
    closers.push(() => s.close());
  }
  return dir;
}

async function status(dir: string, over: Partial<NodeStatusDeps> = {}, args: string[] = []) {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env: { TABBY_BIRD_SOCKET_DIR: dir, TABBY_STATUS_SOCKET: join(dir, "node.sock") },
  };
  const deps: NodeStatusDeps = {
    ...hostNodeStatusDeps,
    uid: () => 0,
    processes: async () => [["/usr/bin/node", "/opt/tabby/dist/src/cli/tabby.js", "node", "run"]],
    ...over,
  };
  const code = await main(["node", "status", ...args], io, undefined, deps);
  return { code, ...out };
}

const t = (ms: number) => protocolTime(ms, Date.now()).padEnd(8);

describe("tabbyctl node status", () => {
  it("prints calicoctl's table: up, start and down sessions, INFO wrapped at 30, no bird6", async () => {
    const dir = await host([
      peer({}),
      peer({
        name: "Mesh_10_0_0_13",
        address: "10.0.0.13",
        state: "Active",
        since: NOW - 60_000,
        lastError: "connect to 10.0.0.13 port 179: no route to host",
      }),
      peer({
        name: "Global_192_0_2_1",
        address: "192.0.2.1",
        type: "ebgp",
        asn: 65000,
        since: NOW - 86400_000 * 3,
      }),
      peer({ name: "Node_10_0_0_20", address: "10.0.0.20", state: "OpenSent", since: NOW - 5000 }),
    ]);
    const r = await status(dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const old = protocolTime(NOW - 86400_000 * 3, Date.now());
    expect(r.stdout).toBe(
      [
        "Calico process is running.",
        "",
        "IPv4 BGP status",
        "+--------------+-------------------+-------+------------+--------------------------------+",
        "| PEER ADDRESS |     PEER TYPE     | STATE |   SINCE    |              INFO              |",
        "+--------------+-------------------+-------+------------+--------------------------------+",
        `| 10.0.0.12    | node-to-node mesh | up    | ${t(NOW - 3600_000)}   | Established                    |`,
        `| 10.0.0.13    | node-to-node mesh | start | ${t(NOW - 60_000)}   | Active Socket: connect to      |`,
        "|              |                   |       |            | 10.0.0.13 port 179: no route   |",
        "|              |                   |       |            | to host                        |",
        `| 192.0.2.1    | global            | up    | ${old} | Established                    |`,
        `| 10.0.0.20    | node specific     | start | ${t(NOW - 5000)}   | OpenSent                       |`,
        "+--------------+-------------------+-------+------------+--------------------------------+",
        "",
        "INFO: BIRDv6 process: 'bird6' is not running.",
        "",
        "",
      ].join("\n"),
    );
  });

  it("IPv6 sessions through bird6.ctl, and no IPv4 peers", async () => {
    const dir = await host(
      [],
      [peer({ name: "Mesh_fd00__12", address: "fd00::12", families: ["ipv6"], since: NOW - 10_000 })],
    );
    const r = await status(dir);
    expect(r.stdout).toBe(
      [
        "Calico process is running.",
        "",
        "IPv4 BGP status",
        "No IPv4 peers found.",
        "",
        "IPv6 BGP status",
        "+--------------+-------------------+-------+----------+-------------+",
        "| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |",
        "+--------------+-------------------+-------+----------+-------------+",
        `| fd00::12     | node-to-node mesh | up    | ${t(NOW - 10_000)} | Established |`,
        "+--------------+-------------------+-------+----------+-------------+",
        "",
        "",
      ].join("\n"),
    );
  });

  it("not root, no agent, no BGP backend, and a socket nobody answers", async () => {
    const dir = await host([peer({})]);
    const notRoot = await status(dir, { uid: () => 1000 });
    expect([notRoot.code, notRoot.stdout, notRoot.stderr]).toEqual([
      1,
      "Need super user privileges: Operation not permitted\n",
      "",
    ]);
    const noAgent = await status(dir, {
      processes: async () => [["/usr/sbin/sshd"], ["node", "x.js", "node", "run"]],
    });
    expect([noAgent.code, noAgent.stdout, noAgent.stderr]).toEqual([
      1,
      "",
      "Calico process is not running.\n",
    ]);
    const none = await status(mkdtempSync(join(tmpdir(), "tabby-status-")));
    expect(none.stdout).toBe(
      "Calico process is running.\n\nThe BGP backend process (BIRD) is not running.\n\n",
    );
    const dead = mkdtempSync(join(tmpdir(), "tabby-status-"));
    writeFileSync(join(dead, "bird.ctl"), "");
    const d = await status(dead);
    expect(d.stdout).toBe(
      `Calico process is running.\n\nIPv4 BGP status\nError querying BIRD: unable to connect to BIRDv4 socket: dial unix ${join(dead, "bird.ctl")}: connect: connection refused\nINFO: BIRDv6 process: 'bird6' is not running.\n\n`,
    );
  });

  it("-o json: the same rows as fields", async () => {
    const dir = await host([
      peer({}),
      peer({ name: "Mesh_10_0_0_13", address: "10.0.0.13", state: "Connect" }),
    ]);
    const r = await status(dir, {}, ["-o", "json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.agent).toBe("running");
    expect(doc.ipv6).toEqual({ running: false, peers: [] });
    expect(doc.ipv4.peers).toEqual([
      {
        peerAddress: "10.0.0.12",
        peerType: "node-to-node mesh",
        state: "up",
        since: t(NOW - 3600_000).trim(),
        bgpState: "Established",
        info: "",
      },
      {
        peerAddress: "10.0.0.13",
        peerType: "node-to-node mesh",
        state: "start",
        since: t(NOW - 3600_000).trim(),
        bgpState: "Connect",
        info: "",
      },
    ]);
    expect((await status(dir, {}, ["-o", "xml"])).code).toBe(2);
  });

  it("knows the agents: tabby node run, calico-felix, calico-node -felix", () => {
    expect(isAgentProcess(["node", "/usr/lib/tabby/dist/src/cli/tabby.js", "node", "run"])).toBe(true);
    expect(isAgentProcess(["/usr/local/bin/tabby", "node", "run"])).toBe(true);
    expect(isAgentProcess(["calico-felix"])).toBe(true);
    expect(isAgentProcess(["calico-node", "-felix"])).toBe(true);
    expect(isAgentProcess(["/usr/local/bin/tabby", "bgp", "run"])).toBe(false);
  });
});
