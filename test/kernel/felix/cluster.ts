/**
 * A small cluster for felix's kernel tests, all in namespaces: nodes 1-3 on one bridged underlay
 * (10.0.0.0/24), node 4 behind a router on 10.0.1.0/24 (for CrossSubnet), an "outside" host on the
 * underlay with no route to the pods (for natOutgoing), and pods as namespaces wired to their node with a
 * cali* veth the way Calico's CNI plugin does (pod /32, 169.254.1.1 gateway, default route). Each node gets
 * a felix Dataplane running in this process with its netlink socket opened inside the node's namespace.
 */
import pino from "pino";
import { Dataplane } from "../../../felix/dataplane.js";
import type { BlockInput, NodeInput, PoolInput, WorkloadInput } from "../../../felix/model/inputs.js";
import { connectToBridge, connectVeth, Netns } from "../../harness/netns.js";
import type { Scope } from "../../harness/scope.js";

export interface TestPod {
  readonly name: string;
  readonly ns: Netns;
  readonly ip: string;
  readonly ifName: string;
  readonly mac: string;
}

export interface TestNode {
  readonly name: string;
  readonly ns: Netns;
  /** Underlay address without prefix. */
  readonly ip: string;
  readonly input: NodeInput;
  readonly block: string;
  readonly pods: TestPod[];
  dataplane: Dataplane;
}

export interface TestCluster {
  readonly nodes: TestNode[];
  readonly router: Netns;
  readonly outside: Netns;
  readonly outsideIp: string;
  readonly pools: PoolInput[];
  /** Sets every node's cluster state (pools as given) and runs one pass on each. */
  program(pools?: PoolInput[]): Promise<void>;
  /** The cluster state node `i` is given. */
  stateFor(i: number, pools?: PoolInput[]): Parameters<Dataplane["setState"]>[0];
}

export const logger = pino({ level: process.env.FELIX_TEST_LOG ?? "silent" });

/** `nodeCount` of 3 puts all on one subnet; 4 adds node 4 behind the router. */
export async function buildCluster(
  scope: Scope,
  opts: { nodeCount?: number; pools?: PoolInput[]; podsPerNode?: number } = {},
): Promise<TestCluster> {
  const nodeCount = opts.nodeCount ?? 3;
  const fabric = await Netns.create(scope);
  await fabric.createBridge("br0");
  await fabric.createBridge("br1");
  const router = await Netns.create(scope, { forwarding: true });
  await connectToBridge(fabric, "br0", "r0", { ns: router, name: "eth0", addresses: ["10.0.0.254/24"] });
  await connectToBridge(fabric, "br1", "r1", { ns: router, name: "eth1", addresses: ["10.0.1.254/24"] });
  const outside = await Netns.create(scope);
  const outsideIp = "10.0.0.100";
  await connectToBridge(fabric, "br0", "out", { ns: outside, name: "eth0", addresses: [`${outsideIp}/24`] });

  const nodes: TestNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    const ns = await Netns.create(scope, { forwarding: true });
    const far = i === 4;
    const ip = far ? "10.0.1.4" : `10.0.0.${i}`;
    await connectToBridge(fabric, far ? "br1" : "br0", `n${i}`, {
      ns,
      name: "eth0",
      addresses: [`${ip}/24`],
    });
    // A default route, as real nodes have: proxy ARP only answers for destinations the host can route.
    await ns.addRoute("default", "via", far ? "10.0.1.254" : "10.0.0.254");
    const name = `node-${i}`;
    const input: NodeInput = {
      name,
      ipv4Address: `${ip}/24`,
      vxlanTunnelAddr: `10.65.${i}.0`,
      ipipTunnelAddr: `10.65.${i}.1`,
    };
    const node: TestNode = {
      name,
      ns,
      ip,
      input,
      block: `10.65.${i}.0/26`,
      pods: [],
      dataplane: undefined as unknown as Dataplane,
    };
    for (let p = 1; p <= (opts.podsPerNode ?? 1); p++)
      node.pods.push(await addPod(scope, node, `10.65.${i}.${4 + p}`));
    node.dataplane = new Dataplane({
      logger: logger.child({ node: name }),
      netnsPath: `/run/netns/${ns.name}`,
    });
    scope.defer(`close dataplane of ${name}`, () => node.dataplane.close());
    nodes.push(node);
  }

  const cluster: TestCluster = {
    nodes,
    router,
    outside,
    outsideIp,
    pools: opts.pools ?? [{ cidr: "10.65.0.0/16", vxlanMode: "Always" }],
    stateFor(i, pools) {
      const blocks: BlockInput[] = nodes.map((n) => ({ cidr: n.block, node: n.name }));
      const me = nodes[i]!;
      const workloads: WorkloadInput[] = me.pods.map((p) => ({
        name: `default/${p.name}`,
        ifName: p.ifName,
        ipNetworks: [`${p.ip}/32`],
        mac: p.mac,
      }));
      return {
        thisNode: me.input,
        nodes: nodes.map((n) => n.input),
        pools: pools ?? cluster.pools,
        blocks,
        workloads,
      };
    },
    async program(pools) {
      for (const [i, n] of nodes.entries()) {
        n.dataplane.setState(cluster.stateFor(i, pools));
        const r = await n.dataplane.apply();
        if (r.errors.length > 0) throw new Error(`${n.name}: ${r.errors.map((e) => e.message).join("; ")}`);
      }
    },
  };
  return cluster;
}

let podCounter = 0;

/** A pod namespace wired to `node` as Calico's CNI plugin wires it. */
export async function addPod(
  scope: Scope,
  node: Pick<TestNode, "ns" | "name">,
  ip: string,
): Promise<TestPod> {
  const ns = await Netns.create(scope);
  podCounter++;
  const ifName = `cali${(0x1000000 + podCounter * 7919).toString(16).padStart(11, "0").slice(-11)}`;
  await connectVeth({ ns, name: "eth0", addresses: [`${ip}/32`] }, { ns: node.ns, name: ifName });
  await ns.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link");
  await ns.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0");
  const links = JSON.parse((await ns.ip("-j", "link", "show", "eth0")).stdout) as { address: string }[];
  return { name: `pod-${podCounter}`, ns, ip, ifName, mac: links[0]!.address };
}

/** One ping from `pod` to `ip`; true when answered. */
export async function ping(from: Netns, ip: string): Promise<boolean> {
  const r = await from.exec("ping", ["-c", "1", "-W", "2", ip], { allowFailure: true });
  return r.code === 0;
}

/** Packet counters of an nft observer table: `{ "<comment>": packets }`. */
export async function installCounters(
  ns: Netns,
  rules: Record<string, string>,
): Promise<() => Promise<Record<string, number>>> {
  const lines = Object.entries(rules).map(([name, match]) => `    ${match} counter comment "${name}"`);
  const script = [
    "table inet observe {",
    "  chain input {",
    "    type filter hook input priority 0; policy accept;",
    ...lines,
    "  }",
    "}",
    "",
  ].join("\n");
  await ns.exec("nft", ["-f", "-"], { input: script });
  return async () => {
    const out = (await ns.exec("nft", ["list", "table", "inet", "observe"])).stdout;
    const counts: Record<string, number> = {};
    for (const m of out.matchAll(/counter packets (\d+) bytes \d+ comment "([^"]+)"/g))
      counts[m[2]!] = Number(m[1]);
    return counts;
  };
}
