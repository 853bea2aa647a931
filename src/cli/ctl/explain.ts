/**
 * `tabbyctl explain <pod | ip | cidr>`: the whole path of one address, as an operator would trace it
 * by hand: the IPPool that holds it (and whether that pool is exported, enabled, and which encapsulation
 * it asks for), the IPAM block and its affinity (or that the address is borrowed from another node's
 * block), the WorkloadEndpoint and its veth, the owning node, the encapsulation this node should use
 * towards it and why (CrossSubnet: both subnets), the BGP route the agent learned (or why there is
 * none), and the kernel route this node has against the one it should have. Every mismatch is a
 * finding in words. Pure: explain-run.ts gathers the inputs from the datastore, the agent and the kernel.
 */

import { ordinalOfAddress } from "../../../ipam/block.js";
import type { Resource } from "../../api/meta.js";
import {
  type Cidr,
  cidrContainsIp,
  formatCidr,
  type IpAddr,
  networkOf,
  parseCidr,
  parseCidrOrIp,
  parseIp,
} from "../../api/net.js";
import { compileSelector } from "../../api/selector/selector.js";

export type ExplainTarget =
  | { readonly kind: "ip"; readonly ip: string }
  | { readonly kind: "cidr"; readonly cidr: string }
  | { readonly kind: "pod"; readonly namespace: string; readonly name: string };

export interface KernelRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly type?: string;
}

export interface RibRoute {
  readonly prefix: string;
  readonly best: boolean;
  readonly fromName: string;
  readonly nextHop: string;
  readonly asPath: string;
}

export interface ExplainInputs {
  readonly target: ExplainTarget;
  readonly pools: readonly Resource[];
  readonly blocks: readonly Resource[];
  readonly affinities: readonly Resource[];
  readonly endpoints: readonly Resource[];
  readonly nodes: readonly Resource[];
  /** The node this command runs on (NODENAME, the nodename file); undefined off a node. */
  readonly thisNode?: string;
  /** The agent's BGP routes (its status socket); a string says why they could not be read. */
  readonly rib?: readonly RibRoute[] | string;
  /** This host's kernel routes (main table); a string says why they could not be read. */
  readonly kernel?: readonly KernelRoute[] | string;
  /** Interface names on this host. */
  readonly interfaces?: readonly string[];
}

export interface Finding {
  readonly step: "address" | "pool" | "block" | "endpoint" | "node" | "encap" | "bgp" | "kernel" | "veth";
  readonly text: string;
  /** problem: something is wrong; notice: unusual but working (a borrowed address). */
  readonly severity?: "problem" | "notice";
}

export interface Explanation {
  readonly subject: string;
  readonly address?: string;
  readonly pool?: string;
  readonly block?: string;
  readonly owner?: string;
  readonly encapsulation?: "local" | "none" | "ipip" | "vxlan";
  readonly expectedRoute?: string;
  readonly findings: readonly Finding[];
  readonly problems: number;
}

type Spec = Record<string, unknown>;
const spec = (r: Resource) => (r.spec ?? {}) as Spec;
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

function longestContaining<T>(
  items: readonly T[],
  cidrOf: (t: T) => Cidr | undefined,
  ip: IpAddr,
): T | undefined {
  let best: T | undefined;
  let bestLen = -1;
  for (const t of items) {
    const c = cidrOf(t);
    if (c !== undefined && cidrContainsIp(c, ip) && c.prefixLen > bestLen) {
      best = t;
      bestLen = c.prefixLen;
    }
  }
  return best;
}

const kernelCidr = (r: KernelRoute) => (r.dst === "default" ? parseCidr("0.0.0.0/0") : parseCidrOrIp(r.dst));
const routeText = (r: KernelRoute) =>
  [
    r.type && r.type !== "unicast" ? r.type : "",
    r.dst,
    r.gateway ? `via ${r.gateway}` : "",
    r.dev ? `dev ${r.dev}` : "",
    r.protocol ? `proto ${r.protocol}` : "",
  ]
    .filter((x) => x !== "")
    .join(" ");

function nodeAddress(n: Resource | undefined): string | undefined {
  const bgp = spec(n ?? ({} as Resource)).bgp as Spec | undefined;
  return str(bgp?.ipv4Address);
}

