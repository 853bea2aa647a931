/**
 * `tabby lab` as a newcomer runs it: the built `tabby lab up` as its own process, as root, with three
 * nodes in each encapsulation mode, BIRD and FRR ToRs and both datastores. Each run must answer the
 * whole ping matrix; `status`, `exec ... tabbyctl node status` and kubectl must read the lab; and
 * every way of ending it (Ctrl-C, `tabby lab down`, `down` after `up` was SIGKILLed) must leave no
 * namespace, process, interface or directory. The lab's namespaces carry the harness's name prefix
 * (TABBY_LAB_PREFIX) and its directory is a harness temp dir, so the final sweep sees anything left.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import puppeteer from "puppeteer-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { run } from "../harness/exec.js";
import { makeTempDir, uniqueName } from "../harness/naming.js";
import { Netns } from "../harness/netns.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, "../..");
const TABBY = join(ROOT, "dist/src/cli/tabby.js");

interface Up {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | string>;
}

describeWith(["root", "iproute2", "ping", "bird", "frr", "etcd", "kubectl", "chromium"], "tabby lab", () => {
  const scope = suiteScope();
  let env: NodeJS.ProcessEnv;
  let prefix: string;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(TABBY)) throw new Error(`${TABBY} is missing: run \`npm run build\` first`);
    const top = await makeTempDir(scope);
    // FRR's daemons drop to user frr, which must reach the ToR's directory inside the lab's.
    await chmod(top, 0o755);
    dir = join(top, "lab");
    prefix = uniqueName();
    env = { ...process.env, TABBY_LAB_DIR: dir, TABBY_LAB_PREFIX: prefix };
  });

  afterAll(async () => {
    await tabby("lab", "down").catch(() => undefined);
  });

  const tabby = async (...args: string[]) => {
    const r = await run(process.execPath, [TABBY, ...args], { env, allowFailure: true, timeoutMs: 120_000 });
    return r;
  };

  function up(...args: string[]): Up {
    const child = spawn(process.execPath, [TABBY, "lab", "up", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown")),
    );
    scope.defer("stop tabby lab up", () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    return { child, output: () => out, exited };
  }

  async function whenUp(u: Up): Promise<string> {
    let exited: number | string | undefined;
    void u.exited.then((c) => {
      exited = c;
    });
    await eventually(() => exited !== undefined || /\nlab is up in /.test(u.output()), {
      what: "tabby lab up to print 'lab is up'",
      timeoutMs: 150_000,
      intervalMs: 200,
    });
    if (exited !== undefined) throw new Error(`tabby lab up exited ${exited}:\n${u.output()}`);
    return u.output();
  }

  /** What of the lab is still on the machine. */
  async function remains(): Promise<string[]> {
    const out: string[] = [];
    const ns = (await run("ip", ["netns", "list"])).stdout;
    out.push(...ns.split("\n").filter((l) => l.startsWith(prefix)));
    const procs = (await run("sh", ["-c", `grep -l -a -s 'TABBY_LAB=${dir}' /proc/[0-9]*/environ || true`]))
      .stdout;
    out.push(...procs.split("\n").filter((l) => l !== "" && !l.includes("/self/")));
    if ((await run("ip", ["link", "show", "tabbylab0"], { allowFailure: true })).code === 0)
      out.push("tabbylab0");
    if (existsSync(dir)) out.push(dir);
    return out;
  }

  it("up: three nodes, native routing, a BIRD ToR, the Kubernetes datastore; status, exec and kubectl read it; a second up refuses; Ctrl-C takes it all down", async () => {
    const u = up("--nodes", "3");
    const out = await whenUp(u);
    expect(out).toContain("30/30 pings answered");
    expect(out).not.toContain("FAIL");
    expect(out).toMatch(/lab is up in [\d.]+ s: 3 nodes, 6 pods, 30\/30 pings answered/);
    // The ToR learned a /26 per node into its kernel, from BIRD.
    const torRoutes = out
      .split("\n")
      .filter((l) => /^10\.244\.\d+\.\d+\/26 via 198\.18\.0\.1[123] dev eth0 proto bird/.test(l));
    expect(torRoutes).toHaveLength(3);
    // Each block via its own node: the nodes pass mesh-learned blocks on with the owner as next hop.
    for (const k of [1, 2, 3]) {
      const ip = new RegExp(`\nnode${k}-a \\((10\\.244\\.\\d+)\\.(\\d+)\\)`).exec(out)!;
      const block = `${ip[1]}.${Number(ip[2]) & 0xc0}/26`;
      expect(torRoutes.filter((l) => l.startsWith(`${block} via 198.18.0.1${k} `))).toHaveLength(1);
    }
    expect(out).toMatch(/node1 +BGP +--- +up .*Established/);

    const status = await tabby("lab", "status");
    expect(status.code).toBe(0);
    for (const n of ["node1", "node2", "node3"])
      expect(status.stdout).toMatch(
        new RegExp(`\\n${n} +198\\.18\\.0\\.1\\d +ready +3/3 Established +${n}-a=10\\.244\\.`),
      );

    const ns = await tabby("lab", "exec", "node2", "--", "tabbyctl", "node", "status");
    expect(ns.code).toBe(0);
    expect(ns.stdout).toMatch(/^Calico process is running\.\n\nIPv4 BGP status\n/);
    expect(ns.stdout).toMatch(/\| 198\.18\.0\.254 \| global +\| up +\| [\d:]+ \| Established \|/);
    expect(ns.stdout.match(/node-to-node mesh \| up/g)).toHaveLength(2);

    // One pod's whole path, from node1: pool, block, endpoint, BGP route and the kernel route as expected.
    const ex = await tabby("lab", "exec", "node1", "--", "tabbyctl", "explain", "default/node2-a");
    expect(ex.code, ex.stdout + ex.stderr).toBe(0);
    expect(ex.stdout).toMatch(/^pod default\/node2-a \(10\.244\.\d+\.\d+\)\n/);
    expect(ex.stdout).toMatch(
      /\n {2}bgp {7}best path 10\.244\.\d+\.\d+\/26 via 198\.18\.0\.12 from Mesh_198_18_0_12\n/,
    );
    expect(ex.stdout).toMatch(
      /\n {2}kernel {4}10\.244\.\d+\.\d+\/26 via 198\.18\.0\.12 dev eth0 proto bird: as expected\nno problems found\n$/,
    );
    // Every node's report, from the datastore (the lab asks each agent for one).
    const all = await eventually(
      async () => {
        const r = await tabby("lab", "exec", "node1", "--", "tabbyctl", "node", "status", "--all");
        return r.code === 0 ? r : false;
      },
      { what: "tabbyctl node status --all to find every session up", timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(all.stdout.match(/^Node node\d \(CalicoNodeStatus node\d-status, updated /gm)).toHaveLength(3);
    expect(all.stdout.match(/\| Established \|/g)).toHaveLength(9);
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)![1]!;
    const kenv = { ...process.env, KUBECONFIG: kubeconfig };
    const nodes = await execFileAsync("kubectl", ["get", "nodes", "--no-headers"], { env: kenv });
    expect(nodes.stdout.split("\n").filter((l) => /^node\d +Ready /.test(l))).toHaveLength(3);
    const pods = await execFileAsync("kubectl", ["get", "pods", "-o", "wide", "--no-headers"], { env: kenv });
    expect(
      pods.stdout.split("\n").filter((l) => /^node\d-[ab] +Running +10\.244\.\d+\.\d+ +node\d/.test(l)),
    ).toHaveLength(6);

    // A Service for node2's pods with externalTrafficPolicy: Local: the lab's endpoint controller
    // lists them, node2 alone announces the external IP, and the ToR routes it via node2.
    const svc = await run("kubectl", ["apply", "-f", "-"], {
      env: kenv,
      input: [
        "apiVersion: v1",
        "kind: Service",
        "metadata: {name: web}",
        "spec:",
        "  selector: {lab-node: node2}",
        "  externalIPs: [198.51.100.10]",
        "  externalTrafficPolicy: Local",
        "  ports: [{port: 80}]",
        "",
      ].join("\n"),
    });
    expect(svc.stdout.trim()).toBe("service/web created");
    const slice = await eventually(
      async () => {
        const r = await run("kubectl", ["get", "endpointslice", "web-lab", "-o", "json"], {
          env: kenv,
          allowFailure: true,
        });
        return r.code === 0 ? JSON.parse(r.stdout) : false;
      },
      { what: "the lab's endpoint controller to write web-lab", timeoutMs: 10_000, intervalMs: 200 },
    );
    expect(slice.endpoints.map((e: { nodeName: string }) => e.nodeName)).toEqual(["node2", "node2"]);
    await eventually(
      async () => {
        const r = (await run("ip", ["-n", `${prefix}-tor`, "route", "show", "198.51.100.10"])).stdout;
        return /^198\.51\.100\.10 via 198\.18\.0\.12 dev eth0 proto bird/.test(r) ? r : false;
      },
      { what: "the ToR to route the Service's external IP via node2", timeoutMs: 15_000, intervalMs: 250 },
    );

    const second = await tabby("lab", "up", "--nodes", "1");
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^tabby lab up: a lab is already up \(tabby lab up, pid \d+, since /);

    u.child.kill("SIGINT");
    expect(await u.exited).toBe(0);
    expect(u.output()).toMatch(
      /== taking the lab down\nlab down: \d+ processes stopped, 11 namespaces removed, tabbylab0 removed/,
    );
    expect(await remains()).toEqual([]);
  }, 240_000);

  it("the topology page, in a real Chromium: every session Established after up, and red within 2 s of an agent's kill -9", async () => {
    const u = up("--nodes", "3", "--pods-per-node", "1");
    const out = await whenUp(u);
    const url = /topology page: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
    const browser = await puppeteer.launch({
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    scope.defer("close chromium", () => browser.close());
    const page = await browser.newPage();
    await page.goto(url);
    // Three nodes, each with two mesh sessions and the ToR: nine rows, all up; the map draws the three
    // ToR links and the three mesh pairs green.
    await page.waitForFunction(
      `document.querySelectorAll("tr[data-session].up").length === 9 &&
       document.querySelectorAll("tr[data-session].down").length === 0`,
      { timeout: 30_000 },
    );
    expect(
      await page.$$eval("[data-link].up", (els) => els.map((e) => e.getAttribute("data-link")).sort()),
    ).toEqual(["node1~node2", "node1~node3", "node1~tor", "node2~node3", "node2~tor", "node3~tor"]);
    // The page is live: the blocks appear once the datastore read after the pods lands.
    await page.waitForFunction(
      `/blocks: 10\\.244\\.\\d+\\.\\d+\\/26/.test(document.querySelector('[data-node="node2"].card')?.textContent ?? "")`,
      { timeout: 10_000 },
    );
    const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as {
      daemons: { what: string; pid: number }[];
    };
    const victim = state.daemons.find((d) => d.what === "agent node3")!;
    process.kill(victim.pid, "SIGKILL");
    await page.waitForFunction(
      `document.querySelector('tr[data-node="node1"][data-session="Mesh_198_18_0_13"]')?.className === "down" &&
       document.querySelector('.card[data-node="node3"]')?.getAttribute("data-agent") === "down"`,
      { timeout: 2_000 },
    );
    expect(await page.$eval('[data-link="node1~node3"]', (e) => e.getAttribute("class"))).toBe("down");
    expect(await page.$eval('[data-link="node1~node2"]', (e) => e.getAttribute("class"))).toBe("up");
    await eventually(() => /agent node3 \(pid \d+\) is no longer running/.test(u.output()), {
      what: "up to say the agent stopped",
      timeoutMs: 5_000,
    });
    await browser.close();
    u.child.kill("SIGINT");
    expect(await u.exited).toBe(0);
    expect(await remains()).toEqual([]);
  }, 240_000);

  it("up --encap ipip: where the kernel has no IP-in-IP it says so and uses VXLAN; the matrix answers; tabby lab down ends it", async () => {
    const probeNs = await Netns.create(scope);
    const probe = await run("ip", ["-n", probeNs.name, "link", "add", "probe0", "type", "ipip"], {
      allowFailure: true,
    });
    const u = up("--encap", "ipip");
    const out = await whenUp(u);
    if (probe.code !== 0) {
      expect(out).toContain(
        "note: --encap ipip: this kernel has no IP-in-IP (ipip) support, so the pool uses VXLAN (vxlanMode: Always) instead",
      );
      expect(out).toContain("(ipipMode Never, vxlanMode Always)");
    } else expect(out).toContain("(ipipMode Always, vxlanMode Never)");
    expect(out).toContain("30/30 pings answered");
    const down = await tabby("lab", "down");
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/^stopping tabby lab up \(pid \d+\)/);
    expect(await u.exited).toBe(0);
    expect(await remains()).toEqual([]);
  }, 240_000);

  it("up --encap crosssubnet --tor frr: two subnets behind the FRR ToR, encapsulated only across them", async () => {
    const u = up("--encap", "crosssubnet", "--tor", "frr");
    const out = await whenUp(u);
    expect(out).toContain("== network: 198.18.0.0/24 and 198.18.1.0/24, ToR frr, 3 nodes");
    expect(out).toMatch(/vxlanMode CrossSubnet|ipipMode CrossSubnet/);
    expect(out).toContain("30/30 pings answered");
    // Three blocks and the service external-IP range (serviceExternalIPs) from node3.
    expect(out).toMatch(/198\.18\.1\.13 +4 +64512 .* 4 +0 N\/A/);
    const s = await tabby("lab", "status");
    expect(s.stdout).toMatch(/\nnode3 +198\.18\.1\.13 +ready +3\/3 Established/);
    u.child.kill("SIGTERM");
    expect(await u.exited).toBe(0);
    expect(await remains()).toEqual([]);
  }, 240_000);

  it("up --encap vxlan --datastore etcdv3, then up is SIGKILLed: down removes what it left", async () => {
    const u = up("--encap", "vxlan", "--datastore", "etcdv3");
    const out = await whenUp(u);
    expect(out).toContain("== datastore: etcd at http://198.18.0.250:2379");
    expect(out).toContain("30/30 pings answered");
    u.child.kill("SIGKILL");
    await u.exited;
    expect((await remains()).length).toBeGreaterThan(5);
    const again = await tabby("lab", "up");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /a lab that did not shut down is still here \(\d+ namespaces, .*state\.json\): `tabby lab down` removes it/,
    );
    const down = await tabby("lab", "down");
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(
      /^lab down: [4-9] processes stopped, 11 namespaces removed, tabbylab0 removed/,
    );
    expect(await remains()).toEqual([]);
  }, 240_000);

  it("up --encap vxlan-backend: no BGP at all (so no ToR daemon), VXLAN routes from the datastore; the matrix answers", async () => {
    const u = up("--encap", "vxlan-backend", "--nodes", "3");
    const out = await whenUp(u);
    expect(out).toContain("note: --encap vxlan-backend: the nodes run no BGP");
    expect(out).toContain("30/30 pings answered");
    const s = await tabby("lab", "status");
    expect(s.stdout).toMatch(/\nnode1 +198\.18\.0\.11 +ready +- +node1-a=/);
    u.child.kill("SIGINT");
    expect(await u.exited).toBe(0);
    expect(await remains()).toEqual([]);
  }, 240_000);
});
