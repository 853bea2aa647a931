/**
 * One neutral description of a BGP speaker for tests (`SpeakerSpec`), rendered into each daemon's config
 * language, plus `@NAME@` template filling for hand-written configs (as in ../shared/reference/peer-configs).
 * The renderers bake in what makes tests fast and predictable, from peers.md: eBGP without policies
 * (FRR `no bgp ebgp-requires-policy`), short connect/error-wait timers, `direct` iBGP next hops in BIRD,
 * `frr defaults traditional`, per-family activation.
 */
import { type Family, familyOf } from "./types.js";

export interface NeighborSpec {
  readonly address: string;
  readonly as: number;
  /** Families exchanged on this session; default: the family of `address`. */
  readonly families?: readonly Family[];
  readonly localAddress?: string;
  readonly passive?: boolean;
  /** RFC 2385 TCP MD5 key. */
  readonly password?: string;
  /** This speaker is a route reflector and the neighbor its client. */
  readonly rrClient?: boolean;
  readonly nextHopSelf?: boolean;
  readonly holdTimeSec?: number;
  readonly port?: number;
  /** eBGP multihop TTL. */
  readonly multihop?: number;
  readonly gracefulRestart?: boolean;
  /** Raw lines appended to this neighbor's section, in the daemon's own syntax. */
  readonly extra?: readonly string[];
}

export interface SpeakerSpec {
  readonly routerId: string;
  readonly as: number;
  readonly neighbors: readonly NeighborSpec[];
  /** Prefixes to originate from the start. */
  readonly originate?: readonly string[];
  /** Route-reflector cluster id (defaults to the router id when a neighbor is an rrClient). */
  readonly clusterId?: string;
  /** BGP listen port; default 179. */
  readonly port?: number;
  /** Raw global lines in the daemon's syntax. */
  readonly extra?: readonly string[];
}

/** Replaces every `@NAME@` with `vars.NAME`; a placeholder without a value is an error, not an empty string. */
export function renderTemplate(text: string, vars: Readonly<Record<string, string | number>>): string {
  return text.replace(/@([A-Z0-9_]+)@/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`template placeholder @${name}@ has no value`);
    return String(v);
  });
}

const familiesOf = (n: NeighborSpec): readonly Family[] => n.families ?? [familyOf(n.address)];

// ---- BIRD 2 -------------------------------------------------------------------------------------------

export function birdProtocolName(index: number): string {
  return `n${index}`;
}

export function renderBirdConfig(s: SpeakerSpec): string {
  const v4 = (s.originate ?? []).filter((p) => familyOf(p) === "ipv4");
  const v6 = (s.originate ?? []).filter((p) => familyOf(p) === "ipv6");
  const lines: string[] = [`router id ${s.routerId};`, "log stderr all;", "protocol device { }"];
  // Originated prefixes are static blackholes (BIRD only exports what is in its table).
  lines.push(`protocol static s4 { ipv4; ${v4.map((p) => `route ${p} blackhole;`).join(" ")} }`);
  lines.push(`protocol static s6 { ipv6; ${v6.map((p) => `route ${p} blackhole;`).join(" ")} }`);
  lines.push(...(s.extra ?? []));
  s.neighbors.forEach((n, i) => {
    const ibgp = n.as === s.as;
    const body: string[] = [
      `local${n.localAddress ? ` ${n.localAddress}` : ""} as ${s.as};`,
      `neighbor ${n.address}${n.port ? ` port ${n.port}` : ""} as ${n.as};`,
      `hold time ${n.holdTimeSec ?? 90};`,
      // Tests should not wait BIRD's default 120 s connect retry / 60 s error wait (peers.md §4).
      "connect retry time 2;",
      "connect delay time 1;",
      "error wait time 1, 5;",
    ];
    if (n.passive) body.push("passive on;");
    if (n.password) body.push(`password "${n.password}";`);
    if (n.rrClient) body.push("rr client;");
    if (n.rrClient) body.push(`rr cluster id ${s.clusterId ?? s.routerId};`);
    if (ibgp && !n.multihop) body.push("direct;");
    if (n.multihop) body.push(`multihop ${n.multihop};`);
    if (n.gracefulRestart) body.push("graceful restart on;");
    for (const f of familiesOf(n)) {
      const ch = [`import all;`, `export all;`];
      if (n.nextHopSelf) ch.push("next hop self;");
      body.push(`${f} { ${ch.join(" ")} };`);
    }
    body.push(...(n.extra ?? []));
    lines.push(`protocol bgp ${birdProtocolName(i)} {\n  ${body.join("\n  ")}\n}`);
  });
  return `${lines.join("\n")}\n`;
}