export function explain(i: ExplainInputs): Explanation {
  const findings: Finding[] = [];
  const say = (step: Finding["step"], text: string, severity?: Finding["severity"]) =>
    findings.push({ step, text, ...(severity ? { severity } : {}) });
  const out: { -readonly [K in keyof Explanation]?: Explanation[K] } = {};

  // 1. What address: the pod's endpoint, or the address given.
  let endpoint: Resource | undefined;
  let subject: string;
  let ip: IpAddr | undefined;
  let asCidr: Cidr | undefined;
  const epIps = (e: Resource) =>
    ((spec(e).ipNetworks as string[] | undefined) ?? [])
      .map((n) => parseCidrOrIp(n))
      .filter((c) => c !== undefined);
  if (i.target.kind === "pod") {
    const { namespace, name } = i.target;
    subject = `pod ${namespace}/${name}`;
    endpoint = i.endpoints.find(
      (e) => spec(e).pod === name && (e.metadata.namespace ?? "default") === namespace,
    );
    if (endpoint === undefined) {
      // IPAM may still hold the pod's address: the CNI ADD stopped half-way, or the endpoint was deleted.
      const held = heldBy(i.blocks, namespace, name);
      if (held === undefined) {
        say(
          "endpoint",
          `no WorkloadEndpoint for ${subject}, and IPAM holds no address for it: the pod has no network (is it scheduled, and did the CNI plugin run?)`,
          "problem",
        );
        return { subject, findings, problems: 1 };
      }
      say(
        "endpoint",
        `no WorkloadEndpoint for ${subject}, but IPAM holds ${held} for it: the CNI ADD did not finish or the endpoint was deleted; the address is not reachable as the pod's`,
        "problem",
      );
      ip = parseIp(held);
    } else {
      const first = epIps(endpoint).find((c) => c.family === 4) ?? epIps(endpoint)[0];
      if (first === undefined) {
        say("endpoint", `WorkloadEndpoint ${endpoint.metadata.name} has no ipNetworks`, "problem");
        return { subject, findings, problems: 1 };
      }
      ip = { family: first.family, value: first.addr };
    }
  } else if (i.target.kind === "ip") {
    subject = i.target.ip;
    ip = parseIp(i.target.ip);
  } else {
    subject = i.target.cidr;
    asCidr = parseCidr(i.target.cidr);
    if (asCidr !== undefined) ip = { family: asCidr.family, value: networkOf(asCidr).addr };
  }
  if (ip === undefined) {
    say(
      "address",
      `${JSON.stringify(subject)} is not an IP address, a CIDR or a pod (NAMESPACE/NAME)`,
      "problem",
    );
    return { subject, findings, problems: 1 };
  }
  const address = asCidr ? formatCidr(asCidr) : formatAddr(ip);
  out.address = address;
  if (endpoint === undefined && i.target.kind === "ip")
    endpoint = i.endpoints.find((e) => epIps(e).some((c) => cidrContainsIp(c, ip!)));

  // 2. The pool.
  const pool = longestContaining(i.pools, (p) => parseCidr(String(spec(p).cidr)), ip);
  if (pool === undefined) {
    say(
      "pool",
      `no IPPool contains ${address}: Calico does not route it (pools: ${i.pools.map((p) => `${p.metadata.name} ${spec(p).cidr}`).join(", ") || "none"})`,
      "problem",
    );
  } else {
    const ps = spec(pool);
    const ipip = str(ps.ipipMode) ?? "Never";
    const vxlan = str(ps.vxlanMode) ?? "Never";
    out.pool = pool.metadata.name;
    say(
      "pool",
      `${pool.metadata.name} ${ps.cidr} (ipipMode ${ipip}, vxlanMode ${vxlan}${ps.natOutgoing ? ", natOutgoing" : ""}${ps.disabled ? ", disabled" : ""}${ps.disableBGPExport ? ", disableBGPExport" : ""})`,
    );
    if (ps.disabled === true)
      say(
        "pool",
        "the pool is disabled: no new addresses come from it; those already given out are still routed",
        "notice",
      );
  }

  // 3. The block and the allocation.
  const block = longestContaining(i.blocks, (b) => parseCidr(String(spec(b).cidr)), ip);
  let affineNode: string | undefined;
  let usedOn: string | undefined;
  if (block === undefined) {
    say(
      "block",
      `no IPAM block holds ${address}: it was not given out by Calico IPAM`,
      pool ? "problem" : undefined,
    );
  } else {
    const bs = spec(block);
    out.block = String(bs.cidr);
    affineNode = str(bs.affinity)?.startsWith("host:") ? str(bs.affinity)!.slice(5) : undefined;
    const affinity =
      affineNode === undefined
        ? undefined
        : i.affinities.find((a) => spec(a).node === affineNode && spec(a).cidr === bs.cidr);
    say(
      "block",
      `${bs.cidr}, ${affineNode ? `affine to ${affineNode}` : "with no affinity (a node's block was released, the addresses stayed)"}${affinity ? ` (BlockAffinity ${affinity.metadata.name} ${spec(affinity).state ?? "confirmed"})` : ""}`,
    );
    if (affineNode !== undefined && affinity === undefined)
      say(
        "block",
        `the block says host:${affineNode} but there is no BlockAffinity for it: run \`tabbyctl ipam check\``,
        "problem",
      );
    if (asCidr === undefined) {
      const ordinal = ordinalOfAddress({ cidr: String(bs.cidr) }, formatAddr(ip));
      const slot =
        ordinal === undefined ? undefined : (bs.allocations as (number | null)[] | undefined)?.[ordinal];
      if (slot === null || slot === undefined) {
        say("block", `${address} is free in its block (ordinal ${ordinal}): nothing uses it`, "problem");
      } else {
        const attr = ((bs.attributes as
          | { handle_id?: string; secondary?: Record<string, string> }[]
          | undefined) ?? [])[slot];
        usedOn = attr?.secondary?.node;
        const who = attr?.secondary?.pod
          ? ` for pod ${attr.secondary.namespace ?? "default"}/${attr.secondary.pod}`
          : "";
        say(
          "block",
          `ordinal ${ordinal}, handle ${attr?.handle_id ?? "?"}${who}${usedOn ? ` on ${usedOn}` : ""}`,
        );
      }
    }
  }

  // 4. The endpoint and the owning node.
  const epNode = endpoint ? str(spec(endpoint).node) : undefined;
  const owner = epNode ?? usedOn ?? affineNode;
  if (endpoint !== undefined)
    say(
      "endpoint",
      `WorkloadEndpoint ${endpoint.metadata.namespace ? `${endpoint.metadata.namespace}/` : ""}${endpoint.metadata.name} on ${epNode ?? "?"}, interface ${spec(endpoint).interfaceName ?? "?"}`,
    );
  else if (i.target.kind === "ip" && usedOn !== undefined)
    say("endpoint", `no WorkloadEndpoint has ${address}, though IPAM gave it out on ${usedOn}`, "notice");
  const borrowed =
    owner !== undefined && affineNode !== undefined && owner !== affineNode && asCidr === undefined;
  if (borrowed)
    say(
      "block",
      `borrowed: ${address} is used on ${owner} but its block is affine to ${affineNode}; ${affineNode} announces the block and ${owner} a /32 for this address`,
      "notice",
    );
  if (owner === undefined) return finish(subject, out, findings);
  out.owner = owner;
  const ownerNode = i.nodes.find((n) => n.metadata.name === owner);
  const ownerIp = nodeAddress(ownerNode);
  if (ownerNode === undefined)
    say("node", `${owner} is not a Node in the datastore: nothing routes to it`, "problem");
  else say("node", `${owner} at ${ownerIp ?? "no BGP address"}`);
  const selector = pool ? str(spec(pool).nodeSelector) : undefined;
  if (pool && ownerNode && selector !== undefined && selector.trim() !== "" && selector.trim() !== "all()") {
    let matches: boolean | string;
    try {
      matches = compileSelector(selector).matches(ownerNode.metadata.labels ?? {});
    } catch (e) {
      matches = (e as Error).message;
    }
    if (matches === true) say("pool", `nodeSelector ${selector} matches ${owner}: why this pool`);
    else
      say(
        "pool",
        typeof matches === "string"
          ? `nodeSelector ${JSON.stringify(selector)} does not parse: ${matches}`
          : `nodeSelector ${selector} does not match ${owner}: the address came from an explicit pool request or predates the selector`,
        "notice",
      );
  }

  // 5. Encapsulation from this node.
  const here = i.thisNode;
  if (here === undefined || pool === undefined) return finish(subject, out, findings);
  const ps = spec(pool);
  const hereIp = nodeAddress(i.nodes.find((n) => n.metadata.name === here));
  let encap: Explanation["encapsulation"];
  if (owner === here) {
    encap = "local";
    say("encap", `${address} is on this node (${here}): no encapsulation, a route to its veth`);
  } else {
    const mode = (m: unknown) => str(m) ?? "Never";
    const sameSubnet = ownerIp && hereIp && subnetsEqual(ownerIp, hereIp);
    const pick = (m: string, kind: "ipip" | "vxlan") =>
      m === "Always" ? kind : m === "CrossSubnet" ? (sameSubnet ? undefined : kind) : undefined;
    encap = pick(mode(ps.vxlanMode), "vxlan") ?? pick(mode(ps.ipipMode), "ipip") ?? "none";
    const why =
      mode(ps.vxlanMode) === "CrossSubnet" || mode(ps.ipipMode) === "CrossSubnet"
        ? ` (CrossSubnet: this node ${hereIp ?? "?"}, ${owner} ${ownerIp ?? "?"}: ${sameSubnet ? "same subnet" : "different subnets"})`
        : ` (ipipMode ${mode(ps.ipipMode)}, vxlanMode ${mode(ps.vxlanMode)})`;
    say(
      "encap",
      `${encap === "none" ? "none: routed natively" : encap === "vxlan" ? "VXLAN via vxlan.calico" : "IP-in-IP via tunl0"}${why}`,
    );
  }
  out.encapsulation = encap;

  // 6. The BGP route (native routing only: VXLAN routes come from the datastore).
  const routed = borrowed ? `${formatAddr(ip)}/32` : (out.block ?? address);
  if (encap === "none" || encap === "ipip") {
    if (typeof i.rib === "string") say("bgp", `cannot read the agent's BGP routes: ${i.rib}`, "notice");
    else if (i.rib !== undefined) {
      const best = longestContaining(
        i.rib.filter((r) => r.best),
        (r) => parseCidr(r.prefix),
        ip,
      );
      if (best === undefined)
        say(
          "bgp",
          ps.disableBGPExport === true
            ? `no BGP route for ${routed}: the pool has disableBGPExport: true, so ${owner} does not announce its blocks; this node cannot reach ${address} natively`
            : `no BGP route for ${routed}: ${owner} does not announce it to this node (is the session to ${owner} Established? \`tabbyctl node status\`)`,
          "problem",
        );
      else
        say(
          "bgp",
          `best path ${best.prefix} via ${best.nextHop} from ${best.fromName}${best.asPath ? ` (AS path ${best.asPath})` : ""}`,
        );
    }
  } else if (encap === "vxlan")
    say("bgp", "VXLAN routes come from the datastore's blocks (felix), not from BGP");

  // 7. The kernel route: what it should be, and what it is.
  const wepIf = endpoint ? str(spec(endpoint).interfaceName) : undefined;
  const ownerTunnel = str(spec(ownerNode ?? ({} as Resource)).ipv4VXLANTunnelAddr);
  const expected: { gateway?: string; dev?: string } =
    encap === "local"
      ? { ...(wepIf ? { dev: wepIf } : {}) }
      : encap === "vxlan"
        ? { dev: "vxlan.calico", ...(ownerTunnel ? { gateway: ownerTunnel } : {}) }
        : encap === "ipip"
          ? { dev: "tunl0", ...(ownerIp ? { gateway: ownerIp.split("/")[0]! } : {}) }
          : { ...(ownerIp ? { gateway: ownerIp.split("/")[0]! } : {}) };
  out.expectedRoute = `${encap === "local" ? formatAddr(ip) : routed}${expected.gateway ? ` via ${expected.gateway}` : ""}${expected.dev ? ` dev ${expected.dev}` : ""}`;
  if (typeof i.kernel === "string") say("kernel", `cannot read this node's routes: ${i.kernel}`, "notice");
  else if (i.kernel !== undefined) {
    const actual = longestContaining(
      i.kernel.filter((r) => r.type !== "blackhole" || encap !== "local"),
      kernelCidr,
      ip,
    );
    if (actual === undefined || actual.dst === "default")
      say(
        "kernel",
        `no route for ${address} on this node (only ${actual ? "the default route" : "nothing"} matches); expected ${out.expectedRoute}`,
        "problem",
      );
    else if (actual.type === "blackhole" && encap !== "local")
      say(
        "kernel",
        `${routeText(actual)}: this node drops ${address}; expected ${out.expectedRoute}`,
        "problem",
      );
    else if (expected.gateway !== undefined && actual.gateway !== expected.gateway) {
      const via = actual.gateway
        ? i.nodes.find((n) => nodeAddress(n)?.split("/")[0] === actual.gateway)?.metadata.name
        : undefined;
      say(
        "kernel",
        `${routeText(actual)}: goes via ${actual.gateway ?? "no gateway"}${via ? ` (${via})` : ""}, but ${address} is on ${owner} (${expected.gateway}); expected ${out.expectedRoute}`,
        "problem",
      );
    } else if (expected.dev !== undefined && actual.dev !== expected.dev)
      say(
        "kernel",
        `${routeText(actual)}: leaves by ${actual.dev ?? "?"}, expected ${expected.dev}`,
        "problem",
      );
    else say("kernel", `${routeText(actual)}: as expected`);
  }

  // 8. The veth, on the owning node.
  if (encap === "local" && wepIf !== undefined && i.interfaces !== undefined && !i.interfaces.includes(wepIf))
    say(
      "veth",
      `the endpoint's interface ${wepIf} does not exist on this node: the pod's veth is gone (pod deleted without CNI DEL, or the sandbox died)`,
      "problem",
    );
  return finish(subject, out, findings);
}

