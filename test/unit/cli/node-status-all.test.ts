import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import {
  allUp,
  nodeReports,
  renderNodeReports,
  reportsDocument,
} from "../../../src/cli/ctl/node-status-all.js";

const NOW = Date.parse("2026-12-07T10:00:30Z");
const node = (name: string): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "Node",
  metadata: { name },
  spec: {},
});
const status = (
  name: string,
  nodeName: string,
  lastUpdated: string | undefined,
  peers: unknown[],
  notUp = 0,
): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind: "CalicoNodeStatus",
  metadata: { name },
  spec: { node: nodeName, classes: ["BGP"], updatePeriodSeconds: 10 },
  status: {
    ...(lastUpdated ? { lastUpdated } : {}),
    bgp: {
      numberEstablishedV4: peers.length - notUp,
      numberNotEstablishedV4: notUp,
      numberEstablishedV6: 0,
      numberNotEstablishedV6: 0,
      peersV4: peers,
    },
  },
});

describe("tabbyctl node status --all", () => {
  const peers = [
    { peerIP: "10.0.0.12", type: "NodeMesh", state: "Established", since: "2026-12-07T09:58:01Z" },
    { peerIP: "10.0.0.254", type: "GlobalPeer", state: "Active", since: "2026-12-07T09:59:59Z" },
  ];

  it("prints each node's latest report as calicoctl's table; a session not Established makes it not all up", () => {
    const reports = nodeReports(
      [node("n1")],
      [status("n1-status", "n1", "2026-12-07T10:00:25Z", peers, 1)],
      NOW,
    );
    expect(renderNodeReports(reports)).toBe(
      [
        "Node n1 (CalicoNodeStatus n1-status, updated 2026-12-07T10:00:25Z)",
        "",
        "IPv4 BGP status",
        "+--------------+-------------------+-------+----------+-------------+",
        "| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |",
        "+--------------+-------------------+-------+----------+-------------+",
        "| 10.0.0.12    | node-to-node mesh | up    | 09:58:01 | Established |",
        "| 10.0.0.254   | global            | start | 09:59:59 | Active      |",
        "+--------------+-------------------+-------+----------+-------------+",
        "",
        "",
      ].join("\n"),
    );
    expect(allUp(reports)).toBe(false);
  });

  it("warns when a report is older than three periods, and names nodes without a CalicoNodeStatus with the YAML to ask", () => {
    const reports = nodeReports(
      [node("n2"), node("n1")],
      [status("n1-status", "n1", "2026-12-07T09:59:00Z", peers.slice(0, 1))],
      NOW,
    );
    const text = renderNodeReports(reports);
    expect(text).toContain("WARNING: last updated 90 s ago (period 10 s): is the node's agent running?\n");
    expect(text).toContain(
      "No CalicoNodeStatus for n2: their agents report only when asked. To ask, apply:\n",
    );
    expect(text).toContain("kind: CalicoNodeStatus\nmetadata:\n  name: n2-status\nspec:\n  node: n2\n");
    expect(allUp(reports)).toBe(false);
    expect(reportsDocument(reports)).toMatchObject({
      allUp: false,
      nodes: [
        { node: "n1", calicoNodeStatus: "n1-status", stale: expect.stringMatching(/^last updated 90 s ago/) },
        { node: "n2", calicoNodeStatus: null },
      ],
    });
  });

  it("all up when every node reported recently and every session is Established", () => {
    const reports = nodeReports(
      [node("n1")],
      [status("n1-status", "n1", "2026-12-07T10:00:29Z", peers.slice(0, 1))],
      NOW,
    );
    expect(allUp(reports)).toBe(true);
  });
});
