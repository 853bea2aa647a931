import { describe, expect, it } from "vitest";
import { ipPoolKind } from "../../../src/api/ippool.js";
import type { FieldIssue } from "../../../src/api/issues.js";
import type { WriteContext } from "../../../src/api/kind.js";
import type { Resource } from "../../../src/api/meta.js";
import { checkWrite } from "../../../src/api/resource.js";
import { formatPath } from "../../../src/util/yaml-config.js";
import { accept, doc, refuse } from "./helpers.js";

const pool = (spec: string, name = "p1") => doc("IPPool", name, spec);

describe("IPPool: Calico documentation examples apply unchanged", () => {
  it("the IPv4 example with CrossSubnet IP-in-IP", () => {
    const r = accept(`
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: my.ippool-1
spec:
  cidr: 10.1.0.0/16
  ipipMode: CrossSubnet
  natOutgoing: true
  disabled: false
  nodeSelector: all()
  allowedUses:
    - Workload
    - Tunnel
`);
    expect(r.spec).toEqual({
      cidr: "10.1.0.0/16",
      vxlanMode: "Never",
      ipipMode: "CrossSubnet",
      natOutgoing: true,
      blockSize: 26,
      nodeSelector: "all()",
      allowedUses: ["Workload", "Tunnel"],
      assignmentMode: "Automatic",
    });
  });

  it("the IPv6 example, normalised as clientv3 stores it", () => {
    const r = accept(pool("cidr: 2001::00/64\nnatOutgoing: true", "default-ipv6-ippool"));
    expect(r.spec).toMatchObject({
      cidr: "2001::/64",
      blockSize: 122,
      ipipMode: "Never",
      vxlanMode: "Never",
    });
  });

  it("a VXLAN pool with a node selector and a block size", () => {
    const r = accept(
      pool("cidr: 10.244.0.0/16\nvxlanMode: Always\nblockSize: 24\nnodeSelector: rack == 'rack-1'"),
    );
    expect(r.spec).toMatchObject({ blockSize: 24, nodeSelector: "rack == 'rack-1'", vxlanMode: "Always" });
  });

  it("a LoadBalancer pool", () => {
    accept(pool("cidr: 203.0.113.0/24\nallowedUses: [LoadBalancer]"));
  });

  it("a namespace-restricted workload pool", () => {
    accept(pool("cidr: 10.50.0.0/16\nallowedUses: [Workload]\nnamespaceSelector: team == 'a'"));
  });

  it("a small disabled pool may be smaller than a block", () => {
    accept(pool("cidr: 10.9.0.0/28\ndisabled: true"));
  });
});

describe("IPPool: every rule refuses what Calico refuses", () => {
  it.each([
    ["cidr missing", "natOutgoing: true", "spec.cidr", "is required"],
    ["cidr not a CIDR", "cidr: 10.0.0.0", "spec.cidr", "must be a CIDR"],
    ["cidr garbage", "cidr: banana", "spec.cidr", "must be a CIDR"],
    ["cidr too long", `cidr: "${"1".repeat(49)}"`, "spec.cidr", "at most 48 characters"],
    [
      "cidr host bits",
      "cidr: 10.0.0.1/16",
      "spec.cidr",
      "strictly masked (host bits zero): did you mean 10.0.0.0/16?",
    ],
    ["IPv4 link-local", "cidr: 169.254.0.0/24", "spec.cidr", "link-local range 169.254.0.0/16"],
    ["containing link-local", "cidr: 169.0.0.0/8", "spec.cidr", "link-local"],
    ["IPv6 link-local", "cidr: fe80::/64", "spec.cidr", "IPv6 link-local range fe80::/10"],
    ["IPv4 block too small", "cidr: 10.0.0.0/16\nblockSize: 19", "spec.blockSize", "must be 20..32 for IPv4"],
    ["IPv4 block too big", "cidr: 10.0.0.0/16\nblockSize: 33", "spec.blockSize", "must be 20..32 for IPv4"],
    ["IPv6 block range", "cidr: fd00::/64\nblockSize: 115", "spec.blockSize", "must be 116..128 for IPv6"],
    ["blockSize over 128", "cidr: fd00::/64\nblockSize: 129", "spec.blockSize", "must be 0..128"],
    ["pool smaller than block", "cidr: 10.0.0.0/28", "spec.cidr", "too small for blockSize 26"],
    ["IPIP on IPv6", "cidr: fd00::/64\nipipMode: Always", "spec.ipipMode", "IPIP is not supported on IPv6"],
    [
      "both encapsulations",
      "cidr: 10.0.0.0/16\nipipMode: Always\nvxlanMode: CrossSubnet",
      "spec.vxlanMode",
      "cannot both be enabled",
    ],
    [
      "unknown ipipMode",
      "cidr: 10.0.0.0/16\nipipMode: always",
      "spec.ipipMode",
      "must be one of Never, Always, CrossSubnet",
    ],
    ["unknown vxlanMode", "cidr: 10.0.0.0/16\nvxlanMode: yes", "spec.vxlanMode", "must be one of"],
    [
      "natOutgoing not bool",
      "cidr: 10.0.0.0/16\nnatOutgoing: 'true'",
      "spec.natOutgoing",
      "must be true or false",
    ],
    [
      "bad selector",
      "cidr: 10.0.0.0/16\nnodeSelector: rack = 'a'",
      "spec.nodeSelector",
      'selector syntax: expected "==" at character 6',
    ],
    [
      "global() node selector",
      "cidr: 10.0.0.0/16\nnodeSelector: global()",
      "spec.nodeSelector",
      "global() is not valid",
    ],
    [
      "global() namespace selector",
      "cidr: 10.0.0.0/16\nallowedUses: [Workload]\nnamespaceSelector: global()",
      "spec.namespaceSelector",
      "global() is not valid",
    ],
    [
      "unknown allowed use",
      "cidr: 10.0.0.0/16\nallowedUses: [Pods]",
      "spec.allowedUses[0]",
      "must be one of Workload, Tunnel, LoadBalancer",
    ],
    [
      "duplicate allowed use",
      "cidr: 10.0.0.0/16\nallowedUses: [Workload, Workload]",
      "spec.allowedUses[1]",
      "duplicate",
    ],
    [
      "LoadBalancer with Workload",
      "cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer, Workload]",
      "spec.allowedUses",
      "cannot be combined",
    ],
    [
      "LoadBalancer with IPIP",
      "cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]\nipipMode: Always",
      "spec.ipipMode",
      "LoadBalancer pool cannot have IPIP or VXLAN",
    ],
    [
      "LoadBalancer with VXLAN",
      "cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]\nvxlanMode: Always",
      "spec.vxlanMode",
      "LoadBalancer pool cannot have IPIP or VXLAN",
    ],
    [
      "LoadBalancer without export",
      "cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]\ndisableBGPExport: true",
      "spec.disableBGPExport",
      "cannot disable BGP export",
    ],
    [
      "LoadBalancer with node selector",
      "cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]\nnodeSelector: has(lb)",
      "spec.nodeSelector",
      'must have nodeSelector "all()"',
    ],
    [
      "Tunnel with namespace selector",
      "cidr: 10.0.0.0/16\nnamespaceSelector: team == 'a'",
      "spec.namespaceSelector",
      "allowedUses include Tunnel",
    ],
    [
      "bad assignment mode",
      "cidr: 10.0.0.0/16\nassignmentMode: Auto",
      "spec.assignmentMode",
      "must be one of Automatic, Manual",
    ],
    ["unknown field", "cidr: 10.0.0.0/16\nnat-outgoing: true", "spec.nat-outgoing", "unknown field"],
    ["v1 ipip block", "cidr: 10.0.0.0/16\nipip:\n  enabled: true", "spec.ipip", "unknown field"],
  ])("%s", (_what, spec, path, rule) => {
    refuse(pool(spec), path, rule);
  });

  it("reports every problem of a document at once", () => {
    const issues = refuse(
      pool("cidr: 10.0.0.1/16\nipipMode: Sometimes\nblockSize: 40"),
      "spec.cidr",
      "strictly masked",
    );
    expect(issues.map((i) => formatPath(i.path)).sort()).toEqual([
      "spec.blockSize",
      "spec.cidr",
      "spec.ipipMode",
    ]);
  });
});