function finish(
  subject: string,
  out: { -readonly [K in keyof Explanation]?: Explanation[K] },
  findings: Finding[],
): Explanation {
  return { ...out, subject, findings, problems: findings.filter((f) => f.severity === "problem").length };
}

function formatAddr(ip: IpAddr): string {
  return formatCidr({ family: ip.family, addr: ip.value, prefixLen: ip.family === 4 ? 32 : 128 }).split(
    "/",
  )[0]!;
}

function subnetsEqual(a: string, b: string): boolean {
  const ca = parseCidr(a);
  const cb = parseCidr(b);
  return (
    ca !== undefined && cb !== undefined && ca.prefixLen === cb.prefixLen && formatCidr(ca) === formatCidr(cb)
  );
}

/** The address IPAM holds for a pod (by the allocation's attributes), if any. */
function heldBy(blocks: readonly Resource[], namespace: string, pod: string): string | undefined {
  for (const b of blocks) {
    const bs = spec(b);
    const attrs = (bs.attributes as { secondary?: Record<string, string> }[] | undefined) ?? [];
    const allocations = (bs.allocations as (number | null)[] | undefined) ?? [];
    for (const [ordinal, slot] of allocations.entries()) {
      if (slot === null) continue;
      const s = attrs[slot]?.secondary;
      if (s?.pod === pod && (s.namespace ?? "default") === namespace) {
        const c = parseCidr(String(bs.cidr));
        if (c === undefined) continue;
        return formatAddr({ family: c.family, value: networkOf(c).addr + BigInt(ordinal) });
      }
    }
  }
  return undefined;
}

/** `explain`'s text. Pure. */
export function renderExplanation(e: Explanation): string {
  const head = `${e.subject}${e.address && e.address !== e.subject ? ` (${e.address})` : ""}`;
  const lines = e.findings.map(
    (f) =>
      `  ${f.step.padEnd(8)}  ${f.severity === "problem" ? "PROBLEM: " : f.severity === "notice" ? "note: " : ""}${f.text}`,
  );
  const tail =
    e.problems === 0 ? "no problems found" : `${e.problems} problem${e.problems === 1 ? "" : "s"} found`;
  return `${head}\n${lines.join("\n")}\n${tail}\n`;
}

/** Parses what the user asked about: an address, a CIDR, or a pod as NAMESPACE/NAME or NAME. */
export function parseTarget(text: string): ExplainTarget {
  if (parseIp(text) !== undefined) return { kind: "ip", ip: text };
  if (text.includes("/") && parseCidr(text) !== undefined) return { kind: "cidr", cidr: text };
  const slash = text.indexOf("/");
  return slash > 0
    ? { kind: "pod", namespace: text.slice(0, slash), name: text.slice(slash + 1) }
    : { kind: "pod", namespace: "default", name: text };
}
