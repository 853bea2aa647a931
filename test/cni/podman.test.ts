/**
 * Real podman driving tabby-cni, with portmap, bandwidth and tuning chained after it, on two lab nodes
 * whose agents run (BGP full mesh over the lab segment, the embedded API server as datastore). podman
 * sends no K8S_POD_NAMESPACE, so these are plain CNI workloads: addresses from the pool, Calico's veth,
 * no Pod to annotate.
 */
import { beforeAll, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { type LabNode, ping, routeLines } from "../agent/agent-lab.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { CniLab } from "./cni-lab.js";
import { IMAGE, Podman } from "./podman.js";

const NETWORK = "tabbynet";
const POOL = "10.74.0.0/24";

describeWith(["root", "iproute2", "ping", "podman"], "podman drives tabby-cni", () => {
  const scope = suiteScope();
  let cni: CniLab;
  let pm: Podman;
  let n1: LabNode;
  let n2: LabNode;

  const conflist = (node: LabNode) => ({
    cniVersion: "1.0.0",
    name: NETWORK,
    plugins: [
      cni.conflistPlugin(node),
      { type: "portmap", snat: true, capabilities: { portMappings: true } },
      { type: "bandwidth", capabilities: { bandwidth: true } },
      { type: "tuning", sysctl: { "net.ipv4.conf.eth0.accept_redirects": "0" } },
    ],
  });

  async function run(node: LabNode, name: string, extra: string[] = [], cmd = ["sleep", "600"]) {
    await pm.ok(node, [
      "run",
      "-d",
      "--name",
      name,
      "--cap-add",
      "NET_RAW",
      "--network",
      NETWORK,
      ...extra,
      IMAGE,
      ...cmd,
    ]);
    const ip = await pm.ok(node, [
      "inspect",
      "-f",
      `{{.NetworkSettings.Networks.${NETWORK}.IPAddress}}`,
      name,
    ]);
    const id = await pm.ok(node, ["inspect", "-f", "{{.Id}}", name]);
    return { name, ip, id, node };
  }

  const handles = () => cni.handles();
  const caliLinks = (on: LabNode) => cni.caliLinks(on);

  const inPool = (ip: string) => ip.startsWith("10.74.0.");

  beforeAll(async () => {
    cni = await CniLab.create(scope);
    await cni.createObjects(
      ["n1", "n2"].map((name) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: {} })),
    );
    n1 = await cni.lab.addNode("n1", "10.0.0.11");
    n2 = await cni.lab.addNode("n2", "10.0.0.12");
    await cni.lab.waitReady(n1);
    await cni.lab.waitReady(n2);
    await cni.apply([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "podman-pool" },
        spec: { cidr: POOL, blockSize: 28, ipipMode: "Never", vxlanMode: "Never", natOutgoing: false },
      },
    ]);
    pm = await Podman.create(scope);
    await pm.addNetwork(n1, cni.binDir, conflist(n1));
    await pm.addNetwork(n2, cni.binDir, conflist(n2));
  }, 180_000);

  let a: Awaited<ReturnType<typeof run>>;
  let b: Awaited<ReturnType<typeof run>>;

  it("podman run gives two containers pool addresses on Calico's veths; they ping each other; tuning ran", {
    timeout: 120_000,
  }, async () => {
    a = await run(n1, "a");
    b = await run(n1, "b");
    expect(inPool(a.ip) && inPool(b.ip)).toBe(true);
    expect(a.ip).not.toBe(b.ip);
    expect(await handles()).toEqual(expect.arrayContaining([`${NETWORK}.${a.id}`, `${NETWORK}.${b.id}`]));
    // Calico's container side: a /32 on eth0 and the default route through 169.254.1.1.
    expect(await pm.ok(n1, ["exec", "a", "ip", "-o", "-4", "addr", "show", "eth0"])).toContain(
      `inet ${a.ip}/32`,
    );
    expect(await pm.ok(n1, ["exec", "a", "ip", "route"])).toContain("default via 169.254.1.1 dev eth0");
    expect((await caliLinks(n1)).length).toBe(2);
    expect((await pm.podman(n1, ["exec", "a", "ping", "-c", "1", "-W", "2", b.ip])).code).toBe(0);
    // tuning, chained after tabby-cni, got its prevResult and set the sysctl in the container.
    expect(await pm.ok(n1, ["exec", "a", "cat", "/proc/sys/net/ipv4/conf/eth0/accept_redirects"])).toBe("0");
  });

  it("a port published with -p answers from another node through portmap", { timeout: 120_000 }, async () => {
    await run(
      n1,
      "web",
      ["-p", "10.0.0.11:18080:8080"],
      ["sh", "-c", "while true; do echo hello | nc -l -p 8080; done"],
    );
    const got = await eventually(
      async () => {
        const r = await n2.ns.exec("bash", ["-c", "exec 3<>/dev/tcp/10.0.0.11/18080; timeout 2 cat <&3"], {
          allowFailure: true,
        });
        return r.stdout.includes("hello") ? r.stdout : undefined;
      },
      { what: "hello from the published port", timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(got.trim()).toBe("hello");
  });

  it("a container on the second node reaches one on the first over the BGP-announced block routes", {
    timeout: 120_000,
  }, async () => {
    const c = await run(n2, "c");
    expect(inPool(c.ip)).toBe(true);
    let last = "";
    try {
      await eventually(
        async () => {
          const r = await pm.podman(n2, ["exec", "c", "ping", "-c", "1", "-W", "1", a.ip]);
          last = `exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`;
          return r.code === 0;
        },
        { what: `c on n2 pinging a (${a.ip}) on n1`, timeoutMs: 60_000, intervalMs: 500 },
      );
    } catch (e) {
      // What a reader of a failed run needs: the last attempt, both nodes' routes, the blocks, the agents' logs.
      const blocks = await cni.lab.ctl<Resource[]>("list", "BlockAffinity").catch(() => []);
      (e as Error).message +=
        `\n--- last podman exec ---\n${last}` +
        `\n--- c ---\n${(await pm.podman(n2, ["inspect", "-f", "{{.State.Status}} {{.NetworkSettings.Networks.tabbynet.IPAddress}}", "c"])).stdout}` +
        `\n--- n1 routes ---\n${(await routeLines(n1.ns)).join("\n")}` +
        `\n--- n2 routes ---\n${(await routeLines(n2.ns)).join("\n")}` +
        `\n--- affinities ---\n${blocks.map((b) => JSON.stringify(b.spec)).join("\n")}` +
        `\n--- n1 peers ---\n${JSON.stringify((await cni.lab.status(n1).catch(() => undefined))?.peers)}` +
        `\n--- n2 peers ---\n${JSON.stringify((await cni.lab.status(n2).catch(() => undefined))?.peers)}`;
      await cni.lab.withLog(n1, () => cni.lab.withLog(n2, () => Promise.reject(e)));
    }
    expect(await ping(n1.ns, c.ip)).toBe(true);
  });

  it("podman stop releases every address and leaves no cali interface", { timeout: 120_000 }, async () => {
    for (const [node, name] of [
      [n1, "a"],
      [n1, "b"],
      [n1, "web"],
      [n2, "c"],
    ] as const) {
      await pm.ok(node, ["stop", "-t", "0", name]);
      await pm.ok(node, ["rm", name]);
    }
    expect((await handles()).filter((h) => h.startsWith(`${NETWORK}.`))).toEqual([]);
    expect(await caliLinks(n1)).toEqual([]);
    expect(await caliLinks(n2)).toEqual([]);
    const blocks = await cni.lab.ctl<Resource[]>("list", "IPAMBlock");
    const used = blocks.flatMap((bl) =>
      ((bl.spec as { allocations: (number | null)[] }).allocations ?? []).filter((x) => x !== null),
    );
    expect(used).toEqual([]);
  });
});
