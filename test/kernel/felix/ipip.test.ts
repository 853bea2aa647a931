/**
 * IP-in-IP on the real kernel, where the kernel has it. This project's CI kernel is built without
 * CONFIG_NET_IPIP (../shared/reference/peers.md §2), so there the pod-to-pod test skips, naming the reason,
 * and the test that does run checks felix's behaviour without it: the IP-in-IP pool is reported by name
 * (no tunl0, so no tunl0 routes) and everything else is still programmed. felix's IP-in-IP netlink
 * messages are checked byte for byte against iproute2 in test/unit/felix/rtnetlink-golden.test.ts.
 */
import { expect, it } from "vitest";
import { Netns } from "../../harness/netns.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { buildCluster, ping } from "./cluster.js";

/** Whether `ip link add type ipip` works here; the reason when it does not. */
async function ipipSupport(): Promise<{ ok: boolean; reason: string }> {
  const ns = await Netns.create(testScope());
  const r = await ns.ip("link", "add", "probe0", "type", "ipip");
  return r.code === 0 ? { ok: true, reason: "" } : { ok: false, reason: r.stderr.trim() };
}

const ipipPools = [{ cidr: "10.65.0.0/16", ipipMode: "Always" as const }];

describeWith(["root", "iproute2", "ping"], "felix IP-in-IP", () => {
  it("IP-in-IP Always: tunl0 with its /32 and MTU, routes via the node on tunl0 onlink, pods ping", async (ctx) => {
    const probe = await ipipSupport().catch((e: Error) => ({ ok: false, reason: e.message }));
    if (!probe.ok) {
      ctx.skip(`this kernel has no ipip support (\`ip link add type ipip\`: ${probe.reason})`);
      return;
    }
    const c = await buildCluster(testScope(), { pools: ipipPools });
    await c.program();
    const [n1, n2] = c.nodes as [(typeof c.nodes)[0], (typeof c.nodes)[0]];
    const dev = JSON.parse((await n1.ns.ip("-j", "link", "show", "tunl0")).stdout)[0];
    expect(dev.mtu).toBe(1480);
    expect(await n1.ns.addresses("tunl0")).toContain("10.65.1.1/32");
    expect(await n1.ns.routes({ filter: ["proto", "80"] })).toContainEqual(
      expect.objectContaining({ dst: "10.65.2.0/26", gateway: "10.0.0.2", dev: "tunl0", flags: ["onlink"] }),
    );
    expect(await ping(n1.pods[0]!.ns, n2.pods[0]!.ip)).toBe(true);
  });

  it("without ipip in the kernel: the pool is reported by name and everything else is programmed", async (ctx) => {
    const probe = await ipipSupport().catch((e: Error) => ({ ok: false, reason: e.message }));
    if (probe.ok) {
      ctx.skip("this kernel supports ipip; the test above covers it");
      return;
    }
    const c = await buildCluster(testScope(), { nodeCount: 2, pools: ipipPools });
    const n1 = c.nodes[0]!;
    n1.dataplane.setState(c.stateFor(0));
    const r = await n1.dataplane.apply();
    const codes = r.errors.map((e) => [(e as { code?: string }).code, e.message]);
    expect(codes).toContainEqual([
      "FELIX_UNSUPPORTED",
      expect.stringMatching(/^IP-in-IP pool in use but this kernel has no ipip support/),
    ]);
    expect(codes).toContainEqual([
      "FELIX_NO_INTERFACE",
      "route 10.65.2.0/26 (remote block 10.65.2.0/26 of node node-2 (ipip)): interface tunl0 does not exist",
    ]);
    const routes = await n1.ns.routes();
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.65.1.0/26", type: "blackhole" }));
    expect(routes).toContainEqual(expect.objectContaining({ dst: "10.65.1.5", dev: n1.pods[0]!.ifName }));
  });
});
