/**
 * The autodetection shell against a real kernel: a namespace with two veths (eth0 with a default route,
 * and a later docker0 that first-found must skip), read from inside (a child Node process started with
 * `ip netns exec`, since a process cannot enter a namespace itself) and from outside (`nsenter`).
 */
import { expect, it } from "vitest";
import { listHostInterfaces, sourceAddressFor } from "../../../src/agent/host-interfaces.js";
import { connectVeth, Netns } from "../../harness/netns.js";
import { describeWith, findExecutable } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";

const shell = new URL("../../../src/agent/host-interfaces.ts", import.meta.url).href;

/** A namespace `node` (eth0 10.77.0.2/24 + fd77::2/64, default routes out of it, docker0 172.30.0.1/16). */
async function nodeNamespace() {
  const scope = testScope();
  const node = await Netns.create(scope);
  const gw = await Netns.create(scope);
  await connectVeth(
    { ns: node, name: "eth0", addresses: ["10.77.0.2/24", "fd77::2/64"] },
    { ns: gw, name: "up0", addresses: ["10.77.0.1/24", "fd77::1/64"] },
  );
  await connectVeth({ ns: node, name: "docker0", addresses: ["172.30.0.1/16"] }, { ns: gw, name: "up1" });
  await node.addRoute("default", "via", "10.77.0.1");
  await node.addRoute("default", "via", "fd77::1");
  return node;
}

/** Runs `body` (an async function body with `m`, the shell module, in scope) inside `ns`; returns its JSON. */
async function inside(ns: Netns, body: string): Promise<unknown> {
  const code = `const m = await import(${JSON.stringify(shell)});
const out = await (async () => { ${body} })();
process.stdout.write(JSON.stringify(out));`;
  const r = await ns.exec(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    timeoutMs: 20_000,
  });
  return JSON.parse(r.stdout);
}

describeWith(["root", "iproute2"], "host interfaces and source addresses in a network namespace", () => {
  it("inside the namespace: os.networkInterfaces + sysfs, UDP connect source, and detection", async () => {
    const node = await nodeNamespace();
    const got = (await inside(
      node,
      `const ifaces = await m.listHostInterfaces();
       const err = await m.detectAddress({ kind: "interface", patterns: [/eth9/] }, 4).catch((e) => e.message);
       return {
         ifaces,
         src4: await m.sourceAddressFor("192.0.2.55"),
         src4onLink: await m.sourceAddressFor("10.77.0.1"),
         src6: await m.sourceAddressFor("2001:db8::55", 6),
         firstFound: await m.detectAddress({ kind: "first-found" }, 4),
         firstFound6: await m.detectAddress({ kind: "first-found" }, 6),
         canReach: await m.detectAddress({ kind: "can-reach", dest: "192.0.2.55" }, 4),
         canReach6: await m.detectAddress({ kind: "can-reach", dest: "2001:db8::55" }, 6, {}).then(
           (r) => r.cidr, (e) => e.message),
         err,
       };`,
    )) as Record<string, unknown> & {
      ifaces: { name: string; index?: number; up?: boolean; addresses: unknown[] }[];
    };

    const byName = Object.fromEntries(got.ifaces.map((i) => [i.name, i]));
    expect(Object.keys(byName).sort()).toEqual(["docker0", "eth0", "lo"]);
    expect(byName.eth0).toMatchObject({ up: true });
    expect(byName.eth0!.addresses).toEqual(
      expect.arrayContaining([
        { address: "10.77.0.2", prefixLength: 24 },
        { address: "fd77::2", prefixLength: 64 },
        expect.objectContaining({ address: expect.stringMatching(/^fe80::/), prefixLength: 64 }),
      ]),
    );
    expect(byName.docker0!.addresses).toContainEqual({ address: "172.30.0.1", prefixLength: 16 });
    expect(byName.lo!.index).toBe(1);
    expect(byName.docker0!.index!).toBeGreaterThan(byName.eth0!.index!);

    expect(got.src4).toBe("10.77.0.2");
    expect(got.src4onLink).toBe("10.77.0.2");
    expect(got.src6).toBe("fd77::2");
    // docker0 is the newest interface, so Calico's walk meets it first, and its exclusion skips it.
    expect(got.firstFound).toEqual({ cidr: "10.77.0.2/24", interface: "eth0" });
    expect(got.firstFound6).toEqual({ cidr: "fd77::2/64", interface: "eth0" });
    expect(got.canReach).toEqual({ cidr: "10.77.0.2/24", interface: "eth0" });
    expect(got.canReach6).toBe("fd77::2/64");
    expect(got.err).toBe(
      `IP_AUTODETECTION_METHOD=interface=eth9: no interface matches eth9 (have: ${got.ifaces.map((i) => i.name).join(", ")})`,
    );
  });

  it("a can-reach destination with no route names the method and the kernel's error", async () => {
    const node = await nodeNamespace();
    await node.ip("route", "del", "default");
    const msg = await inside(
      node,
      `return m.detectAddress({ kind: "can-reach", dest: "192.0.2.55" }, 4).then((r) => r.cidr, (e) => [e.code, e.message]);`,
    );
    expect(msg).toEqual([
      "AGENT_AUTODETECT",
      expect.stringMatching(
        /^IP_AUTODETECTION_METHOD=can-reach=192\.0\.2\.55: connecting a UDP socket to 192\.0\.2\.55 port 80 failed: .*ENETUNREACH/,
      ),
    ]);
  });

  it("from outside, through nsenter: the same interfaces and source address", async (ctx) => {
    if (findExecutable("nsenter") === undefined) {
      ctx.skip("nsenter (util-linux) is not installed");
      return;
    }
    const node = await nodeNamespace();
    const path = `/var/run/netns/${node.name}`;
    const ifaces = await listHostInterfaces(path);
    expect(ifaces.map((i) => i.name)).toEqual(["lo", "eth0", "docker0"]);
    expect(ifaces[1]).toMatchObject({ up: true });
    expect(ifaces[1]!.addresses).toEqual(
      expect.arrayContaining([
        { address: "10.77.0.2", prefixLength: 24 },
        { address: "fd77::2", prefixLength: 64 },
      ]),
    );
    expect(await sourceAddressFor("192.0.2.55", 4, path)).toBe("10.77.0.2");
    expect(await sourceAddressFor("2001:db8::55", 6, path)).toBe("fd77::2");
    // The test process itself is not in that namespace: its own view must differ.
    expect((await listHostInterfaces()).some((i) => i.addresses.some((a) => a.address === "10.77.0.2"))).toBe(
      false,
    );
  });
});
