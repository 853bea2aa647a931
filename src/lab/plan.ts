/**
 * What `tabby lab up` builds, computed from its options before anything is touched: the namespaces and
 * their addresses, the IPPool, the BGP peers, the ToR's neighbours, the pods and the notes the user is
 * shown (a fallback, a mode that has no ToR). Pure, so the plan is tested without root and `up` only
 * carries it out.
 *
 * The underlay is 198.18.0.0/24 (and 198.18.1.0/24 for CrossSubnet), the range RFC 2544 sets aside
 * for benchmarks, so the one address the lab puts in the host's namespace (198.18.0.250, where the
 * datastore listens for the nodes and for the user's kubectl) does not collide with a real network.
 */

export const ENCAPS = ["none", "ipip", "vxlan", "crosssubnet", "vxlan-backend"] as const;
export type Encap = (typeof ENCAPS)[number];
export const TORS = ["bird", "frr", "none"] as const;
export type TorKind = (typeof TORS)[number];
export const DATASTORES = ["kubernetes", "etcdv3"] as const;
export type LabDatastore = (typeof DATASTORES)[number];

export interface LabOptions {
  readonly nodes: number;
  readonly encap: Encap;
  readonly tor: TorKind;
  readonly datastore: LabDatastore;
  readonly podsPerNode: number;
  /** Where the topology page listens (loopback; port 0 picks a free one). */
  readonly web: { readonly host: string; readonly port: number };
}

export const DEFAULT_OPTIONS: LabOptions = {
  nodes: 3,
  encap: "none",
  tor: "bird",
  datastore: "kubernetes",
  podsPerNode: 2,
  web: { host: "127.0.0.1", port: 0 },
};

export const MAX_NODES = 100;
export const NODE_AS = 64512;
export const TOR_AS = 65000;
export const HOST_LINK = "tabbylab0";
export const HOST_IP = "198.18.0.250";
export const POOL_CIDR = "10.244.0.0/16";

export interface Segment {
  readonly name: "a" | "b";
  readonly bridge: string;
  readonly subnet: string;
  /** The ToR's address on this segment: the nodes' default gateway. */
  readonly gateway: string;
}

export const SEGMENTS: readonly Segment[] = [
  { name: "a", bridge: "br-a", subnet: "198.18.0.0/24", gateway: "198.18.0.254" },
  { name: "b", bridge: "br-b", subnet: "198.18.1.0/24", gateway: "198.18.1.254" },
];

export interface PlannedNode {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly segment: Segment;
}

export interface PlannedPod {
  readonly name: string;
  readonly namespace: string;
  readonly node: string;
  readonly netns: string;
}

export interface PoolSpec {
  readonly cidr: string;
  readonly blockSize: number;
  readonly ipipMode: "Never" | "Always" | "CrossSubnet";
  readonly vxlanMode: "Never" | "Always" | "CrossSubnet";
  readonly natOutgoing: boolean;
  readonly nodeSelector: string;
}

export interface PlannedPeer {
  readonly name: string;
  /** Only this node peers (a per-node BGPPeer), or every node when undefined. */
  readonly node?: string;
  readonly peerIP: string;
  readonly asNumber: number;
}

export interface LabPlan {
  readonly options: LabOptions;
  readonly prefix: string;
  readonly switchNetns: string;
  readonly torNetns: string;
  readonly segments: readonly Segment[];
  readonly nodes: readonly PlannedNode[];
  readonly pods: readonly PlannedPod[];
  readonly pool: PoolSpec;
  readonly peers: readonly PlannedPeer[];
  /** The ToR daemon, or undefined when the lab runs none (asked for, or no BGP in this mode). */
  readonly tor: TorKind | undefined;
  readonly backend: "bird" | "vxlan";
  /** Said to the user before the lab starts: what was chosen in place of what was asked, and why. */
  readonly notes: readonly string[];
}

export class LabOptionError extends Error {
  override readonly name = "LabOptionError";
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T {
  if (value !== undefined && (allowed as readonly string[]).includes(value)) return value as T;
  throw new LabOptionError(`${flag}: ${JSON.stringify(value ?? "")} is not one of ${allowed.join(", ")}`);
}

/** `127.0.0.1:8080`, `localhost:0`, `[::1]:80`: the topology page listens on loopback only. */
export function parseLoopbackListen(text: string): { host: string; port: number } | undefined {
  const m = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** `up`'s flags; anything else is an error naming the flag. */
export function parseUpArgs(argv: readonly string[]): LabOptions {
  let o: LabOptions = DEFAULT_OPTIONS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case "--nodes": {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > MAX_NODES)
          throw new LabOptionError(
            `--nodes: ${JSON.stringify(v ?? "")} is not a whole number from 1 to ${MAX_NODES}`,
          );
        o = { ...o, nodes: n };
        break;
      }
      case "--pods-per-node": {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 10)
          throw new LabOptionError(
            `--pods-per-node: ${JSON.stringify(v ?? "")} is not a whole number from 0 to 10`,
          );
        o = { ...o, podsPerNode: n };
        break;
      }
      case "--web": {
        const v = value() ?? "";
        const web = parseLoopbackListen(v);
        if (web === undefined)
          throw new LabOptionError(
            `--web: ${JSON.stringify(v)} is not a loopback HOST:PORT (e.g. 127.0.0.1:8080)`,
          );
        o = { ...o, web };
        break;
      }
      case "--encap":
        o = { ...o, encap: oneOf("--encap", value(), ENCAPS) };
        break;
      case "--tor":
        o = { ...o, tor: oneOf("--tor", value(), TORS) };
        break;
      case "--datastore":
        o = { ...o, datastore: oneOf("--datastore", value(), DATASTORES) };
        break;
      default:
        throw new LabOptionError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  return o;
}

