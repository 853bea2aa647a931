/**
 * `tabbyctl ipam show|check|release` end to end through tabbyctl's main(), on the embedded store in a
 * temp dir (as an operator would run it next to a data dir), with calicoctl's exact output shapes.
 */
import { describe, expect, it } from "vitest";
import { type CtlDeps, processDeps } from "../../../src/cli/ctl/resource-commands.js";
import type { CliIo } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/tabbyctl.js";
import { EmbeddedDatastore } from "../../../src/datastore/embedded.js";
import type { Datastore } from "../../../src/datastore/types.js";
import { openIpam } from "../../../src/ipam/open.js";
import { makeTempDir } from "../../harness/naming.js";
import { testScope } from "../../harness/scope.js";
import { nodeResource, poolResource } from "./resources.js";

async function setup(seed: (ds: Datastore) => Promise<void>) {
  const dir = await makeTempDir(testScope());
  const ds = await EmbeddedDatastore.open({ dir });
  await seed(ds);
  await ds.close();
  const run = async (...argv: string[]) => {
    const out = { stdout: "", stderr: "" };
    const io: CliIo = {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { TABBY_DATA_DIR: dir },
    };
    const deps: CtlDeps = processDeps;
    const code = await main(argv, io, deps);
    return { code, ...out };
  };
  const withStore = async <T>(f: (ds: Datastore) => Promise<T>): Promise<T> => {
    const d = await EmbeddedDatastore.open({ dir });
    try {
      return await f(d);
    } finally {
      await d.close();
    }
  };
  return { dir, run, withStore };
}

const wep = (node: string, pod: string, address: string) => ({
  apiVersion: "projectcalico.org/v3",
  kind: "WorkloadEndpoint",
  metadata: { name: `${node}-k8s-${pod}-eth0`, namespace: "default" },
  spec: {
    node,
    pod,
    endpoint: "eth0",
    interfaceName: `cali${pod}`,
    ipNetworks: [`${address}/32`],
    orchestrator: "k8s",
  },
});

async function cluster(ds: Datastore) {
  await ds.create(poolResource("default-ipv4-ippool", "10.244.0.0/16"));
  await ds.create(nodeResource("n1"));
  await ds.create(nodeResource("n2"));
  const ipam = openIpam(ds);
  const taken: { node: string; pod: string; address: string; block: string }[] = [];
  for (const [node, n] of [
    ["n1", 4],
    ["n2", 3],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const pod = `${node}-pod-${i}`;
      const [a] = (
        await ipam.autoAssign({
          handleId: `k8s-pod-network.${pod}`,
          node,
          num4: 1,
          attrs: { node, pod, namespace: "default", timestamp: "2026-01-01 00:00:00 +0000 UTC" },
        })
      ).ipv4;
      taken.push({ node, pod, address: a!.address, block: a!.block });
      await ds.create(wep(node, pod, a!.address));
    }
  }
  return taken;
}

