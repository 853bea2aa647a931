import { describe, expect, it } from "vitest";
import { type CtlDeps, processDeps } from "../../../src/cli/ctl/resource-commands.js";
import type { CliIo } from "../../../src/cli/io.js";
import { main } from "../../../src/cli/tabbyctl.js";
import { chooseDatastore } from "../../../src/datastore/choose.js";
import { EmbeddedDatastore } from "../../../src/datastore/embedded.js";
import type { Datastore } from "../../../src/datastore/types.js";
import { FaultyDatastore } from "../../harness/faulty-datastore.js";
import { makeTempDir } from "../../harness/naming.js";
import { testScope } from "../../harness/scope.js";

/** A tabbyctl with files from a map, stdin from a string, and the embedded store in a temp dir. */
async function ctl(
  files: Record<string, string> = {},
  env: Record<string, string> = {},
  wrap?: (ds: Datastore) => Datastore,
) {
  const dir = await makeTempDir(testScope());
  let stdin = "";
  const deps: CtlDeps = {
    ...processDeps,
    readFile: async (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT: no such file ${p}`);
      return text;
    },
    listDir: async (p) => {
      const inDir = Object.keys(files).filter((f) => f.startsWith(`${p}/`));
      return inDir.length > 0 ? inDir.map((f) => f.slice(p.length + 1)).sort() : undefined;
    },
    readStdin: async () => stdin,
    ...(wrap !== undefined
      ? { openDatastore: async (c, o) => wrap(await processDeps.openDatastore(c, o)) }
      : {}),
  };
  const run = async (...argv: string[]) => {
    const out = { stdout: "", stderr: "" };
    const io: CliIo = {
      stdout: (t) => {
        out.stdout += t;
      },
      stderr: (t) => {
        out.stderr += t;
      },
      env: { TABBY_DATA_DIR: dir, ...env },
    };
    const code = await main(argv, io, deps);
    return { code, ...out };
  };
  return {
    dir,
    files,
    run,
    setStdin: (s: string) => {
      stdin = s;
    },
    /** What the store holds, read directly. */
    async stored(kind: string) {
      const ds = await EmbeddedDatastore.open({ dir, readOnly: true });
      const items = (await ds.list(kind)).items;
      await ds.close();
      return items;
    },
  };
}

const MORE = ["a", "b", "c", "d"]
  .map(
    (n, i) =>
      `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: ${n}}\nspec: {cidr: 10.${60 + i}.0.0/16}\n`,
  )
  .join("---\n");

const POOLS = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  cidr: 10.244.0.0/16
  ipipMode: Always
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: v6
spec:
  cidr: fd00:10:244::/64
  vxlanMode: CrossSubnet
`;

const PEERS = `apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: tor-1
spec:
  peerIP: 192.0.2.1
  asNumber: 64600
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: rack-a
spec:
  nodeSelector: rack == 'a'
  peerIP: "[2001:db8::1]:1790"
  asNumber: "1.10"
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: one-node
spec:
  node: node-1
  peerIP: 192.0.2.9
  asNumber: 64601
`;

describe("tabbyctl apply and get", () => {
  it("applies a multi-document file and prints calicoctl's tables", async () => {
    const t = await ctl({ "pools.yaml": POOLS, "peers.yaml": PEERS });
    expect(await t.run("apply", "-f", "pools.yaml")).toMatchObject({
      code: 0,
      stdout: "Successfully applied 2 'IPPool' resource(s)\n",
    });
    expect((await t.run("apply", "-f", "peers.yaml")).stdout).toBe(
      "Successfully applied 3 'BGPPeer' resource(s)\n",
    );
    expect((await t.run("get", "ippool")).stdout).toBe(
      [
        "NAME                  CIDR               SELECTOR   ",
        "default-ipv4-ippool   10.244.0.0/16      all()      ",
        "v6                    fd00:10:244::/64   all()      ",
        "",
        "",
      ].join("\n"),
    );
    expect((await t.run("get", "pools", "-o", "wide")).stdout).toBe(
      [
        "NAME                  CIDR               NAT     IPIPMODE   VXLANMODE     DISABLED   DISABLEBGPEXPORT   SELECTOR   ASSIGNMENTMODE   ",
        "default-ipv4-ippool   10.244.0.0/16      true    Always     Never         false      false              all()      Automatic        ",
        "v6                    fd00:10:244::/64   false   Never      CrossSubnet   false      false              all()      Automatic        ",
        "",
        "",
      ].join("\n"),
    );
    expect((await t.run("get", "bgpp")).stdout).toBe(
      [
        "NAME       PEERIP               NODE          ASN     ",
        "one-node   192.0.2.9            node-1        64601   ",
        "rack-a     [2001:db8::1]:1790   rack == 'a'   65546   ",
        "tor-1      192.0.2.1            (global)      64600   ",
        "",
        "",
      ].join("\n"),
    );
  });

  it("round trip: apply, get -o yaml, apply again is a no-op", async () => {
    const t = await ctl({ "pools.yaml": POOLS, "peers.yaml": PEERS });
    await t.run("apply", "-f", "pools.yaml");
    await t.run("apply", "-f", "peers.yaml");
    const before = [...(await t.stored("IPPool")), ...(await t.stored("BGPPeer"))];
    for (const kind of ["ippools", "bgppeers"]) {
      const yaml = (await t.run("get", kind, "-o", "yaml")).stdout;
      t.files[`${kind}.out.yaml`] = yaml;
      const again = await t.run("apply", "-f", `${kind}.out.yaml`);
      expect(again.code, again.stderr).toBe(0);
    }
    const single = (await t.run("get", "ippool", "v6", "-o", "yaml")).stdout;
    t.files["v6.yaml"] = single;
    expect((await t.run("apply", "-f", "v6.yaml")).stdout).toBe(
      "Successfully applied 1 'IPPool' resource(s)\n",
    );
    const json = (await t.run("get", "bgppeer", "-o", "json")).stdout;
    t.setStdin(json);
    expect((await t.run("apply", "-f", "-")).code).toBe(0);
    // Nothing changed: same objects, same resourceVersions.
    expect([...(await t.stored("IPPool")), ...(await t.stored("BGPPeer"))]).toEqual(before);
  });

  it("prints YAML as calicoctl does: sorted keys, lists not indented, Go's normal forms", async () => {
    const t = await ctl({
      "c.yaml":
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 65000, maxRestartTime: 90s}\n",
    });
    await t.run("apply", "-f", "c.yaml");
    const [stored] = await t.stored("BGPPeer");
    expect((await t.run("get", "bgppeer", "p", "-o", "yaml")).stdout).toBe(
      [
        "apiVersion: projectcalico.org/v3",
        "kind: BGPPeer",
        "metadata:",
        `  creationTimestamp: "${stored!.metadata.creationTimestamp}"`,
        "  name: p",
        '  resourceVersion: "1"',
        `  uid: ${stored!.metadata.uid}`,
        "spec:",
        "  asNumber: 65000",
        "  maxRestartTime: 1m30s",
        "  peerIP: 10.0.0.1",
        "",
      ].join("\n"),
    );
    const json = JSON.parse((await t.run("get", "bgppeer", "-o", "json")).stdout);
    expect(Object.keys(json)).toEqual(["kind", "apiVersion", "metadata", "items"]);
    expect(json.kind).toBe("BGPPeerList");
    expect(Object.keys(json.items[0])).toEqual(["kind", "apiVersion", "metadata", "spec"]);
    expect(Object.keys(json.items[0].spec)).toEqual(["peerIP", "asNumber", "maxRestartTime"]);
  });

  it("shows Node AS numbers inherited from the default BGPConfiguration in parentheses", async () => {
    const nodes = `apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-1}
spec:
  bgp: {ipv4Address: 10.0.0.1/24, ipv6Address: fd00::1/64}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: node-2}
spec:
  bgp: {ipv4Address: 10.0.0.2/24, asNumber: 65002}
`;
    const t = await ctl({
      "nodes.yaml": nodes,
      "bgp.yaml":
        "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {asNumber: 65000}\n",
    });
    await t.run("apply", "-f", "nodes.yaml");
    expect((await t.run("get", "nodes", "-o", "wide")).stdout).toBe(
      [
        "NAME     ASN       IPV4          IPV6         ",
        "node-1   (64512)   10.0.0.1/24   fd00::1/64   ",
        "node-2   65002     10.0.0.2/24                ",
        "",
        "",
      ].join("\n"),
    );
    await t.run("apply", "-f", "bgp.yaml");
    expect((await t.run("get", "no", "-o", "wide")).stdout).toContain("node-1   (65000)");
    expect((await t.run("get", "bgpconfig")).stdout).toBe(
      [
        "NAME      LOGSEVERITY   MESHENABLED   ASNUMBER   ",
        "default   Info          -             65000      ",
        "",
        "",
      ].join("\n"),
    );
  });
});

describe("tabbyctl refuses whole files", () => {
  const invalid = `${POOLS}---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: bad-pool
spec:
  cidr: 10.0.0.1/24
`;

  it("a multi-document file with one invalid document writes nothing", async () => {
    const t = await ctl({ "pools.yaml": invalid });
    const r = await t.run("apply", "-f", "pools.yaml");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      'pools.yaml:23:9: IPPool/bad-pool: spec.cidr: "10.0.0.1/24": must be strictly masked (host bits zero): did you mean 10.0.0.0/24?\n' +
        "tabbyctl apply: refused 1 of 3 resources; nothing was written\n",
    );
    expect(await t.stored("IPPool")).toEqual([]);
  });

  it("reports every problem of every document, including overlaps inside the file", async () => {
    const t = await ctl({
      "f.yaml": `${POOLS}---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: inside}
spec: {cidr: 10.244.128.0/17}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: p}
spec: {node: n1, nodeSelector: all(), peerIP: 10.0.0.1}
`,
    });
    const r = await t.run("apply", "-f", "f.yaml");
    expect(r.stderr.split("\n")).toEqual([
      'f.yaml:21:14: IPPool/inside: spec.cidr: "10.244.128.0/17": overlaps IPPool default-ipv4-ippool (10.244.0.0/16)',
      'f.yaml:26:32: BGPPeer/p: spec.nodeSelector: "all()": node and nodeSelector cannot both be set (node is "n1")',
      "tabbyctl apply: refused 2 of 4 resources; nothing was written",
      "",
    ]);
    expect(await t.stored("IPPool")).toEqual([]);
  });

  it("refuses a pool that overlaps a stored one, and a YAML syntax error with its line", async () => {
    const t = await ctl({
      "pools.yaml": POOLS,
      "more.yaml":
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: x}\nspec: {cidr: 10.244.7.0/24}\n",
      "broken.yaml": "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [oops\n",
    });
    await t.run("apply", "-f", "pools.yaml");
    expect((await t.run("apply", "-f", "more.yaml")).stderr).toContain(
      'more.yaml:4:14: IPPool/x: spec.cidr: "10.244.7.0/24": overlaps IPPool default-ipv4-ippool (10.244.0.0/16)',
    );
    const broken = await t.run("apply", "-f", "broken.yaml");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^broken\.yaml:\d+:\d+: document 1: YAML syntax: /);
  });

  it("without transactions (Kubernetes), a write that fails half-way rolls back the ones before it, also when its reply was lost", async () => {
    for (const fault of ["fail-before", "fail-after"] as const) {
      let writes = 0;
      const t = await ctl(
        { "pools.yaml": POOLS, "more.yaml": MORE },
        {},
        (ds) =>
          new FaultyDatastore(ds, {
            withoutBatch: true,
            schedule: ({ method }) =>
              method === "create" || method === "update" || method === "delete"
                ? ++writes === 3
                  ? fault
                  : undefined
                : undefined,
          }),
      );
      const r = await t.run("apply", "-f", "more.yaml");
      expect(r.code, r.stderr).toBe(1);
      const rolled = fault === "fail-after" ? 3 : 2;
      expect(r.stderr).toMatch(
        new RegExp(
          `^tabbyctl apply: failed to apply .*injected fault: connection lost (before|after) create .*; rolled back the ${rolled} resource\\(s\\) this command had written\n$`,
        ),
      );
      expect(await t.stored("IPPool")).toEqual([]);
    }
  });

  it("names a duplicate key, and refuses a binary file without echoing its bytes", async () => {
    const t = await ctl({
      "dup.yaml":
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: d}\nspec:\n  cidr: 10.9.0.0/16\n  cidr: 10.8.0.0/16\n",
      "blob.yaml": `\u007fELF\u0002\u0001\u0001${"\u0000".repeat(400)}apiVersion: x\n`,
    });
    const dup = await t.run("apply", "-f", "dup.yaml");
    expect(dup.code).toBe(1);
    expect(dup.stderr.split("\n")[0]).toBe(
      'dup.yaml:6:3: document 1: YAML syntax: duplicate key "cidr" in one mapping',
    );
    const blob = await t.run("apply", "-f", "blob.yaml");
    expect(blob.code).toBe(1);
    expect(blob.stderr.split("\n")[0]).toBe(
      "blob.yaml: not YAML or JSON: the file holds binary data (byte 7 is a NUL)",
    );
    expect(blob.stderr.length).toBeLessThan(200);
    expect(await t.stored("IPPool")).toEqual([]);
  });

  it("refuses changing an immutable field and a stale resourceVersion", async () => {
    const t = await ctl({ "pools.yaml": POOLS });
    await t.run("apply", "-f", "pools.yaml");
    t.files["moved.yaml"] = POOLS.replace("10.244.0.0/16", "10.245.0.0/16");
    expect((await t.run("apply", "-f", "moved.yaml")).stderr).toContain(
      'IPPool/default-ipv4-ippool: spec.cidr: "10.245.0.0/16": cannot be changed (stored: 10.244.0.0/16)',
    );
    const yaml = (await t.run("get", "ippool", "v6", "-o", "yaml")).stdout;
    t.files["v6.yaml"] = yaml;
    t.files["v6b.yaml"] = yaml.replace("vxlanMode: CrossSubnet", "vxlanMode: Always");
    t.files["v6c.yaml"] = yaml.replace("vxlanMode: CrossSubnet", "vxlanMode: Never");
    expect((await t.run("apply", "-f", "v6b.yaml")).code).toBe(0);
    const stale = await t.run("apply", "-f", "v6c.yaml");
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /IPPool\/v6: metadata\.resourceVersion: "\d+": is out of date \(latest: \d+\)/,
    );
  });

  it("create refuses what exists unless --skip-exists; replace refuses what does not", async () => {
    const t = await ctl({ "pools.yaml": POOLS });
    await t.run("create", "-f", "pools.yaml");
    const again = await t.run("create", "-f", "pools.yaml");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("IPPool/v6: resource already exists");
    expect((await t.run("create", "-f", "pools.yaml", "--skip-exists")).stdout).toBe(
      "Successfully created 2 'IPPool' resource(s)\n",
    );
    expect((await t.run("replace", "-f", "pools.yaml")).stdout).toBe(
      "Successfully replaced 2 'IPPool' resource(s)\n",
    );
    const t2 = await ctl({ "pools.yaml": POOLS });
    const missing = await t2.run("replace", "-f", "pools.yaml");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("IPPool/default-ipv4-ippool: resource does not exist");
  });
});

