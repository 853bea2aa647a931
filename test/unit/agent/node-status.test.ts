/** CalicoNodeStatus: which requests are due, and what goes into status for each class. */
import { describe, expect, it } from "vitest";
import type { PeerStatus, RibPath } from "../../../bgp/speaker/views.js";
import { nodeStatus, statusesDue } from "../../../src/agent/node-status.js";
import type { Resource } from "../../../src/api/meta.js";

const req = (name: string, node: string, period: number, lastUpdated?: string): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "CalicoNodeStatus",
  metadata: { name },
  spec: { node, classes: ["Agent", "BGP", "Routes"], updatePeriodSeconds: period },
  ...(lastUpdated ? { status: { lastUpdated } } : {}),
});

const peer = (name: string, address: string, state: string): PeerStatus =>
  ({ name, address, state, since: Date.parse("2026-12-06T10:00:00Z") }) as PeerStatus;

describe("CalicoNodeStatus", () => {
  it("is due for this node when never written or older than its period; never with period 0", () => {
    const now = Date.parse("2026-12-06T12:00:10Z");
    const all = [
      req("a", "n1", 10),
      req("b", "n1", 10, "2026-12-06T12:00:05Z"),
      req("c", "n1", 10, "2026-12-06T12:00:00Z"),
      req("d", "n2", 10),
      req("e", "n1", 0),
    ];
    expect(statusesDue(all, "n1", now).map((r) => r.metadata.name)).toEqual(["a", "c"]);
  });

  it("counts sessions per family, types them by name, and lists best routes with where they came from", () => {
    const routes: RibPath[] = [
      { prefix: "10.65.2.0/26", best: true, from: "10.0.0.12", nextHop: "10.0.0.12" } as RibPath,
      { prefix: "10.65.2.0/26", best: false, from: "10.0.0.254", nextHop: "10.0.0.254" } as RibPath,
      { prefix: "0.0.0.0/0", best: true, from: "10.0.0.254", nextHop: "10.0.0.254" } as RibPath,
    ];
    const s = nodeStatus(
      { node: "n1", classes: ["Agent", "BGP", "Routes"], updatePeriodSeconds: 10 },
      {
        nodeName: "n1",
        ready: false,
        routerId: "10.0.0.11",
        startedAt: Date.parse("2026-12-06T09:00:00Z"),
        peers: [
          peer("Mesh_10_0_0_12", "10.0.0.12", "Established"),
          peer("Global_10_0_0_254", "10.0.0.254", "Active"),
          peer("Node_fd00__1", "fd00::1", "Established"),
        ],
        routes: { ipv4: routes, ipv6: [] },
        now: Date.parse("2026-12-06T12:00:00Z"),
        version: "tabby test",
      },
    );
    expect(s.lastUpdated).toBe("2026-12-06T12:00:00Z");
    expect(s.agent?.birdV4).toEqual({
      state: "NotReady",
      version: "tabby test",
      routerID: "10.0.0.11",
      lastBootTime: "2026-12-06T09:00:00Z",
    });
    expect(s.bgp).toMatchObject({
      numberEstablishedV4: 1,
      numberNotEstablishedV4: 1,
      numberEstablishedV6: 1,
      numberNotEstablishedV6: 0,
    });
    expect(s.bgp?.peersV4).toEqual([
      { peerIP: "10.0.0.12", type: "NodeMesh", state: "Established", since: "2026-12-06T10:00:00Z" },
      { peerIP: "10.0.0.254", type: "GlobalPeer", state: "Active", since: "2026-12-06T10:00:00Z" },
    ]);
    expect(s.bgp?.peersV6?.[0]?.type).toBe("NodePeer");
    expect(s.routes?.routesV4?.map((r) => [r.destination, r.learnedFrom?.sourceType])).toEqual([
      ["10.65.2.0/26", "NodeMesh"],
      ["0.0.0.0/0", "BGPPeer"],
    ]);
  });
});