describe("tabbyctl ipam show", () => {
  it("prints pool usage as calicoctl does", async () => {
    const { run } = await setup(async (ds) => void (await cluster(ds)));
    const r = await run("ipam", "show");
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "+----------+---------------+-----------+------------+--------------+",
        "| GROUPING |     CIDR      | IPS TOTAL | IPS IN USE |   IPS FREE   |",
        "+----------+---------------+-----------+------------+--------------+",
        "| IP Pool  | 10.244.0.0/16 |     65536 | 7 (0%)     | 65529 (100%) |",
        "+----------+---------------+-----------+------------+--------------+",
        "",
      ].join("\n"),
    });
  });

  it("--show-blocks adds a row per block under its pool", async () => {
    let blocks: string[] = [];
    const { run } = await setup(async (ds) => {
      const taken = await cluster(ds);
      blocks = [...new Set(taken.map((t) => t.block))];
    });
    const lines = (await run("ipam", "show", "--show-blocks")).stdout.split("\n");
    const w = Math.max(13, ...blocks.map((b) => b.length));
    const cell = (s: string) => s.padEnd(w);
    expect(lines[3]).toBe(`| IP Pool  | ${cell("10.244.0.0/16")} |     65536 | 7 (0%)     | 65529 (100%) |`);
    expect(lines.slice(4, 6)).toEqual(
      [
        [blocks[0]!, "4 (6%)     | 60 (94%)    "],
        [blocks[1]!, "3 (5%)     | 61 (95%)    "],
      ]
        .sort(([a], [b]) => (a!.replace(/-/g, "") < b!.replace(/-/g, "") ? -1 : 1))
        .map(([b, use]) => `| Block    | ${cell(b!)} |        64 | ${use} |`),
    );
  });

  it("prints a /8 pool's size as Go's %.5g does, and blocks in no pool without a pool row", async () => {
    const { run, withStore } = await setup(async (ds) => {
      await ds.create(poolResource("big", "10.0.0.0/8"));
      await ds.create(nodeResource("n1"));
      await openIpam(ds).autoAssign({ handleId: "h", node: "n1", num4: 1 });
    });
    expect((await run("ipam", "show")).stdout).toContain(
      "| IP Pool  | 10.0.0.0/8 | 1.6777e+07 | 1 (0%)     | 1.6777e+07 (100%) |",
    );
    await withStore((ds) => ds.delete({ kind: "IPPool", name: "big" }));
    const out = (await run("ipam", "show", "--show-blocks")).stdout.split("\n");
    expect(out[3]).toMatch(/^\| Block {4}\| 10\.\d+\.\d+\.\d+\/26 +\| +64 \| 1 \(2%\) +\| 63 \(98%\) +\|$/);
    expect(out).toHaveLength(6);
  });

  it("--ip says who holds an address, or that nobody does", async () => {
    let address = "";
    const { run } = await setup(async (ds) => {
      address = (await cluster(ds))[0]!.address;
    });
    expect((await run("ipam", "show", `--ip=${address}`)).stdout).toBe(
      [
        `IP ${address} is in use`,
        "Handle ID: k8s-pod-network.n1-pod-0",
        "Active Owner Attributes:",
        "  namespace: default",
        "  node: n1",
        "  pod: n1-pod-0",
        "  timestamp: 2026-01-01 00:00:00 +0000 UTC",
        "",
      ].join("\n"),
    );
    expect((await run("ipam", "show", "--ip", "10.244.255.254")).stdout).toBe(
      "10.244.255.254 is not assigned\n",
    );
    expect((await run("ipam", "show", "--ip=bogus")).code).toBe(1);
  });

  it("--show-borrowed lists addresses taken from another node's block", async () => {
    const { run } = await setup(async (ds) => {
      await ds.create(poolResource("tiny", "10.9.0.0/28", { blockSize: 28 }));
      await ds.create(nodeResource("n1"));
      await ds.create(nodeResource("n2"));
      const ipam = openIpam(ds);
      await ipam.autoAssign({
        handleId: "a",
        node: "n1",
        num4: 1,
        attrs: { node: "n1", pod: "a", namespace: "ns" },
      });
      await ipam.autoAssign({
        handleId: "b",
        node: "n2",
        num4: 1,
        attrs: { node: "n2", pod: "b", namespace: "ns" },
      });
    });
    expect((await run("ipam", "show", "--show-borrowed")).stdout).toBe(
      [
        "+----------+----------------+-------------+-------------+------+--------------+",
        "|    IP    | BORROWING-NODE |    BLOCK    | BLOCK OWNER | TYPE | ALLOCATED-TO |",
        "+----------+----------------+-------------+-------------+------+--------------+",
        "| 10.9.0.1 | n2             | 10.9.0.0/28 | n1          | pod  | ns/b         |",
        "+----------+----------------+-------------+-------------+------+--------------+",
        "",
      ].join("\n"),
    );
  });

  it("--show-configuration prints IPAMConfiguration's defaults", async () => {
    const { run } = await setup(async () => {});
    expect((await run("ipam", "show", "--show-configuration")).stdout).toContain(
      "| StrictAffinity     | false |",
    );
  });

  it("refuses unknown flags and combined views", async () => {
    const { run } = await setup(async () => {});
    expect((await run("ipam", "show", "--nope")).code).toBe(2);
    expect((await run("ipam", "show", "--show-blocks", "--show-borrowed")).code).toBe(2);
    expect((await run("ipam", "frobnicate")).code).toBe(2);
    expect((await run("ipam", "--help")).stdout).toContain("tabbyctl ipam check");
  });
});

