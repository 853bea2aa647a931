/**
 * The lab's top-of-rack router, as an operator would configure one for a Calico rack: eBGP (AS 65000)
 * to every node (AS 64512), taking the nodes' pod blocks into its kernel so it can route pod traffic,
 * sending nothing back (the nodes learn each other over their own mesh). BIRD 2 or FRR. Pure text.
 */
import type { LabPlan } from "./plan.js";
import { NODE_AS, TOR_AS } from "./plan.js";

export function torRouterId(plan: LabPlan): string {
  return plan.segments[0]!.gateway;
}

export function renderBirdTor(plan: LabPlan): string {
  const L = [
    `router id ${torRouterId(plan)};`,
    "protocol device { scan time 5; }",
    "protocol direct { ipv4; }",
    "protocol kernel {",
    "  ipv4 { import none; export filter { if source = RTS_BGP then accept; reject; }; };",
    "}",
    "template bgp node {",
    `  local as ${TOR_AS};`,
    "  connect retry time 1;",
    "  ipv4 { import all; export none; };",
    "}",
  ];
  for (const n of plan.nodes) L.push(`protocol bgp ${n.name} from node { neighbor ${n.ip} as ${NODE_AS}; }`);
  return `${L.join("\n")}\n`;
}

export function renderFrrTor(plan: LabPlan): string {
  const L = [
    "frr defaults traditional",
    "hostname tor",
    "!",
    `router bgp ${TOR_AS}`,
    ` bgp router-id ${torRouterId(plan)}`,
    // FRR refuses eBGP routes without a policy unless told otherwise; the lab's policy is "take all".
    " no bgp ebgp-requires-policy",
  ];
  for (const n of plan.nodes)
    L.push(` neighbor ${n.ip} remote-as ${NODE_AS}`, ` neighbor ${n.ip} timers connect 1`);
  L.push(" !", " address-family ipv4 unicast");
  for (const n of plan.nodes) L.push(`  neighbor ${n.ip} activate`, `  neighbor ${n.ip} route-map none out`);
  L.push(" exit-address-family", "!", "route-map none deny 10", "!");
  return `${L.join("\n")}\n`;
}
