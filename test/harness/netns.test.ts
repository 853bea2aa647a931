import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./exec.js";
import { connectToBridge, connectVeth, Netns } from "./netns.js";
import { describeWith } from "./requirements.js";
import { Scope, testScope } from "./scope.js";

async function listNetns(): Promise<string[]> {
  const r = await run("ip", ["-j", "netns", "list"]);
  return (JSON.parse(r.stdout || "[]") as { name: string }[]).map((n) => n.name);
}

describeWith(["root", "iproute2", "ping"], "netns harness", () => {
  it("joins two namespaces with a veth and they ping each other over IPv4 and IPv6", async () => {
    const scope = testScope();
    const a = await Netns.create(scope);
    const b = await Netns.create(scope);
    await connectVeth(
      { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
      { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
    );
    const v4 = await a.exec("ping", ["-c", "1", "-W", "2", "10.0.0.2"]);
    expect(v4.stdout).toContain("1 received");
    const v6 = await b.exec("ping", ["-6", "-c", "1", "-W", "2", "fd00::1"]);
    expect(v6.stdout).toContain("1 received");
    expect(await a.addresses("eth0")).toEqual(expect.arrayContaining(["10.0.0.1/24", "fd00::1/64"]));
  });

  it("connects three namespaces through a bridge and routes between subnets", async () => {
    const scope = testScope();
    const sw = await Netns.create(scope);
    const h1 = await Netns.create(scope);
    const h2 = await Netns.create(scope);
    const router = await Netns.create(scope, { forwarding: true });
    await sw.createBridge("br0");
    await connectToBridge(sw, "br0", "p1", { ns: h1, name: "eth0", addresses: ["10.1.0.1/24"] });
    await connectToBridge(sw, "br0", "p2", { ns: router, name: "eth0", addresses: ["10.1.0.254/24"] });
    await connectVeth(
      { ns: router, name: "eth1", addresses: ["10.2.0.254/24"] },
      { ns: h2, name: "eth0", addresses: ["10.2.0.1/24"] },
    );
    await h1.addRoute("10.2.0.0/24", "via", "10.1.0.254");
    await h2.addRoute("default", "via", "10.2.0.254");
    const r = await h1.exec("ping", ["-c", "1", "-W", "2", "10.2.0.1"]);
    expect(r.stdout).toContain("1 received");
    const routes = await h1.routes();
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.2.0.0/24", gateway: "10.1.0.254" }));
  });

  it("runs a child process inside the namespace and sees only that namespace's interfaces", async () => {
    const scope = testScope();
    const a = await Netns.create(scope);
    const out = await a.exec("ip", ["-o", "link"]);
    expect(out.stdout.trim().split("\n")).toHaveLength(1); // only lo
    // A TypeScript entry point runs in the namespace under tsx and reports its interfaces.
    const child = a.spawnNode(new URL("./fixtures/print-interfaces.ts", import.meta.url));
    expect(await child.exited).toBe(0);
  });

  it("deletes the namespace and kills its processes when the scope closes, even after a failure", async () => {
    const scope = new Scope();
    const ns = await Netns.create(scope);
    // `ip netns exec` enters the namespace before it execs the command, so the test waits for the
    // command's word (through a FIFO) before it asks which pids are inside.
    const dir = await mkdtemp(join(tmpdir(), "tabbyt-netns-"));
    scope.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    const fifo = join(dir, "ready");
    await run("mkfifo", [fifo]);
    const sleeper = ns.spawn("sh", ["-c", `echo ready > ${fifo}; exec sleep 600`]);
    expect((await readFile(fifo, "utf8")).trim()).toBe("ready");
    expect(await ns.pids()).toContain(sleeper.pid);
    expect(await listNetns()).toContain(ns.name);
    const failing = (async () => {
      throw new Error("test body failed");
    })();
    await expect(failing).rejects.toThrow("test body failed");
    await scope.close();
    expect(await listNetns()).not.toContain(ns.name);
    expect(await sleeper.exited).toBe("SIGTERM");
  });
});

describe("netns harness without root", () => {
  it("names every namespace with the run prefix and the creator's pid", async () => {
    const { uniqueName, parseName } = await import("./naming.js");
    const n = uniqueName();
    expect(n.startsWith("tabbyt-")).toBe(true);
    expect(parseName(n)?.pid).toBe(process.pid);
  });
});
