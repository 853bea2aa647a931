/**
 * tabby-cni and tabby-ipam exec'd as kubelet execs them (K8S_POD_* in CNI_ARGS), inside a node's
 * namespace, against the embedded API server with real Pods and Namespaces: the veth and routes in the
 * kernel, the pod annotations Calico writes, pool annotations, CHECK finding what is missing, DEL
 * idempotent and sparing a newer sandbox, every bad input its CNI code with nothing left behind, and
 * 50 concurrent ADDs then DELs on one node.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Resource } from "../../src/api/meta.js";
import { hostInterfaceName } from "../../src/datastore/kubernetes/workload-mapping.js";
import type { LabNode } from "../agent/agent-lab.js";
import type { Netns } from "../harness/netns.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope, testScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { type CniEnv, CniLab } from "./cni-lab.js";

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

const NETWORK = "k8s-pod-network";

describeWith(["root", "iproute2", "ping"], "tabby-cni under the kubelet contract", () => {
  const scope = suiteScope();
  let cni: CniLab;
  /** n1 runs the agent, so calls take the shim's fast path; n0 has none, so they run the Node plugin. */
  let node: LabNode;
  let bare: LabNode;
  let seq = 0;

  const conf = (extra: Record<string, unknown> = {}, on: LabNode = node) => ({
    cniVersion: "1.0.0",
    name: NETWORK,
    ...cni.conflistPlugin(on, extra),
  });

  async function pod(
    name: string,
    namespace = "default",
    annotations: Record<string, string> = {},
    on: LabNode = node,
  ) {
    await cni.createObjects([
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace, annotations },
        spec: { nodeName: on.name, containers: [{ name: "c", image: "none" }] },
      },
    ]);
  }

  const kubeletArgs = (name: string, namespace = "default", id = "") =>
    `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_INFRA_CONTAINER_ID=${id};K8S_POD_UID=uid-${name}`;

  async function add(
    name: string,
    namespace = "default",
    extraConf: Record<string, unknown> = {},
    on: LabNode = node,
  ) {
    const sandbox = await cni.sandbox(testScope());
    const containerId = `c${(++seq).toString(16).padStart(8, "0")}${"a".repeat(24)}`;
    const env: CniEnv = {
      command: "ADD",
      containerId,
      netns: `/run/netns/${sandbox.name}`,
      args: kubeletArgs(name, namespace, containerId),
    };
    const r = await cni.exec(on, "tabby-cni", env, conf(extraConf, on));
    return { r, env, sandbox, containerId };
  }

  const del = (env: CniEnv, extraConf: Record<string, unknown> = {}, on: LabNode = node) =>
    cni.exec(on, "tabby-cni", { ...env, command: "DEL" }, conf(extraConf, on));

  async function podJson(name: string, namespace = "default") {
    return cni.kube("GET", `/api/v1/namespaces/${namespace}/pods/${name}`);
  }

  const handles = () => cni.handles();
  const caliLinks = (on: LabNode = node) => cni.caliLinks(on);

  beforeAll(async () => {
    cni = await CniLab.create(scope);
    // kubelet registers its Node before any pod is scheduled there.
    await cni.createObjects(
      ["n1", "n0"].map((name) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: {} })),
    );
    node = await cni.lab.addNode("n1", "10.0.0.11");
    bare = await cni.lab.addHost("n0", "10.0.0.10");
    await cni.lab.waitReady(node);
    await cni.apply([
      v3("IPPool", "pool-a", {
        cidr: "10.70.0.0/24",
        blockSize: 28,
        ipipMode: "Never",
        vxlanMode: "Never",
        nodeSelector: "all()",
      }),
      v3("IPPool", "pool-b", {
        cidr: "10.71.0.0/24",
        blockSize: 28,
        ipipMode: "Never",
        vxlanMode: "Never",
        nodeSelector: "!all()",
      }),
      v3("IPPool", "tiny", {
        cidr: "10.72.0.0/30",
        blockSize: 30,
        ipipMode: "Never",
        vxlanMode: "Never",
        nodeSelector: "!all()",
      }),
    ]);
    await cni.createObjects([
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "team-b", annotations: { "cni.projectcalico.org/ipv4pools": '["pool-b"]' } },
      },
    ]);
  });

  it("ADD puts a pod on the network as Calico does and records it on the Pod", async () => {
    await pod("web");
    const { r, sandbox, containerId, env } = await add("web");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const hostIf = hostInterfaceName("default", "web");
    const ip = (r.json.ips[0].address as string).split("/")[0]!;
    expect(r.json).toMatchObject({
      cniVersion: "1.0.0",
      interfaces: [
        { name: hostIf },
        { name: "eth0", sandbox: env.netns, mac: expect.stringMatching(/^[0-9a-f:]{17}$/) },
      ],
      ips: [{ address: `${ip}/32`, gateway: "169.254.1.1", interface: 1 }],
      routes: [{ dst: "0.0.0.0/0", gw: "169.254.1.1" }],
    });
    expect(ip).toMatch(/^10\.70\.0\./);
    // Host side: the MAC, no address, the sysctls, the /32 route.
    const link = JSON.parse((await node.ns.ip("-j", "link", "show", hostIf)).stdout)[0];
    expect(link.address).toBe("ee:ee:ee:ee:ee:ee");
    expect(link.mtu).toBe(1500);
    expect((await node.ns.exec("cat", [`/proc/sys/net/ipv4/conf/${hostIf}/proxy_arp`])).stdout.trim()).toBe(
      "1",
    );
    expect((await node.ns.ip("route", "show", `${ip}/32`)).stdout).toContain(`dev ${hostIf} scope link`);
    // Pod side: the /32, the gateway on-link with its neighbour, the default route, forwarding off.
    expect(await sandbox.addresses("eth0")).toContain(`${ip}/32`);
    const routes = (await sandbox.ip("route", "show")).stdout;
    expect(routes).toContain("default via 169.254.1.1 dev eth0");
    expect(routes).toContain("169.254.1.1 dev eth0 scope link");
    expect((await sandbox.ip("neigh", "show", "169.254.1.1")).stdout).toContain(
      "lladdr ee:ee:ee:ee:ee:ee PERMANENT",
    );
    expect((await sandbox.exec("cat", ["/proc/sys/net/ipv4/ip_forward"])).stdout.trim()).toBe("0");
    // The Pod carries what Calico's plugin writes.
    const p = await podJson("web");
    expect(p.metadata.annotations).toMatchObject({
      "cni.projectcalico.org/podIP": `${ip}/32`,
      "cni.projectcalico.org/podIPs": `${ip}/32`,
      "cni.projectcalico.org/containerID": containerId,
    });
    expect(await handles()).toContain(`${NETWORK}.${containerId}`);
    const info = (await cni.lab.ctl<Resource[]>("list", "IPAMBlock")).flatMap(
      (b) => (b.spec as { attributes: { secondary?: Record<string, string> }[] }).attributes,
    );
    expect(
      info.some(
        (a) =>
          a.secondary?.pod === "web" && a.secondary?.namespace === "default" && a.secondary?.node === "n1",
      ),
    ).toBe(true);

    // CHECK: clean now; a pod whose default route was removed is named (the agent repairs host
    // routes, not the pod's own). 999 is what Go plugins return for a failed CHECK.
    const check = () =>
      cni.exec(node, "tabby-cni", { ...env, command: "CHECK" }, { ...conf(), prevResult: r.json });
    expect((await check()).code).toBe(0);
    await sandbox.ip("route", "del", "default");
    const bad = await check();
    expect([bad.code, bad.json.code]).toEqual([1, 999]);
    expect(bad.json.msg).toContain("default route via 169.254.1.1 dev eth0 is missing in the pod");
    // The IPAM plugin's own CHECK, as a chained runtime calls it: the handle holds the pod's address.
    const ipamCheck = () =>
      cni.exec(node, "tabby-ipam", { ...env, command: "CHECK" }, { ...conf(), prevResult: r.json });
    expect((await ipamCheck()).code).toBe(0);

    // A second ADD without a DEL is refused and takes nothing from the running pod.
    const again = await cni.exec(node, "tabby-cni", env, conf());
    expect([again.code, again.json.code]).toEqual([1, 999]);
    expect(again.json.msg).toBe(`interface eth0 already exists in ${env.netns}`);
    expect(await handles()).toContain(`${NETWORK}.${containerId}`);
    expect(await sandbox.addresses("eth0")).toContain(`${ip}/32`);

    // DEL: veth gone, handle gone, annotations cleared; twice is fine, so is a vanished netns.
    expect((await del(env)).code).toBe(0);
    expect(await caliLinks()).not.toContain(hostIf);
    expect(await handles()).not.toContain(`${NETWORK}.${containerId}`);
    expect((await podJson("web")).metadata.annotations["cni.projectcalico.org/podIP"] ?? "").toBe("");
    expect((await del(env)).code).toBe(0);
    expect((await del({ ...env, netns: "" })).code).toBe(0);
    const gone = await ipamCheck();
    expect([gone.code, gone.json.code, gone.json.msg]).toEqual([
      1,
      999,
      `IPAM handle ${NETWORK}.${containerId} holds no addresses`,
    ]);
  });

  it("tabby cni install lays down Calico's layout, and its conflist networks a pod through `calico`", async () => {
    for (const name of ["calico", "calico-ipam", "tabby-cni", "tabby-ipam", "tabby-cni.fallback"])
      expect(existsSync(join(cni.binDir, name)), name).toBe(true);
    const list = JSON.parse(await readFile(join(cni.install.netDir, "10-calico.conflist"), "utf8"));
    expect(list).toMatchObject({
      name: "k8s-pod-network",
      cniVersion: "1.0.0",
      plugins: [
        {
          type: "calico",
          nodename: "n1",
          mtu: 0,
          datastore_type: "kubernetes",
          ipam: { type: "calico-ipam" },
          kubernetes: { kubeconfig: cni.kubeconfig },
        },
      ],
    });
    await pod("installed");
    const sandbox = await cni.sandbox(testScope());
    const containerId = `c${(++seq).toString(16).padStart(8, "0")}${"b".repeat(24)}`;
    const env: CniEnv = {
      command: "ADD",
      containerId,
      netns: `/run/netns/${sandbox.name}`,
      args: kubeletArgs("installed", "default", containerId),
    };
    // As installed, but for where this lab's agent listens (a real node's is the default path).
    const plugin = { ...list.plugins[0], tabby_agent_socket: node.env.TABBY_CNI_SOCKET };
    const conf = { cniVersion: list.cniVersion, name: list.name, ...plugin };
    const r = await cni.exec(node, "calico", env, conf);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.ips[0].address).toMatch(/^10\.70\.0\.\d+\/32$/);
    expect(await sandbox.addresses("eth0")).toContain(r.json.ips[0].address);
    expect((await cni.exec(node, "calico", { ...env, command: "DEL" }, conf)).code).toBe(0);
    expect(await caliLinks()).not.toContain(hostInterfaceName("default", "installed"));
  });

  it("two pods on the node reach each other through their cali interfaces", async () => {
    await pod("ping-a");
    await pod("ping-b");
    const a = await add("ping-a");
    const b = await add("ping-b");
    expect(a.r.code, a.r.stdout).toBe(0);
    expect(b.r.code, b.r.stdout).toBe(0);
    const ipB = (b.r.json.ips[0].address as string).split("/")[0]!;
    const ping = await a.sandbox.exec("ping", ["-c", "1", "-W", "2", ipB], { allowFailure: true });
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect((await del(a.env)).code).toBe(0);
    expect((await del(b.env)).code).toBe(0);
  });

  it("honours the namespace's pool annotation, and the pod's over it", async () => {
    await pod("ns-pool", "team-b");
    const a = await add("ns-pool", "team-b");
    expect(a.r.code, a.r.stdout).toBe(0);
    expect(a.r.json.ips[0].address).toMatch(/^10\.71\.0\./);
    await pod("pod-pool", "team-b", { "cni.projectcalico.org/ipv4pools": '["10.70.0.0/24"]' });
    const b = await add("pod-pool", "team-b");
    expect(b.r.code, b.r.stdout).toBe(0);
    expect(b.r.json.ips[0].address).toMatch(/^10\.70\.0\./);
    await del(a.env);
    await del(b.env);
  });

  it("a DEL for an old sandbox keeps the pod's new one", async () => {
    await pod("restarted");
    const old = await add("restarted");
    expect(old.r.code).toBe(0);
    // The runtime made a new sandbox (the old one's DEL has not come yet).
    const fresh = await add("restarted");
    expect(fresh.r.code, fresh.r.stdout).toBe(0);
    expect((await del(old.env)).code).toBe(0);
    const p = await podJson("restarted");
    expect(p.metadata.annotations["cni.projectcalico.org/containerID"]).toBe(fresh.containerId);
    expect(await caliLinks()).toContain(hostInterfaceName("default", "restarted"));
    expect(await handles()).toContain(`${NETWORK}.${fresh.containerId}`);
    expect(await handles()).not.toContain(`${NETWORK}.${old.containerId}`);
    expect((await del(fresh.env)).code).toBe(0);
  });

  describe("bad input leaves the host and the datastore as they were", { timeout: 120_000 }, () => {
    async function unchanged(body: () => Promise<void>, on: LabNode = node) {
      const before = { h: await handles(), l: await caliLinks(on) };
      await body();
      expect({ h: await handles(), l: await caliLinks(on) }).toEqual(before);
    }

    it("malformed stdin is code 6", async () => {
      await unchanged(async () => {
        const sandbox = await cni.sandbox(testScope());
        const r = await node.ns.exec(`${cni.binDir}/tabby-cni`, [], {
          allowFailure: true,
          input: "{not json",
          env: {
            PATH: process.env.PATH!,
            CNI_COMMAND: "ADD",
            CNI_CONTAINERID: "x1",
            CNI_NETNS: `/run/netns/${sandbox.name}`,
            CNI_IFNAME: "eth0",
          },
        });
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout)).toMatchObject({
          code: 6,
          msg: "network config on stdin is not valid JSON",
        });
      });
    });

    it("a missing CNI_NETNS and an over-long CNI_IFNAME are code 4 naming the variable", async () => {
      await unchanged(async () => {
        const r = await cni.exec(node, "tabby-cni", { command: "ADD", containerId: "x2", netns: "" }, conf());
        expect(r.json).toMatchObject({ code: 4, msg: "CNI_NETNS is not set" });
        const sandbox = await cni.sandbox(testScope());
        const long = await cni.exec(
          node,
          "tabby-cni",
          {
            command: "ADD",
            containerId: "x3",
            netns: `/run/netns/${sandbox.name}`,
            ifName: "eth0-much-too-long",
          },
          conf(),
        );
        expect(long.json.code).toBe(4);
        expect(long.json.msg).toContain("CNI_IFNAME");
        expect(long.stdout).not.toContain("    at ");
      });
    });

    it("an unknown pool name is code 7 and an exhausted pool takes nothing", async () => {
      await pod("unknown-pool", "default", { "cni.projectcalico.org/ipv4pools": '["no-such-pool"]' });
      await unchanged(async () => {
        const r = await add("unknown-pool");
        expect(r.r.json.code).toBe(7);
        expect(r.r.json.msg).toContain("no-such-pool");
      });
      // tiny is a /30 with one block of 4 addresses.
      const held: CniEnv[] = [];
      for (let i = 0; i < 4; i++) {
        await pod(`tiny-${i}`, "default", { "cni.projectcalico.org/ipv4pools": '["tiny"]' });
        const r = await add(`tiny-${i}`);
        expect(r.r.code, r.r.stdout).toBe(0);
        held.push(r.env);
      }
      await pod("tiny-x", "default", { "cni.projectcalico.org/ipv4pools": '["tiny"]' });
      await unchanged(async () => {
        const r = await add("tiny-x");
        expect(r.r.code).toBe(1);
        expect(r.r.json.msg).toMatch(/tiny|exhausted|no .*address/i);
      });
      for (const e of held) expect((await del(e)).code).toBe(0);
    });

    it("a datastore that cannot be reached is code 11 and nothing is created", async () => {
      // Without an agent the plugin opens the datastore itself (the agent would use its own).
      await unchanged(async () => {
        const r = await add(
          "web",
          "default",
          { kubernetes: { kubeconfig: "/nonexistent/kubeconfig" } },
          bare,
        );
        expect(r.r.json.code).toBe(11);
        expect(r.r.json.msg).toContain("datastore");
      }, bare);
    });
  });

  it("VERSION lists 0.3.0 to 1.1.0", async () => {
    const r = await cni.exec(
      node,
      "tabby-cni",
      { command: "VERSION", containerId: "" },
      { cniVersion: "1.1.0" },
    );
    expect(r.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("STATUS (CNI 1.1): 0 when the agent is ready, 51 naming what is not, 51 without an agent, 50 without the datastore", {
    timeout: 120_000,
  }, async () => {
    const status = (on: LabNode, extra: Record<string, unknown> = {}) =>
      cni.exec(
        on,
        "tabby-cni",
        { command: "STATUS", containerId: "" },
        { ...conf(extra, on), cniVersion: "1.1.0" },
      );
    const ok = await status(node);
    expect({ code: ok.code, out: ok.stdout }).toEqual({ code: 0, out: "" });

    // A peer that never answers keeps the agent not ready: a pod added now would not be reachable
    // through it, so the runtime is told to hold pods back, and why.
    await cni.apply([v3("BGPPeer", "silent", { node: "n1", peerIP: "10.0.0.99", asNumber: 64999 })]);
    try {
      const limited = await eventually(
        async () => {
          const r = await status(node);
          return r.code !== 0 ? r : undefined;
        },
        { what: "STATUS failing while a peer is down", timeoutMs: 20_000, intervalMs: 200 },
      );
      expect(limited.json.code).toBe(51);
      expect(limited.json.msg).toContain("the node agent is not ready: BGP not established with");
    } finally {
      await cni.lab.ctl("delete", "BGPPeer", "silent");
    }
    await eventually(async () => (await status(node)).code === 0, {
      what: "STATUS ready again once the peer is gone",
      timeoutMs: 20_000,
      intervalMs: 200,
    });

    const noAgent = await status(bare);
    expect(noAgent.json.code).toBe(51);
    expect(noAgent.json.msg).toContain("the node agent is not running on this node");
    expect(noAgent.json.details).toBe(bare.env.TABBY_CNI_SOCKET);

    const noStore = await status(bare, { kubernetes: { kubeconfig: "/nonexistent/kubeconfig" } });
    expect(noStore.json.code).toBe(50);
    expect(noStore.json.msg).toBe("the datastore cannot be reached");
  });

  it("50 ADDs at once get 50 distinct addresses; 50 DELs leave nothing", { timeout: 300_000 }, async () => {
    const names = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    await cni.createObjects(
      names.map((name) => ({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: "default" },
        spec: { nodeName: node.name, containers: [{ name: "c", image: "none" }] },
      })),
    );
    const before = { h: await handles(), l: await caliLinks() };
    const sandboxes: Netns[] = [];
    for (const _ of names) sandboxes.push(await cni.sandbox(testScope()));
    const results = await Promise.all(
      names.map((name, i) =>
        cni.exec(
          node,
          "tabby-cni",
          {
            command: "ADD",
            containerId: `burst${i}`,
            netns: `/run/netns/${sandboxes[i]!.name}`,
            args: kubeletArgs(name),
          },
          conf(),
        ),
      ),
    );
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
    const ips = results.map((r) => r.json.ips[0].address);
    expect(new Set(ips).size).toBe(50);
    expect((await caliLinks()).length).toBe(before.l.length + 50);
    const dels = await Promise.all(
      names.map((name, i) =>
        cni.exec(
          node,
          "tabby-cni",
          {
            command: "DEL",
            containerId: `burst${i}`,
            netns: `/run/netns/${sandboxes[i]!.name}`,
            args: kubeletArgs(name),
          },
          conf(),
        ),
      ),
    );
    for (const r of dels) expect(r.code, r.stdout).toBe(0);
    expect({ h: await handles(), l: await caliLinks() }).toEqual(before);
  });

  it("GC (CNI 1.1) releases the attachments the runtime no longer lists, and only those", async () => {
    await pod("gc-keep");
    await pod("gc-drop");
    const keep = await add("gc-keep");
    const drop = await add("gc-drop");
    expect([keep.r.code, drop.r.code]).toEqual([0, 0]);
    // A plain CNI container too: its host end is named after the container, so GC removes it as well.
    const sandbox = await cni.sandbox(testScope());
    const plainId = `f0${"e".repeat(30)}`;
    const plainEnv: CniEnv = { command: "ADD", containerId: plainId, netns: `/run/netns/${sandbox.name}` };
    expect((await cni.exec(node, "tabby-cni", plainEnv, conf())).code).toBe(0);

    const gc = await cni.exec(
      node,
      "tabby-cni",
      { command: "GC", containerId: "" },
      {
        ...conf(),
        cniVersion: "1.1.0",
        "cni.dev/valid-attachments": [{ containerID: keep.containerId, ifname: "eth0" }],
      },
    );
    expect([gc.code, gc.stdout]).toEqual([0, ""]);
    const after = await handles();
    expect(after).toContain(`${NETWORK}.${keep.containerId}`);
    expect(after).not.toContain(`${NETWORK}.${drop.containerId}`);
    expect(after).not.toContain(`${NETWORK}.${plainId}`);
    const links = await caliLinks();
    expect(links).toContain(hostInterfaceName("default", "gc-keep"));
    expect(links).not.toContain(`cali${plainId.slice(0, 11)}`);
    // The runtime's DELs that follow still succeed.
    for (const env of [keep.env, drop.env, plainEnv]) expect((await del(env)).code).toBe(0);
    expect(await handles()).not.toContain(`${NETWORK}.${keep.containerId}`);
  });

  it("took the agent's fast path on n1: the agent networked the pods, no plugin process logged", async () => {
    const agentLog = await readFile(join(node.dir, "agent.log"), "utf8");
    expect(agentLog).toMatch(/"containerID":"burst0".*"msg":"pod networked"/);
    expect(existsSync(join(node.dir, "cni.log"))).toBe(false);
  });

  describe("without an agent on the node, the shim runs the Node plugin", { timeout: 180_000 }, () => {
    it("ADD, CHECK and DEL work and the plugin logs to log_file_path", async () => {
      await pod("lone", "default", {}, bare);
      const { r, env } = await add("lone", "default", {}, bare);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const ip = (r.json.ips[0].address as string).split("/")[0]!;
      expect((await bare.ns.ip("route", "show", `${ip}/32`)).stdout).toContain(
        `dev ${hostInterfaceName("default", "lone")}`,
      );
      const check = await cni.exec(
        bare,
        "tabby-cni",
        { ...env, command: "CHECK" },
        { ...conf({}, bare), prevResult: r.json },
      );
      expect(check.code, check.stdout).toBe(0);
      expect((await del(env, {}, bare)).code).toBe(0);
      expect(await caliLinks(bare)).toEqual([]);
      expect(await readFile(join(bare.dir, "cni.log"), "utf8")).toMatch(
        /"containerID":"[^"]+".*pod networked/,
      );
    });

    it("12 concurrent ADDs under the host lock get distinct addresses; their DELs leave nothing", async () => {
      const names = Array.from({ length: 12 }, (_, i) => `lone-${i}`);
      for (const name of names) await pod(name, "default", {}, bare);
      const before = await handles();
      const calls = await Promise.all(names.map((name) => add(name, "default", {}, bare)));
      for (const c of calls) expect(c.r.code, c.r.stdout).toBe(0);
      expect(new Set(calls.map((c) => c.r.json.ips[0].address)).size).toBe(12);
      const dels = await Promise.all(calls.map((c) => del(c.env, {}, bare)));
      for (const d of dels) expect(d.code, d.stdout).toBe(0);
      expect({ h: await handles(), l: await caliLinks(bare) }).toEqual({ h: before, l: [] });
    });
  });
});