describe("tabbyctl delete", () => {
  it("deletes by name and by file, and says when something is not there", async () => {
    const t = await ctl({ "pools.yaml": POOLS, "peers.yaml": PEERS });
    await t.run("apply", "-f", "pools.yaml");
    await t.run("apply", "-f", "peers.yaml");
    expect((await t.run("delete", "ippool", "v6")).stdout).toBe(
      "Successfully deleted 1 'IPPool' resource(s)\n",
    );
    expect((await t.run("delete", "-f", "peers.yaml")).stdout).toBe(
      "Successfully deleted 3 'BGPPeer' resource(s)\n",
    );
    const nope = await t.run("delete", "ipp", "v6");
    expect(nope).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("IPPool/v6: resource does not exist"),
    });
    expect((await t.run("delete", "pool", "v6", "--skip-not-exists")).code).toBe(0);
    expect((await t.stored("IPPool")).map((r) => r.metadata.name)).toEqual(["default-ipv4-ippool"]);
    expect((await t.stored("BGPPeer")).length).toBe(0);
  });
});

describe("tabbyctl inputs and datastores", () => {
  it("reads JSON, Lists and directories, and stdin with -", async () => {
    const t = await ctl({
      "dir/a.json": JSON.stringify({
        apiVersion: "projectcalico.org/v3",
        kind: "IPPoolList",
        items: [
          {
            apiVersion: "projectcalico.org/v3",
            kind: "IPPool",
            metadata: { name: "j" },
            spec: { cidr: "10.1.0.0/16" },
          },
        ],
      }),
      "dir/b.yaml":
        "- apiVersion: projectcalico.org/v3\n  kind: IPPool\n  metadata: {name: k}\n  spec: {cidr: 10.2.0.0/16}\n",
    });
    expect((await t.run("apply", "-f", "dir")).stdout).toBe("Successfully applied 2 'IPPool' resource(s)\n");
    t.setStdin(
      "apiVersion: projectcalico.org/v3\nkind: IPReservation\nmetadata: {name: r}\nspec: {reservedCIDRs: [10.1.0.5]}\n",
    );
    expect((await t.run("apply", "-f", "-")).stdout).toBe(
      "Successfully applied 1 'IPReservation' resource(s)\n",
    );
    expect((await t.run("get", "reservations", "-o", "wide")).stdout).toContain("r      10.1.0.5   ");
  });

  it("chooses the datastore as calicoctl does", async () => {
    expect(chooseDatastore({})).toEqual({ type: "embedded", dir: "/var/lib/tabby" });
    expect(chooseDatastore({ TABBY_DATA_DIR: "/d" })).toEqual({ type: "embedded", dir: "/d" });
    expect(chooseDatastore({ KUBECONFIG: "/k" })).toEqual({ type: "kubernetes", kubeconfig: "/k" });
    expect(chooseDatastore({ ETCD_ENDPOINTS: "http://a:2379, http://b:2379" })).toEqual({
      type: "etcdv3",
      endpoints: ["http://a:2379", "http://b:2379"],
    });
    expect(chooseDatastore({ DATASTORE_TYPE: "etcdv3", KUBECONFIG: "/k" })).toHaveProperty("error");
    expect(chooseDatastore({ CALICO_DATASTORE_TYPE: "kubernetes" })).toEqual({ type: "kubernetes" });
    expect(chooseDatastore({ DATASTORE_TYPE: "consul" })).toHaveProperty("error");
    // The production datastores' own tests are test/unit/datastore/kubernetes.test.ts and
    // test/interop/datastore/ (tabbyctl against them: test/interop/datastore/kubectl.test.ts).
    const t = await ctl({}, { KUBECONFIG: "/nonexistent/kubeconfig" });
    const r = await t.run("get", "ippool");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot load the kubeconfig /nonexistent/kubeconfig");
  });

  it("knows calicoctl's kind names and refuses others", async () => {
    const t = await ctl();
    for (const name of [
      "ippool",
      "ippools",
      "ipp",
      "ipps",
      "pool",
      "pools",
      "bgppeer",
      "bgpp",
      "bp",
      "bps",
      "bgpconfig",
      "bgpconfigurations",
      "node",
      "nodes",
      "no",
      "bgpfilter",
      "bf",
      "ipamconfig",
      "ipreservation",
      "caliconodestatus",
      "wep",
      "IPPool",
    ]) {
      expect((await t.run("get", name)).code, name).toBe(0);
    }
    expect(await t.run("get", "frobs")).toMatchObject({
      code: 1,
      stderr: "tabbyctl get: resource type 'frobs' is not supported\n",
    });
    expect((await t.run("get", "ippool", "-o", "xml")).code).toBe(2);
    expect((await t.run("get", "ippool", "missing")).stderr).toBe(
      "tabbyctl get: resource does not exist: IPPool(missing)\n",
    );
    expect((await t.run("apply")).code).toBe(2);
    expect((await t.run("--help")).stdout).toContain("apply -f FILE");
  });

  it("keeps IPAM-owned kinds read-only", async () => {
    const t = await ctl({
      "b.yaml":
        "apiVersion: projectcalico.org/v3\nkind: IPAMHandle\nmetadata: {name: h}\nspec: {handleID: h, block: {}}\n",
    });
    const r = await t.run("apply", "-f", "b.yaml");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("IPAMHandle is managed by IPAM");
  });
});
