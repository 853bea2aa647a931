/**
 * felix's rtnetlink client: dumps (links, addresses, routes, neighbours, FDB) and writes (links,
 * addresses, routes, neighbours, FDB entries) over one NETLINK_ROUTE socket, batched, with kernel
 * refusals turned into NetlinkErrors that name the request. The reconcilers talk to this, or to a fake
 * with the same `RtnetlinkApi` shape in unit tests. It decides nothing: what to write comes from them.
 */
import { NetlinkError } from "../errors.js";
import type { Family } from "../ip.js";
import { type Addr, type AddrOp, decodeAddr, encodeAddr, encodeAddrDump } from "./addr-codec.js";
import { type BatchResult, RequestBatch } from "./batch.js";
import { RT_SCOPE, RTM } from "./constants.js";
import {
  decodeLink,
  encodeDelLink,
  encodeLinkDump,
  encodeNewLink,
  encodeSetLink,
  type Link,
  type NewLinkSpec,
  type SetLinkSpec,
} from "./link-codec.js";
import {
  decodeNeigh,
  encodeFdb,
  encodeNeigh,
  encodeNeighDump,
  type Neigh,
  type NeighOp,
} from "./neigh-codec.js";
import {
  decodeRoute,
  describeRoute,
  encodeRoute,
  encodeRouteDump,
  type Route,
  type RouteOp,
} from "./route-codec.js";
import { NetlinkSocket, type SocketOptions } from "./socket.js";
import type { Writer } from "./wire.js";

/** One route write of a batch; `label` names it in errors (defaults to the route itself). */
export interface RouteWrite {
  readonly op: RouteOp;
  readonly route: Route;
  readonly label?: string;
  /** The caller's key for it (route-table passes its FIB key along). */
  readonly key?: string;
  /** Who wants it, for error messages. */
  readonly owner?: string | undefined;
}

export interface RouteWriteFailure {
  readonly write: RouteWrite;
  readonly error: NetlinkError;
}

/** What the reconcilers need from netlink; implemented by `Rtnetlink` and by test fakes. */
export interface RtnetlinkApi {
  dumpLinks(): Promise<Link[]>;
  dumpAddrs(family?: Family | 0): Promise<Addr[]>;
  dumpRoutes(family?: Family | 0): Promise<Route[]>;
  dumpNeighs(family: Family): Promise<Neigh[]>;
  dumpFdb(index: number): Promise<Neigh[]>;
  /**
   * Applies route writes in batches; never throws for a refused route, returns it instead. `describe`
   * names a failed write (called only for failures, so big batches build no strings).
   */
  writeRoutes(
    writes: readonly RouteWrite[],
    describe?: (w: RouteWrite) => string,
  ): Promise<readonly RouteWriteFailure[]>;
  newLink(spec: NewLinkSpec, replace?: boolean): Promise<void>;
  setLink(index: number, spec: SetLinkSpec, name?: string): Promise<void>;
  delLink(index: number, name?: string): Promise<void>;
  /** `scope` is rtm_scope (RT_SCOPE_*); 0 (universe) when absent, as `ip addr add` without `scope`. */
  addr(
    op: AddrOp,
    a: { index: number; address: string; prefixLen: number; scope?: number },
    ifName?: string,
  ): Promise<void>;
  neigh(op: NeighOp, n: { index: number; dst: string; lladdr?: string }, ifName?: string): Promise<void>;
  fdb(op: NeighOp, n: { index: number; lladdr: string; dst: string }, ifName?: string): Promise<void>;
}

export class Rtnetlink implements RtnetlinkApi {
  private constructor(readonly socket: NetlinkSocket) {}