describe("tabbyctl ipam check and release", () => {
  it("check reports a consistent cluster in calicoctl's words", async () => {
    const { run } = await setup(async (ds) => void (await cluster(ds)));
    const r = await run("ipam", "check");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "Checking IPAM for inconsistencies...",
      "",
      "Loading all IPAM blocks...",
      "Found 2 IPAM blocks.",
    ]);
    for (const line of [
      "IPAM blocks record 7 allocations.",
      "  10.244.0.0/16",
      "Found 1 active IP pools.",
      "Found 0 node tunnel IPs.",
      "No configuration for LoadBalancer kubecontroller found, skipping service check",
      "Found 7 workload IPs.",
      "Workloads and nodes are using 7 IPs.",
      "Looking for top (up to 20) nodes by allocations...",
      "  n1 has 4 allocations",
      "  n2 has 3 allocations",
      "Node with most allocations has 4; median is 3",
      "Found 0 IPs that are allocated in IPAM but not actually in use.",
      "Found 0 handles with no matching IPs (and 7 handles with matches).",
      "Found 0 handles mentioned in blocks with no matching handle resource.",
      "Found 0 invalid IPAMBlocks.",
      "Check complete; found 0 problems.",
    ]) {
      expect(lines).toContain(line);
    }
  });

  it("check --fix releases a leak past the grace period; -o writes calicoctl's report", async () => {
    let leaked = "";
    const { run, dir, withStore } = await setup(async (ds) => {
      const taken = await cluster(ds);
      leaked = taken[1]!.address;
      await ds.delete({
        kind: "WorkloadEndpoint",
        namespace: "default",
        name: `n1-k8s-${taken[1]!.pod}-eth0`,
      });
    });
    const report = `${dir}/report.json`;
    const r = await run("ipam", "check", "--show-problem-ips", "-o", report);
    expect(r.stdout).toContain(
      `  ${leaked} leaked; attrs Main:k8s-pod-network.n1-pod-1 Extra:namespace=default,node=n1,pod=n1-pod-1,timestamp=2026-01-01 00:00:00 +0000 UTC`,
    );
    expect(r.stdout).toContain("Check complete; found 1 problems.");
    const json = JSON.parse(await import("node:fs/promises").then((fs) => fs.readFile(report, "utf8")));
    expect(json.allocations[leaked][0]).toMatchObject({
      ip: leaked,
      handle: "k8s-pod-network.n1-pod-1",
      inUse: false,
      node: "n1",
    });
    const fixed = await run("ipam", "check", "--fix", "--grace=1m");
    expect(fixed.stdout).toMatch(
      new RegExp(
        `  done: release ${leaked.replace(/\./g, "\\.")} \\(block [^)]+\\): pod default/n1-pod-1 no longer exists; allocated \\d+m ago`,
      ),
    );
    expect(fixed.stdout).toContain("Repair complete: 1 done, 0 skipped; 0 problems left.");
    expect(await withStore((ds) => openIpam(ds).addressInfo(leaked))).toBeUndefined();
  });

  it("release --ip gives one address back, and says so when it was not assigned", async () => {
    let address = "";
    const { run } = await setup(async (ds) => {
      address = (await cluster(ds))[0]!.address;
    });
    expect(await run("ipam", "release", `--ip=${address}`)).toEqual({
      code: 0,
      stdout: `Successfully released IP address ${address}\n`,
      stderr: "",
    });
    expect(await run("ipam", "release", "--ip", address)).toEqual({
      code: 1,
      stdout: "",
      stderr: `tabbyctl ipam release: IP address ${address} is not assigned\n`,
    });
    expect((await run("ipam", "release")).code).toBe(2);
    expect((await run("ipam", "release", "--from-report=r.json")).stderr).toContain("check --fix");
  });
});