function ctx(op: "create" | "update", stored: Resource[], old?: Resource): WriteContext {
  return { op, ...(old ? { old } : {}), list: (kind) => stored.filter((r) => r.kind === kind) };
}

const write = (r: Resource, c: WriteContext): FieldIssue[] => [...checkWrite(ipPoolKind, r, c)];

describe("IPPool: create and update rules (clientv3)", () => {
  const a = accept(pool("cidr: 10.0.0.0/16", "a"));

  it("refuses a pool that overlaps another on create, either way round", () => {
    const inner = accept(pool("cidr: 10.0.5.0/24", "b"));
    expect(write(inner, ctx("create", [a]))).toEqual([
      { path: ["spec", "cidr"], value: "10.0.5.0/24", rule: "overlaps IPPool a (10.0.0.0/16)" },
    ]);
    const outer = accept(pool("cidr: 10.0.0.0/8", "c"));
    expect(write(outer, ctx("create", [a]))[0]?.rule).toBe("overlaps IPPool a (10.0.0.0/16)");
    expect(write(accept(pool("cidr: 10.1.0.0/16", "d")), ctx("create", [a]))).toEqual([]);
    // Re-creating the same name is the datastore's "already exists", not an overlap.
    expect(write(a, ctx("create", [a]))).toEqual([]);
  });

  it("refuses a block size that conflicts with existing blocks in the range", () => {
    const block = {
      apiVersion: "projectcalico.org/v3",
      kind: "IPAMBlock",
      metadata: { name: "10-0-0-0-24" },
      spec: { cidr: "10.0.0.0/24" },
    };
    const issues = write(a, ctx("create", [block]));
    expect(issues[0]?.rule).toContain("block 10.0.0.0/24 of a different size");
  });

  it("refuses changing the CIDR or block size, and leaving LoadBalancer", () => {
    const moved = accept(pool("cidr: 10.2.0.0/16", "a"));
    expect(write(moved, ctx("update", [a], a))[0]?.rule).toContain("cannot be changed (stored: 10.0.0.0/16)");
    const resized = accept(pool("cidr: 10.0.0.0/16\nblockSize: 24", "a"));
    expect(write(resized, ctx("update", [a], a))[0]).toMatchObject({
      path: ["spec", "blockSize"],
      value: 24,
    });
    const lb = accept(pool("cidr: 10.0.0.0/16\nallowedUses: [LoadBalancer]", "a"));
    const back = accept(pool("cidr: 10.0.0.0/16\nallowedUses: [Workload]", "a"));
    expect(write(back, ctx("update", [lb], lb))[0]?.rule).toContain("cannot change from LoadBalancer");
  });

  it("accepts an update that only rewrites the CIDR in canonical form", () => {
    const old = { ...a, spec: { ...(a.spec as object), cidr: "fd00:0::/64" } };
    const now = accept(pool("cidr: fd00::/64", "a"));
    expect(write(now, ctx("update", [old], old)).filter((i) => i.path[1] === "cidr")).toEqual([]);
    expect(write(accept(pool("cidr: 10.0.0.0/16\nnatOutgoing: true", "a")), ctx("update", [a], a))).toEqual(
      [],
    );
  });
});