  static open(opts: SocketOptions = {}): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(opts));
  }

  close(): void {
    this.socket.close();
  }

  dumpLinks(): Promise<Link[]> {
    return this.socket.dump(
      (w, seq) => encodeLinkDump(w, seq, 0),
      (buf, m) => (m.type === RTM.NEWLINK ? decodeLink(buf, m) : undefined),
    );
  }

  dumpAddrs(family: Family | 0 = 0): Promise<Addr[]> {
    return this.socket.dump(
      (w, seq) => encodeAddrDump(w, seq, family),
      (buf, m) => (m.type === RTM.NEWADDR ? decodeAddr(buf, m) : undefined),
    );
  }

  dumpRoutes(family: Family | 0 = 0): Promise<Route[]> {
    return this.socket.dump(
      (w, seq) => encodeRouteDump(w, seq, family),
      (buf, m) => (m.type === RTM.NEWROUTE ? decodeRoute(buf, m) : undefined),
    );
  }

  dumpNeighs(family: Family): Promise<Neigh[]> {
    return this.socket.dump(
      (w, seq) => encodeNeighDump(w, seq, family),
      (buf, m) => (m.type === RTM.NEWNEIGH ? decodeNeigh(buf, m) : undefined),
    );
  }

  dumpFdb(index: number): Promise<Neigh[]> {
    return this.socket.dump(
      (w, seq) => encodeNeighDump(w, seq, "bridge", index),
      (buf, m) => {
        if (m.type !== RTM.NEWNEIGH) return undefined;
        const n = decodeNeigh(buf, m);
        return n && n.index === index ? n : undefined;
      },
    );
  }

  async writeRoutes(
    writes: readonly RouteWrite[],
    describe?: (w: RouteWrite) => string,
  ): Promise<readonly RouteWriteFailure[]> {
    if (writes.length === 0) return [];
    const batch = new RequestBatch<RouteWrite>(Math.min(writes.length * 72 + 64, 64 * 1024 * 1024));
    for (const wr of writes) batch.add(wr, (w, seq) => encodeRoute(w, wr.op, wr.route, seq));
    const result = await this.socket.execute(batch);
    return result.failures.map((f) => ({
      write: f.item,
      error: new NetlinkError(
        f.errno,
        `${f.item.op} route ${f.item.label ?? describe?.(f.item) ?? describeRoute(f.item.route)}`,
        f.extack,
      ),
    }));
  }

  /** Runs a batch of one request and throws its failure. */
  private async one(what: string, encode: (w: Writer, seq: number) => void): Promise<void> {
    const batch = new RequestBatch<string>(256);
    batch.add(what, encode);
    const r: BatchResult<string> = await this.socket.execute(batch);
    const f = r.failures[0];
    if (f) throw new NetlinkError(f.errno, what, f.extack);
  }

  newLink(spec: NewLinkSpec, replace = false): Promise<void> {
    return this.one(`create ${spec.kind} link ${spec.name}`, (w, seq) =>
      encodeNewLink(w, seq, spec, replace),
    );
  }

  setLink(index: number, spec: SetLinkSpec, name?: string): Promise<void> {
    return this.one(`set link ${name ?? `#${index}`} ${JSON.stringify(spec)}`, (w, seq) =>
      encodeSetLink(w, seq, index, spec),
    );
  }

  delLink(index: number, name?: string): Promise<void> {
    return this.one(`delete link ${name ?? `#${index}`}`, (w, seq) => encodeDelLink(w, seq, index));
  }

  addr(
    op: AddrOp,
    a: { index: number; address: string; prefixLen: number; scope?: number },
    ifName?: string,
  ): Promise<void> {
    const scope = a.scope === RT_SCOPE.LINK ? " scope link" : a.scope ? ` scope ${a.scope}` : "";
    return this.one(
      `${op} address ${a.address}/${a.prefixLen} dev ${ifName ?? `#${a.index}`}${scope}`,
      (w, seq) => encodeAddr(w, op, seq, a),
    );
  }

  neigh(op: NeighOp, n: { index: number; dst: string; lladdr?: string }, ifName?: string): Promise<void> {
    return this.one(
      `${op} neighbour ${n.dst}${n.lladdr ? ` lladdr ${n.lladdr}` : ""} dev ${ifName ?? `#${n.index}`}`,
      (w, seq) => encodeNeigh(w, op, seq, n),
    );
  }

  fdb(op: NeighOp, n: { index: number; lladdr: string; dst: string }, ifName?: string): Promise<void> {
    return this.one(`${op} fdb ${n.lladdr} dst ${n.dst} dev ${ifName ?? `#${n.index}`}`, (w, seq) =>
      encodeFdb(w, op, seq, n),
    );
  }
}
