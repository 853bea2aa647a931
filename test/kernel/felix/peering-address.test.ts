/**
 * The local workload peering address on the real kernel: felix adds `169.254.0.179/32` and
 * `fe80::179/128` with scope link to a local BGP peer's cali* (Calico's linkaddrs), a new instance over
 * that state writes nothing, and when the workload stops peering both go while an operator's address on
 * the same interface and the pod's own address stay.
 */
import { expect, it } from "vitest";
import { Dataplane } from "../../../felix/dataplane.js";
import type { Netns } from "../../harness/netns.js";
import { describeWith } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { buildCluster, logger } from "./cluster.js";

interface IpAddr {
  readonly local: string;
  readonly prefixlen: number;
  readonly scope: string;
}

async function addrsOn(ns: Netns, dev: string): Promise<string[]> {
  const out = await ns.ip("-j", "addr", "show", "dev", dev);
  const [link] = JSON.parse(out.stdout) as { addr_info?: IpAddr[] }[];
  return (link?.addr_info ?? [])
    .filter((a) => !a.local.startsWith("fe80::") || a.prefixlen !== 64) // the kernel's own link-local
    .map((a) => `${a.local}/${a.prefixlen} ${a.scope}`)
    .sort();
}

describeWith(["root", "iproute2"], "felix: local workload peering addresses", () => {
  it("adds them scope link, adopts them after a restart, removes only its own", async () => {
    const scope = testScope();
    const c = await buildCluster(scope, { nodeCount: 1, pools: [{ cidr: "10.65.0.0/16" }] });
    const n1 = c.nodes[0]!;
    const pod = n1.pods[0]!;
    await n1.ns.ip("addr", "add", "169.254.7.7/32", "dev", pod.ifName, "scope", "link"); // an operator's
    const peering = (on: boolean) => {
      const s = c.stateFor(0);
      return {
        ...s,
        workloads: s.workloads.map((w) =>
          on ? { ...w, peeringAddresses: ["169.254.0.179", "fe80::179"] } : w,
        ),
        localWorkloadPeeringIPs: ["169.254.0.179", "fe80::179"],
      };
    };

    n1.dataplane.setState(peering(true));
    const first = await n1.dataplane.apply();
    expect(first.errors).toEqual([]);
    expect(first.linkAddresses).toEqual({ added: 2, removed: 0 });
    expect(await addrsOn(n1.ns, pod.ifName)).toEqual([
      "169.254.0.179/32 link",
      "169.254.7.7/32 link",
      "fe80::179/128 link",
    ]);
    expect((await n1.dataplane.apply()).linkAddresses).toEqual({ added: 0, removed: 0 });
    n1.dataplane.close();

    const restarted = new Dataplane({ logger, netnsPath: `/run/netns/${n1.ns.name}` });
    scope.defer("close restarted dataplane", () => restarted.close());
    restarted.setState(peering(true));
    expect((await restarted.apply()).linkAddresses).toEqual({ added: 0, removed: 0 });

    restarted.setState(peering(false));
    const off = await restarted.apply();
    expect(off.errors).toEqual([]);
    expect(off.linkAddresses).toEqual({ added: 0, removed: 2 });
    expect(await addrsOn(n1.ns, pod.ifName)).toEqual(["169.254.7.7/32 link"]);
    expect(await addrsOn(pod.ns, "eth0")).toEqual([`${pod.ip}/32 global`]);
  });
});