/** What the host can do that changes the plan. */
export interface HostFacts {
  /** Whether the kernel makes ipip devices. */
  readonly ipip: boolean;
}

function poolFor(encap: Encap, ipip: boolean): { pool: PoolSpec; notes: string[] } {
  const base: PoolSpec = {
    cidr: POOL_CIDR,
    blockSize: 26,
    ipipMode: "Never",
    vxlanMode: "Never",
    natOutgoing: true,
    nodeSelector: "all()",
  };
  const noIpip = "this kernel has no IP-in-IP (ipip) support";
  switch (encap) {
    case "none":
      return { pool: base, notes: [] };
    case "ipip":
      return ipip
        ? { pool: { ...base, ipipMode: "Always" }, notes: [] }
        : {
            pool: { ...base, vxlanMode: "Always" },
            notes: [`--encap ipip: ${noIpip}, so the pool uses VXLAN (vxlanMode: Always) instead`],
          };
    case "crosssubnet":
      return ipip
        ? { pool: { ...base, ipipMode: "CrossSubnet" }, notes: [] }
        : {
            pool: { ...base, vxlanMode: "CrossSubnet" },
            notes: [`--encap crosssubnet: ${noIpip}, so the pool uses vxlanMode: CrossSubnet instead`],
          };
    case "vxlan":
    case "vxlan-backend":
      return { pool: { ...base, vxlanMode: "Always" }, notes: [] };
  }
}

/**
 * Node k (1-based) is `node<k>` at 198.18.0.(10+k); with CrossSubnet the second half of the nodes sit
 * on segment b, behind the ToR, which routes between the two subnets.
 */
export function planLab(options: LabOptions, facts: HostFacts, prefix = "tabbylab"): LabPlan {
  const { pool, notes } = poolFor(options.encap, facts.ipip);
  const twoSegments = options.encap === "crosssubnet" && options.nodes > 1;
  const segments = twoSegments ? SEGMENTS : SEGMENTS.slice(0, 1);
  const onA = twoSegments ? Math.ceil(options.nodes / 2) : options.nodes;
  const nodes: PlannedNode[] = [];
  for (let k = 1; k <= options.nodes; k++) {
    const segment = k <= onA ? SEGMENTS[0]! : SEGMENTS[1]!;
    const base = segment.subnet.split(".").slice(0, 3).join(".");
    nodes.push({ name: `node${k}`, netns: `${prefix}-node${k}`, ip: `${base}.${10 + k}`, segment });
  }
  const backend = options.encap === "vxlan-backend" ? "vxlan" : "bird";
  let tor: TorKind | undefined = options.tor === "none" ? undefined : options.tor;
  if (backend === "vxlan" && tor !== undefined) {
    notes.push(
      `--encap vxlan-backend: the nodes run no BGP (CALICO_NETWORKING_BACKEND=vxlan), so there is no ToR ${tor}; the ToR namespace only routes`,
    );
    tor = undefined;
  }
  const peers: PlannedPeer[] =
    tor === undefined
      ? []
      : twoSegments
        ? nodes.map((n) => ({
            name: `tor-${n.name}`,
            node: n.name,
            peerIP: n.segment.gateway,
            asNumber: TOR_AS,
          }))
        : [{ name: "tor", peerIP: SEGMENTS[0]!.gateway, asNumber: TOR_AS }];
  const pods: PlannedPod[] = [];
  for (const n of nodes)
    for (let j = 0; j < options.podsPerNode; j++) {
      const name = `${n.name}-${String.fromCharCode(97 + j)}`;
      pods.push({ name, namespace: "default", node: n.name, netns: `${prefix}-pod-${name}` });
    }
  return {
    options,
    prefix,
    switchNetns: `${prefix}-switch`,
    torNetns: `${prefix}-tor`,
    segments,
    nodes,
    pods,
    pool,
    peers,
    tor,
    backend,
    notes,
  };
}
