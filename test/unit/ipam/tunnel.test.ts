import { describe, expect, it } from "vitest";
import { resolvePools } from "../../../ipam/pools.js";
import {
  ensureTunnelAddress,
  releaseTunnelAddress,
  tunnelHandle,
  tunnelPools,
} from "../../../ipam/tunnel.js";
import { errorCode, match, pool, world } from "./helpers.js";

describe("ipam tunnel addresses", () => {
  it("uses Calico's handles", () => {
    expect(tunnelHandle("ipipTunnelAddress", "n1")).toBe("ipip-tunnel-addr-n1");
    expect(tunnelHandle("vxlanTunnelAddress", "n1")).toBe("vxlan-tunnel-addr-n1");
    expect(tunnelHandle("vxlanV6TunnelAddress", "n1")).toBe("vxlan-v6-tunnel-addr-n1");
    expect(tunnelHandle("wireguardTunnelAddress", "n1")).toBe("wireguard-tunnel-addr-n1");
  });

  it("takes pools with the encapsulation on, allowing Tunnel and selecting the node", () => {
    const pools = resolvePools([
      pool("ipip", "10.1.0.0/16", { ipipMode: "Always" }),
      pool("cross", "10.2.0.0/16", { ipipMode: "CrossSubnet" }),
      pool("plain", "10.3.0.0/16"),
      pool("vxlan", "10.4.0.0/16", { vxlanMode: "Always" }),
      pool("pods-only", "10.5.0.0/16", { ipipMode: "Always", allowedUses: ["Workload"] }),
      pool("other-zone", "10.6.0.0/16", { ipipMode: "Always", nodeSelector: "zone == 'b'" }),
      pool("off", "10.7.0.0/16", { ipipMode: "Always", disabled: true }),
      pool("v6", "fd00::/64", { vxlanMode: "Always" }),
    ]);
    const names = (t: Parameters<typeof tunnelPools>[1]) =>
      tunnelPools(pools, t, { zone: "a" }, match).map((p) => p.name);
    expect(names("ipipTunnelAddress")).toEqual(["cross", "ipip"]);
    expect(names("vxlanTunnelAddress")).toEqual(["vxlan"]);
    expect(names("vxlanV6TunnelAddress")).toEqual(["v6"]);
    expect(names("wireguardTunnelAddress")).toEqual(["cross", "ipip", "plain", "vxlan"]);
  });

  it("assigns with the node and type attributes, keeps the address, releases it", async () => {
    const w = world([
      pool("ipip", "10.1.0.0/24", { ipipMode: "Always", blockSize: 28 }),
      pool("plain", "10.3.0.0/24", { blockSize: 28 }),
    ]);
    const a = await ensureTunnelAddress(w.ipam, "n1", "ipipTunnelAddress");
    expect(a).toMatch(/^10\.1\.0\./);
    expect(await w.ipam.addressInfo(a)).toMatchObject({
      handle: "ipip-tunnel-addr-n1",
      attrs: { node: "n1", type: "ipipTunnelAddress" },
    });
    expect(await ensureTunnelAddress(w.ipam, "n1", "ipipTunnelAddress")).toBe(a);
    expect(await releaseTunnelAddress(w.ipam, "n1", "ipipTunnelAddress")).toBe(true);
    expect(await releaseTunnelAddress(w.ipam, "n1", "ipipTunnelAddress")).toBe(false);
  });

  it("moves the address when its pool stops qualifying, and fails plainly when none does", async () => {
    const w = world([pool("a", "10.1.0.0/24", { ipipMode: "Always", blockSize: 28 })]);
    const first = await ensureTunnelAddress(w.ipam, "n1", "ipipTunnelAddress");
    w.inputs.poolList = [
      pool("a", "10.1.0.0/24", { blockSize: 28 }),
      pool("b", "10.2.0.0/24", { ipipMode: "Always", blockSize: 28 }),
    ];
    const second = await ensureTunnelAddress(w.ipam, "n1", "ipipTunnelAddress");
    expect(second).toMatch(/^10\.2\.0\./);
    expect(await w.ipam.addressInfo(first)).toBeUndefined();
    w.inputs.poolList = [pool("a", "10.1.0.0/24", { blockSize: 28 })];
    expect(await errorCode(ensureTunnelAddress(w.ipam, "n1", "ipipTunnelAddress"))).toBe("IPAM_NO_POOLS");
    expect(await w.ipam.addressInfo(second)).toBeUndefined();
  });
});
