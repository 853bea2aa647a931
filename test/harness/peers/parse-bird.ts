/**
 * Pure parsers for `birdc` text output (BIRD 2.0): `show protocols all` into sessions and
 * `show route all ...` into routes. BIRD has no JSON output, so these follow its print format
 * (nest/rt-show.c, proto/bgp/bgp.c `bgp_show_proto_info`), checked against fixtures captured from BIRD 2.0.12.
 */
import type { BgpRoute, Family, Origin, PeerSession, PrefixCounts, SessionState } from "./types.js";

const STATES: Record<string, SessionState> = {
  Idle: "Idle",
  Connect: "Connect",
  Active: "Active",
  OpenSent: "OpenSent",
  OpenConfirm: "OpenConfirm",
  Established: "Established",
};

/** Sessions from `show protocols all`: one per BGP protocol. */
export function parseBirdProtocols(text: string): PeerSession[] {
  const out: PeerSession[] = [];
  // A protocol block starts at a non-indented line "name  proto  table  state  since  info".
  const blocks: string[][] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("BIRD ") || line.startsWith("Name ") || line.trim() === "") continue;
    if (!/^\s/.test(line)) blocks.push([line]);
    else blocks.at(-1)?.push(line);
  }
  for (const block of blocks) {
    const head = block[0]!.trim().split(/\s+/);
    if (head[1] !== "BGP") continue;
    const field = (label: string) => {
      const l = block.find((x) => x.trim().startsWith(`${label}:`));
      return l?.slice(l.indexOf(":") + 1).trim();
    };
    const rawState = field("BGP state");
    const neighbor = field("Neighbor address");
    const as = field("Neighbor AS");
    const lastError = field("Last error");
    const prefixes: Partial<Record<Family, PrefixCounts>> = {};
    let channel: Family | undefined;
    for (const l of block) {
      const ch = /^\s+Channel (ipv4|ipv6)/.exec(l);
      if (ch) channel = ch[1] as Family;
      const routes = /^\s+Routes:\s+(\d+) imported,(?: (\d+) filtered,)? (\d+) exported/.exec(l);
      if (routes && channel)
        prefixes[channel] = { received: Number(routes[1]), advertised: Number(routes[3]) };
    }
    if (neighbor === undefined) continue;
    out.push({
      name: head[0]!,
      neighbor: neighbor.split(/\s+/)[0]!,
      remoteAs: as === undefined ? undefined : Number(as),
      // A disabled or not-yet-started protocol has no "BGP state" line; BIRD shows it as down = Idle.
      state: (rawState && STATES[rawState]) || "Idle",
      ...(lastError ? { lastError } : {}),
      prefixes,
    });
  }
  return out;
}

const ORIGINS: Record<string, Origin> = { IGP: "igp", EGP: "egp", Incomplete: "incomplete" };

/** Routes from `show route all [table T | protocol P | export P]`. */
export function parseBirdRoutes(
  text: string,
  neighbors: ReadonlyMap<string, string> = new Map(),
): BgpRoute[] {
  const routes: BgpRoute[] = [];
  let prefix: string | undefined;
  let cur: MutableRoute | undefined;
  const flush = () => {
    if (cur) routes.push({ ...cur });
    cur = undefined;
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("BIRD ") || line.startsWith("Table ") || line.trim() === "") continue;
    // "<prefix>   unicast [b4 17:10:40.695] * (100) [AS65002i]" or, for another path of the same prefix,
    // the same without the prefix (indented by spaces).
    const head = /^(\S+)?\s+(unicast|blackhole|unreachable|prohibited)\s+\[(\S+)[^\]]*\]\s*(\*)?/.exec(line);
    if (head && !line.startsWith("\t")) {
      flush();
      if (head[1] !== undefined) prefix = head[1];
      if (prefix === undefined) continue;
      const proto = head[3]!;
      cur = {
        prefix,
        nextHop: undefined,
        asPath: [],
        origin: undefined,
        communities: [],
        largeCommunities: [],
        best: head[4] === "*",
        from: neighbors.get(proto),
      };
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    const via = /^via (\S+)/.exec(t);
    if (via && cur.nextHop === undefined) cur.nextHop = via[1];
    const attr = /^BGP\.(\w+): ?(.*)$/.exec(t);
    if (!attr) continue;
    const [, name, value] = attr as unknown as [string, string, string];
    switch (name) {
      case "origin":
        cur.origin = ORIGINS[value];
        break;
      case "as_path":
        cur.asPath = value.match(/\d+/g)?.map(Number) ?? [];
        break;
      case "next_hop":
        cur.nextHop = value.split(/\s+/)[0];
        break;
      case "med":
        cur.med = Number(value);
        break;
      case "local_pref":
        cur.localPref = Number(value);
        break;
      case "community":
        cur.communities = [...value.matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
        break;
      case "large_community":
        cur.largeCommunities = [...value.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map(
          (m) => `${m[1]}:${m[2]}:${m[3]}`,
        );
        break;
      case "originator_id":
        cur.originatorId = value;
        break;
      case "cluster_list":
        cur.clusterList = value.split(/\s+/).filter((s) => s !== "");
        break;
    }
  }
  flush();
  return routes;
}

type MutableRoute = { -readonly [K in keyof BgpRoute]: BgpRoute[K] };
