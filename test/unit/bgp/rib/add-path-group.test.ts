// ADD-PATH send (RFC 7911) from a route reflector's update group: every path or the best N, path
// identifiers stable across attribute changes, a member's own paths never sent back, the best path
// alone (no identifiers) on a family without ADD-PATH.
import { describe, expect, it } from "vitest";
import { decodeMessage } from "../../../../bgp/codec/message.js";
import { prefixStrings } from "../../../../bgp/codec/prefix-list.js";
import type { UpdateMessage } from "../../../../bgp/codec/update.js";
import { AddPathGroup, PathIds, type PathSelection } from "../../../../bgp/rib/add-path-group.js";
import type { ExportTarget } from "../../../../bgp/rib/export.js";
import { LocRib } from "../../../../bgp/rib/loc-rib.js";
import { AttrTable } from "../../../../bgp/rib/path-attrs.js";
import { keyFromString } from "../../../../bgp/rib/prefix-key.js";
import type { GroupMember } from "../../../../bgp/rib/update-group.js";
import { attrs, peer } from "./helpers.js";

const target: ExportTarget = {
  type: "ibgp",
  localAs: 65000,
  routerId: "10.0.0.100",
  clusterId: "10.0.0.100",
  rrClient: true,
  nextHopMode: "keep",
  localAddress: { ipv4: "10.0.0.100" },
  fourOctetAs: true,
};

const tor1 = peer(1, "ibgp", "10.0.0.1", "10.0.0.1", true);
const tor2 = peer(2, "ibgp", "10.0.0.2", "10.0.0.2", true);
const tor3 = peer(3, "ibgp", "10.0.0.3", "10.0.0.3", true);
const P = "203.0.113.0/24";

/** What a member was sent, decoded with path identifiers when `addPath`. */
interface Seen {
  announced: { prefix: string; id: number | undefined; nextHop: string }[];
  withdrawn: { prefix: string; id: number | undefined }[];
  eor: number;
}

function member(peerId: number, addPath: boolean): GroupMember & { seen: Seen } {
  const seen: Seen = { announced: [], withdrawn: [], eor: 0 };
  return {
    peerId,
    families: new Set(["ipv4"]),
    seen,
    send(msgs) {
      for (const raw of msgs) {
        const m = decodeMessage(raw, { fourOctetAs: true, addPath: { ipv4: addPath } }) as UpdateMessage;
        if (m.nlri.count === 0 && m.withdrawn.count === 0 && m.attributes.length === 0) {
          seen.eor++;
          continue;
        }
        const nh = m.attributes.find((a) => a.kind === "next-hop");
        prefixStrings(m.withdrawn).forEach((prefix, i) => {
          seen.withdrawn.push({ prefix, id: m.withdrawn.pathIds?.[i] });
        });
        prefixStrings(m.nlri).forEach((prefix, i) => {
          seen.announced.push({
            prefix,
            id: m.nlri.pathIds?.[i],
            nextHop: nh?.kind === "next-hop" ? nh.nextHop : "",
          });
        });
      }
    },
  };
}

function setup(selection: PathSelection | undefined) {
  const rib = new LocRib(new AttrTable());
  rib.trackAllPaths = true;
  const g = new AddPathGroup(
    "k",
    target,
    undefined,
    {
      ctx: { fourOctetAs: true, addPath: { ipv4: selection !== undefined }, maxMessageLen: 4096 },
      extendedNextHop: false,
    },
    rib,
    selection === undefined ? {} : { ipv4: selection },
    new PathIds(),
  );
  const announce = (from: typeof tor1, nextHop: string, localPref = 100) =>
    rib.update(from, "ipv4", keyFromString(P), 0, attrs({ nextHop, localPref }));
  const withdraw = (from: typeof tor1) => rib.update(from, "ipv4", keyFromString(P), 0, undefined);
  const flush = () => {
    rib.drain("ipv4", (d) => g.process("ipv4", d));
    g.flush();
  };
  return { rib, g, announce, withdraw, flush };
}

describe("ADD-PATH send group", () => {
  it("sends every path with its own identifier, then keeps the identifier when a path changes", () => {
    const { rib, g, announce, withdraw, flush } = setup({ kind: "all" });
    announce(tor1, "10.0.0.1");
    announce(tor2, "10.0.0.2");
    const client = member(9, true);
    g.join(client, rib);
    expect(client.seen.eor).toBe(1);
    expect(client.seen.announced.map((a) => a.nextHop).sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
    const ids = client.seen.announced.map((a) => a.id);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((id) => id !== undefined && id > 0)).toBe(true);
    const idOf2 = client.seen.announced.find((a) => a.nextHop === "10.0.0.2")!.id;

    // The second path (not the best) changes: sent again under the same identifier, nothing withdrawn.
    client.seen.announced = [];
    announce(tor2, "10.0.0.2", 90);
    flush();
    expect(client.seen.announced).toEqual([{ prefix: P, id: idOf2, nextHop: "10.0.0.2" }]);
    expect(client.seen.withdrawn).toEqual([]);

    // One path goes: only its identifier is withdrawn.
    client.seen.announced = [];
    withdraw(tor2);
    flush();
    expect(client.seen.withdrawn).toEqual([{ prefix: P, id: idOf2 }]);
    expect(client.seen.announced).toEqual([]);
    expect(g.advertisedCount("ipv4")).toBe(1);
  });

  it("never sends a member its own path, and best N limits the paths", () => {
    const { rib, g, announce, flush } = setup({ kind: "best", n: 2 });
    announce(tor1, "10.0.0.1", 300);
    announce(tor2, "10.0.0.2", 200);
    announce(tor3, "10.0.0.3", 100);
    const other = member(9, true);
    const fromTor1 = member(tor1.id, true);
    g.join(other, rib);
    g.join(fromTor1, rib);
    expect(other.seen.announced.map((a) => a.nextHop)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(fromTor1.seen.announced.map((a) => a.nextHop)).toEqual(["10.0.0.2"]);
    expect(g.advertisedTo(fromTor1, "ipv4", true)).toBe(1);

    // tor3 climbs to second place: it replaces tor2 among the best two.
    other.seen.announced = [];
    announce(tor3, "10.0.0.3", 250);
    flush();
    expect(other.seen.announced.map((a) => a.nextHop)).toEqual(["10.0.0.3"]);
    expect(other.seen.withdrawn).toHaveLength(1);
    expect(other.seen.withdrawn[0]!.id).not.toBe(other.seen.announced[0]!.id);
  });

  it("without ADD-PATH on the family: the best path alone, replaced in place", () => {
    const { rib, g, announce, withdraw, flush } = setup(undefined);
    announce(tor1, "10.0.0.1", 200);
    announce(tor2, "10.0.0.2", 100);
    const client = member(9, false);
    g.join(client, rib);
    expect(client.seen.announced).toEqual([{ prefix: P, id: undefined, nextHop: "10.0.0.1" }]);
    client.seen.announced = [];
    withdraw(tor1);
    flush();
    expect(client.seen.withdrawn).toEqual([]);
    expect(client.seen.announced).toEqual([{ prefix: P, id: undefined, nextHop: "10.0.0.2" }]);
  });
});
