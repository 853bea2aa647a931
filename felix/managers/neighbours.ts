/**
 * Permanent ARP/NDP and FDB entries felix owns: a static ARP entry per workload IP on its cali* (Calico
 * installs them for IPv4), and per remote VTEP an ARP entry (VTEP IP -> VTEP MAC) and an FDB entry (VTEP
 * MAC -> node IP) on vxlan.calico (calico.md §2.9; vxlanfdb). Permanent entries on those interfaces that
 * are not wanted are removed; dynamic ones, and every entry on other interfaces, are the kernel's.
 * diff* are pure; syncNeighbours writes through netlink.
 */
import type { NetlinkError } from "../errors.js";
import type { DesiredFdb, DesiredNeighbour } from "../model/desired.js";
import { NTF, NUD } from "../netlink/constants.js";
import type { Link } from "../netlink/link-codec.js";
import type { Neigh } from "../netlink/neigh-codec.js";
import type { RtnetlinkApi } from "../netlink/rtnetlink.js";

export interface NeighPlan<D> {
  readonly replace: readonly D[];
  readonly remove: readonly Neigh[];
}

const permanent = (n: Neigh): boolean => (n.state & NUD.PERMANENT) !== 0;

/** ARP/NDP: `actual` are the entries of the interfaces felix manages. */
export function diffNeighbours(
  desired: readonly DesiredNeighbour[],
  actual: readonly Neigh[],
  ifName: (index: number) => string | undefined,
): NeighPlan<DesiredNeighbour> {
  const have = new Map<string, Neigh>();
  for (const n of actual) {
    const name = ifName(n.index);
    if (name !== undefined && n.dst !== undefined) have.set(`${name}|${n.dst}`, n);
  }
  const want = new Set<string>();
  const replace: DesiredNeighbour[] = [];
  for (const d of desired) {
    const key = `${d.ifName}|${d.dst}`;
    want.add(key);
    const h = have.get(key);
    if (h === undefined || !permanent(h) || h.lladdr !== d.lladdr) replace.push(d);
  }
  const remove = [...have.entries()].filter(([k, n]) => !want.has(k) && permanent(n)).map(([, n]) => n);
  return { replace, remove };
}

/** FDB of VXLAN devices: one remote per VTEP MAC. */
export function diffFdb(
  desired: readonly DesiredFdb[],
  actual: readonly Neigh[],
  ifName: (index: number) => string | undefined,
): NeighPlan<DesiredFdb> {
  const have = new Map<string, Neigh>();
  for (const n of actual) {
    const name = ifName(n.index);
    if (name === undefined || n.lladdr === undefined || (n.flags & NTF.SELF) === 0) continue;
    have.set(`${name}|${n.lladdr}`, n);
  }
  const want = new Set<string>();
  const replace: DesiredFdb[] = [];
  for (const d of desired) {
    const key = `${d.ifName}|${d.lladdr}`;
    want.add(key);
    const h = have.get(key);
    if (h === undefined || !permanent(h) || h.dst !== d.dst) replace.push(d);
  }
  const remove = [...have.entries()].filter(([k, n]) => !want.has(k) && permanent(n)).map(([, n]) => n);
  return { replace, remove };
}

/**
 * Brings the ARP/NDP entries of `managed` interfaces and the FDB of `vxlanIfaces` to the desired state.
 * Entries for interfaces that do not exist are skipped (the route table reports those interfaces).
 */
export async function syncNeighbours(
  nl: RtnetlinkApi,
  links: readonly Link[],
  desired: { readonly neighbours: readonly DesiredNeighbour[]; readonly fdb: readonly DesiredFdb[] },
  managed: (ifName: string) => boolean,
): Promise<{ written: number; errors: NetlinkError[] }> {
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const byName = new Map(links.map((l) => [l.name, l.index]));
  const ifName = (i: number): string | undefined => byIndex.get(i);
  const errors: NetlinkError[] = [];
  let written = 0;
  const attempt = async (op: () => Promise<void>): Promise<void> => {
    try {
      await op();
      written++;
    } catch (e) {
      errors.push(e as NetlinkError);
    }
  };

  const wantNeigh = desired.neighbours.filter((d) => byName.has(d.ifName));
  const families = new Set<4 | 6>([4, ...(wantNeigh.some((d) => d.dst.includes(":")) ? [6 as const] : [])]);
  const actual: Neigh[] = [];
  for (const f of families) {
    for (const n of await nl.dumpNeighs(f)) {
      const name = ifName(n.index);
      if (name !== undefined && managed(name)) actual.push(n);
    }
  }
  const np = diffNeighbours(wantNeigh, actual, ifName);
  for (const n of np.remove) {
    if (n.dst === undefined) continue;
    const dst = n.dst;
    await attempt(() => nl.neigh("delete", { index: n.index, dst }, ifName(n.index)));
  }
  for (const d of np.replace) {
    const index = byName.get(d.ifName)!;
    await attempt(() => nl.neigh("replace", { index, dst: d.dst, lladdr: d.lladdr }, d.ifName));
  }

  const fdbIfaces = new Set(desired.fdb.map((d) => d.ifName));
  for (const l of links) if (l.kind === "vxlan" && managed(l.name)) fdbIfaces.add(l.name);
  for (const name of fdbIfaces) {
    const index = byName.get(name);
    if (index === undefined) continue;
    const fp = diffFdb(
      desired.fdb.filter((d) => d.ifName === name),
      await nl.dumpFdb(index),
      ifName,
    );
    for (const n of fp.remove) {
      if (n.lladdr === undefined || n.dst === undefined) continue;
      const { lladdr, dst } = n;
      await attempt(() => nl.fdb("delete", { index, lladdr, dst }, name));
    }
    for (const d of fp.replace) {
      await attempt(() => nl.fdb("replace", { index, lladdr: d.lladdr, dst: d.dst }, name));
    }
  }
  return { written, errors };
}
