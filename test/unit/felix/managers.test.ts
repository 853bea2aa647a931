/**
 * The pure parts of felix's managers: the natOutgoing nft transaction, ARP/FDB diffs, when a VXLAN device
 * must be recreated, and the sysctls of a workload interface (calico.md §2.3, §2.9, §2.15).
 */
import { describe, expect, it } from "vitest";
import { renderNatRuleset } from "../../../felix/managers/nat-outgoing.js";
import { diffFdb, diffNeighbours } from "../../../felix/managers/neighbours.js";
import { globalSysctls, workloadSysctls } from "../../../felix/managers/sysctl.js";
import { vxlanMismatch } from "../../../felix/managers/tunnel-devices.js";
import type { DesiredVxlan } from "../../../felix/model/desired.js";
import type { Link } from "../../../felix/netlink/link-codec.js";

describe("natOutgoing ruleset", () => {
  it("replaces tabby's own table in one transaction with the pool sets and one masquerade rule", () => {
    expect(
      renderNatRuleset({
        masqPools4: ["10.65.0.0/16"],
        masqPools6: [],
        allPools4: ["10.65.0.0/16", "10.66.0.0/16"],
        allPools6: [],
      }),
    ).toBe(
      [
        "add table inet tabby-nat",
        "delete table inet tabby-nat",
        "table inet tabby-nat {",
        "  set masq-ipam-pools4 {",
        "    type ipv4_addr",
        "    flags interval",
        "    elements = { 10.65.0.0/16 }",
        "  }",
        "  set all-ipam-pools4 {",
        "    type ipv4_addr",
        "    flags interval",
        "    elements = { 10.65.0.0/16, 10.66.0.0/16 }",
        "  }",
        "  set masq-ipam-pools6 {",
        "    type ipv6_addr",
        "    flags interval",
        "  }",
        "  set all-ipam-pools6 {",
        "    type ipv6_addr",
        "    flags interval",
        "  }",
        "  chain nat-outgoing {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        "    ip saddr @masq-ipam-pools4 ip daddr != @all-ipam-pools4 masquerade",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("with nothing to masquerade only removes tabby's table", () => {
    expect(
      renderNatRuleset({ masqPools4: [], masqPools6: [], allPools4: ["10.65.0.0/16"], allPools6: [] }),
    ).toBe("add table inet tabby-nat\ndelete table inet tabby-nat\n");
  });
});

describe("neighbour and FDB diffs", () => {
  const names = new Map([
    [5, "cali1"],
    [6, "vxlan.calico"],
  ]);
  const ifName = (i: number) => names.get(i);

  it("replaces missing or wrong permanent entries and removes unwanted permanent ones only", () => {
    const plan = diffNeighbours(
      [
        { ifName: "vxlan.calico", dst: "10.65.2.0", lladdr: "66:00:00:00:00:02" },
        { ifName: "vxlan.calico", dst: "10.65.3.0", lladdr: "66:00:00:00:00:03" },
        { ifName: "cali1", dst: "10.65.1.5", lladdr: "aa:00:00:00:00:05" },
      ],
      [
        { family: 4, index: 6, state: 0x80, flags: 0, dst: "10.65.2.0", lladdr: "66:00:00:00:00:02" },
        { family: 4, index: 6, state: 0x80, flags: 0, dst: "10.65.3.0", lladdr: "66:00:00:00:00:99" },
        { family: 4, index: 6, state: 0x80, flags: 0, dst: "10.65.9.0", lladdr: "66:00:00:00:00:09" },
        { family: 4, index: 5, state: 0x02, flags: 0, dst: "10.65.1.5", lladdr: "aa:00:00:00:00:05" },
        { family: 4, index: 5, state: 0x02, flags: 0, dst: "10.65.1.8", lladdr: "aa:00:00:00:00:08" },
      ],
      ifName,
    );
    expect(plan.replace.map((d) => d.dst)).toEqual(["10.65.3.0", "10.65.1.5"]);
    expect(plan.remove.map((n) => n.dst)).toEqual(["10.65.9.0"]);
  });

  it("points each VTEP MAC at its node and drops VTEPs that left", () => {
    const plan = diffFdb(
      [
        { ifName: "vxlan.calico", lladdr: "66:00:00:00:00:02", dst: "10.0.0.2" },
        { ifName: "vxlan.calico", lladdr: "66:00:00:00:00:03", dst: "10.0.0.3" },
      ],
      [
        { family: "bridge", index: 6, state: 0x80, flags: 2, lladdr: "66:00:00:00:00:02", dst: "10.0.0.2" },
        { family: "bridge", index: 6, state: 0x80, flags: 2, lladdr: "66:00:00:00:00:03", dst: "10.0.0.9" },
        { family: "bridge", index: 6, state: 0x80, flags: 2, lladdr: "66:00:00:00:00:04", dst: "10.0.0.4" },
      ],
      ifName,
    );
    expect(plan.replace).toEqual([{ ifName: "vxlan.calico", lladdr: "66:00:00:00:00:03", dst: "10.0.0.3" }]);
    expect(plan.remove.map((n) => n.lladdr)).toEqual(["66:00:00:00:00:04"]);
  });
});

describe("VXLAN device checks", () => {
  const want: DesiredVxlan = {
    name: "vxlan.calico",
    vni: 4096,
    port: 4789,
    parentIface: "eth0",
    localIp: "10.0.0.1",
    mac: "66:01:02:03:04:05",
    mtu: 1450,
    address: "10.65.1.0",
  };
  const have: Link = {
    index: 6,
    name: "vxlan.calico",
    type: 1,
    flags: 1,
    mtu: 1400,
    address: "66:01:02:03:04:05",
    kind: "vxlan",
    vxlan: { vni: 4096, port: 4789, local: "10.0.0.1", parentIndex: 2, learning: false },
  };
  it("keeps a matching device (MTU is fixed in place) and names why another must be recreated", () => {
    expect(vxlanMismatch(have, want, 2)).toBeUndefined();
    expect(vxlanMismatch({ ...have, vxlan: { ...have.vxlan, vni: 1 } }, want, 2)).toBe("VNI 1 != 4096");
    expect(vxlanMismatch({ ...have, vxlan: { ...have.vxlan, port: 8472 } }, want, 2)).toBe(
      "port 8472 != 4789",
    );
    expect(vxlanMismatch({ ...have, vxlan: { ...have.vxlan, local: "10.0.0.9" } }, want, 2)).toBe(
      "source 10.0.0.9 != 10.0.0.1",
    );
    expect(vxlanMismatch(have, want, 3)).toBe("parent #2 != #3");
    expect(vxlanMismatch({ ...have, vxlan: { ...have.vxlan, learning: true } }, want, 2)).toBe(
      "learning is on",
    );
    expect(vxlanMismatch({ ...have, address: "66:00:00:00:00:00" }, want, 2)).toMatch(/^MAC/);
    expect(vxlanMismatch({ ...have, kind: "bridge" }, want, 2)).toBe("is a bridge, not vxlan");
  });
});

describe("sysctls", () => {
  it("configures a workload interface as Calico does", () => {
    expect(workloadSysctls("cali1", { ipv4: true, ipv6: true })).toEqual([
      ["net/ipv4/conf/cali1/route_localnet", "1"],
      ["net/ipv4/neigh/cali1/proxy_delay", "0"],
      ["net/ipv4/conf/cali1/proxy_arp", "1"],
      ["net/ipv4/conf/cali1/forwarding", "1"],
      ["net/ipv6/conf/cali1/proxy_ndp", "1"],
      ["net/ipv6/conf/cali1/forwarding", "1"],
      ["net/ipv6/conf/cali1/accept_ra", "0"],
    ]);
    expect(workloadSysctls("cali2", { ipv4: true, ipv6: false }).at(-1)).toEqual([
      "net/ipv6/conf/cali2/accept_ra",
      "0",
    ]);
    expect(globalSysctls({ ipv6: false })).toEqual([["net/ipv4/ip_forward", "1"]]);
  });
});