// ---- FRR 8 ----------------------------------------------------------------------------------------------

export function renderFrrConfig(s: SpeakerSpec, hostname = "frr"): string {
  const L: string[] = ["frr defaults traditional", `hostname ${hostname}`, "!", `router bgp ${s.as}`];
  L.push(` bgp router-id ${s.routerId}`, " no bgp ebgp-requires-policy", " no bgp network import-check");
  if (s.neighbors.some((n) => n.rrClient)) L.push(` bgp cluster-id ${s.clusterId ?? s.routerId}`);
  if (s.neighbors.some((n) => n.gracefulRestart)) L.push(" bgp graceful-restart");
  L.push(...(s.extra ?? []).map((x) => ` ${x}`));
  for (const n of s.neighbors) {
    const a = n.address;
    L.push(` neighbor ${a} remote-as ${n.as}`, ` neighbor ${a} timers connect 1`);
    if (n.holdTimeSec !== undefined)
      L.push(` neighbor ${a} timers ${Math.max(1, Math.floor(n.holdTimeSec / 3))} ${n.holdTimeSec}`);
    if (n.port) L.push(` neighbor ${a} port ${n.port}`);
    if (n.localAddress) L.push(` neighbor ${a} update-source ${n.localAddress}`);
    if (n.passive) L.push(` neighbor ${a} passive`);
    if (n.password) L.push(` neighbor ${a} password ${n.password}`);
    if (n.multihop) L.push(` neighbor ${a} ebgp-multihop ${n.multihop}`);
    L.push(...(n.extra ?? []).map((x) => ` ${x}`));
  }
  for (const f of ["ipv4", "ipv6"] as const) {
    L.push(" !", ` address-family ${f} unicast`);
    for (const p of s.originate ?? []) if (familyOf(p) === f) L.push(`  network ${p}`);
    for (const n of s.neighbors) {
      if (!familiesOf(n).includes(f)) {
        L.push(`  no neighbor ${n.address} activate`);
        continue;
      }
      L.push(`  neighbor ${n.address} activate`);
      if (n.rrClient) L.push(`  neighbor ${n.address} route-reflector-client`);
      if (n.nextHopSelf) L.push(`  neighbor ${n.address} next-hop-self`);
    }
    L.push(" exit-address-family");
  }
  L.push("!");
  return `${L.join("\n")}\n`;
}

// ---- GoBGP 3 --------------------------------------------------------------------------------------------

export function renderGobgpConfig(s: SpeakerSpec): string {
  const q = JSON.stringify;
  const L: string[] = [
    "[global.config]",
    `  as = ${s.as}`,
    `  router-id = ${q(s.routerId)}`,
    `  port = ${s.port ?? 179}`,
  ];
  L.push(...(s.extra ?? []));
  for (const n of s.neighbors) {
    L.push(
      "",
      "[[neighbors]]",
      "  [neighbors.config]",
      `    neighbor-address = ${q(n.address)}`,
      `    peer-as = ${n.as}`,
    );
    if (n.password) L.push(`    auth-password = ${q(n.password)}`);
    L.push("  [neighbors.timers.config]", "    connect-retry = 1");
    if (n.holdTimeSec !== undefined) {
      L.push(
        `    hold-time = ${n.holdTimeSec}`,
        `    keepalive-interval = ${Math.max(1, Math.floor(n.holdTimeSec / 3))}`,
      );
    }
    if (n.passive || n.localAddress || n.port) {
      L.push("  [neighbors.transport.config]");
      if (n.passive) L.push("    passive-mode = true");
      if (n.localAddress) L.push(`    local-address = ${q(n.localAddress)}`);
      if (n.port) L.push(`    remote-port = ${n.port}`);
    }
    if (n.multihop)
      L.push("  [neighbors.ebgp-multihop.config]", "    enabled = true", `    multihop-ttl = ${n.multihop}`);
    if (n.rrClient) {
      L.push(
        "  [neighbors.route-reflector.config]",
        "    route-reflector-client = true",
        `    route-reflector-cluster-id = ${q(s.clusterId ?? s.routerId)}`,
      );
    }
    if (n.gracefulRestart) L.push("  [neighbors.graceful-restart.config]", "    enabled = true");
    L.push(...(n.extra ?? []));
    for (const f of familiesOf(n)) {
      L.push(
        "  [[neighbors.afi-safis]]",
        "    [neighbors.afi-safis.config]",
        `      afi-safi-name = "${f}-unicast"`,
      );
    }
  }
  return `${L.join("\n")}\n`;
}
