/**
 * N deterministic desired routes for the route benchmark and felix's restart test: /32s in 10.128.0.0/9
 * via 10.0.0.2 on eth0, protocol 80 (the shape of Calico's no-encap block routes), and the same routes as
 * `ip -batch` lines.
 */
import type { DesiredRoute } from "../felix/model/desired.js";

function dst(i: number): string {
  return `10.${128 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}/32`;
}

export function syntheticRoutes(n: number, gateway = "10.0.0.2", ifName = "eth0"): DesiredRoute[] {
  const out: DesiredRoute[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      dst: dst(i),
      type: "unicast",
      protocol: 80,
      ifName,
      gateway,
      metric: 0,
      owner: `synthetic ${i}`,
    };
  }
  return out;
}

/** `route add <dst> via <gw> dev <if> proto 80` lines for `ip -batch`. */
export function syntheticIpBatch(n: number, gateway = "10.0.0.2", ifName = "eth0"): string {
  const lines: string[] = new Array(n);
  for (let i = 0; i < n; i++) lines[i] = `route add ${dst(i)} via ${gateway} dev ${ifName} proto 80`;
  return `${lines.join("\n")}\n`;
}

export function syntheticIpArgs(i: number, gateway = "10.0.0.2", ifName = "eth0"): string[] {
  return ["route", "add", dst(i), "via", gateway, "dev", ifName, "proto", "80"];
}
