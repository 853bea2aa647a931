import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS, LabOptionError, parseUpArgs, planLab } from "../../../src/lab/plan.js";
import { renderNodeSummary, renderPingMatrix } from "../../../src/lab/report.js";
import { renderBirdTor, renderFrrTor } from "../../../src/lab/tor-config.js";

describe("tabby lab up's options", () => {
  it("defaults to three nodes, native routing, a BIRD ToR, the Kubernetes datastore, two pods per node", () => {
    expect(parseUpArgs([])).toEqual({
      nodes: 3,
      encap: "none",
      tor: "bird",
      datastore: "kubernetes",
      podsPerNode: 2,
      web: { host: "127.0.0.1", port: 0 },
    });
    expect(parseUpArgs(["--web", "127.0.0.1:8080"]).web).toEqual({ host: "127.0.0.1", port: 8080 });
  });

  it("takes --flag value and --flag=value", () => {
    expect(parseUpArgs(["--nodes=5", "--encap", "vxlan", "--tor=frr", "--datastore", "etcdv3"])).toEqual({
      ...DEFAULT_OPTIONS,
      nodes: 5,
      encap: "vxlan",
      tor: "frr",
      datastore: "etcdv3",
    });
  });

  it.each([
    [["--nodes", "0"], '--nodes: "0" is not a whole number from 1 to 100'],
    [["--nodes", "2.5"], '--nodes: "2.5" is not a whole number from 1 to 100'],
    [["--nodes"], '--nodes: "" is not a whole number from 1 to 100'],
    [["--encap", "gre"], '--encap: "gre" is not one of none, ipip, vxlan, crosssubnet, vxlan-backend'],
    [["--tor", "cisco"], '--tor: "cisco" is not one of bird, frr, none'],
    [["--datastore=embedded"], '--datastore: "embedded" is not one of kubernetes, etcdv3'],
    [["--pods-per-node", "11"], '--pods-per-node: "11" is not a whole number from 0 to 10'],
    [["--verbose"], 'unknown option "--verbose"'],
    [["--web", "0.0.0.0:80"], '--web: "0.0.0.0:80" is not a loopback HOST:PORT (e.g. 127.0.0.1:8080)'],
  ])("refuses %j naming the flag and value", (argv, message) => {
    expect(() => parseUpArgs(argv)).toThrow(LabOptionError);
    expect(() => parseUpArgs(argv)).toThrow(message);
  });
});

describe("the lab's plan", () => {
  it("native routing: one segment, nodes at .11 up, one global BGPPeer to the ToR, pods named after their node", () => {
    const p = planLab(DEFAULT_OPTIONS, { ipip: false }, "lab");
    expect(p.segments.map((s) => s.subnet)).toEqual(["198.18.0.0/24"]);
    expect(p.nodes.map((n) => [n.name, n.netns, n.ip])).toEqual([
      ["node1", "lab-node1", "198.18.0.11"],
      ["node2", "lab-node2", "198.18.0.12"],
      ["node3", "lab-node3", "198.18.0.13"],
    ]);
    expect(p.peers).toEqual([{ name: "tor", peerIP: "198.18.0.254", asNumber: 65000 }]);
    expect(p.pool).toMatchObject({
      cidr: "10.244.0.0/16",
      blockSize: 26,
      ipipMode: "Never",
      vxlanMode: "Never",
    });
    expect(p.pods.map((x) => `${x.name}@${x.node}`)).toEqual([
      "node1-a@node1",
      "node1-b@node1",
      "node2-a@node2",
      "node2-b@node2",
      "node3-a@node3",
      "node3-b@node3",
    ]);
    expect(p.notes).toEqual([]);
    expect(p.backend).toBe("bird");
  });

  it("IP-in-IP where the kernel has it; VXLAN with a note where it does not", () => {
    expect(planLab({ ...DEFAULT_OPTIONS, encap: "ipip" }, { ipip: true }).pool).toMatchObject({
      ipipMode: "Always",
      vxlanMode: "Never",
    });
    const without = planLab({ ...DEFAULT_OPTIONS, encap: "ipip" }, { ipip: false });
    expect(without.pool).toMatchObject({ ipipMode: "Never", vxlanMode: "Always" });
    expect(without.notes).toEqual([
      "--encap ipip: this kernel has no IP-in-IP (ipip) support, so the pool uses VXLAN (vxlanMode: Always) instead",
    ]);
  });

  it("CrossSubnet: the second half of the nodes on segment b, each node peering with the ToR's address on its own subnet", () => {
    const p = planLab({ ...DEFAULT_OPTIONS, encap: "crosssubnet", nodes: 5 }, { ipip: true });
    expect(p.segments.map((s) => s.subnet)).toEqual(["198.18.0.0/24", "198.18.1.0/24"]);
    expect(p.nodes.map((n) => n.ip)).toEqual([
      "198.18.0.11",
      "198.18.0.12",
      "198.18.0.13",
      "198.18.1.14",
      "198.18.1.15",
    ]);
    expect(p.pool.ipipMode).toBe("CrossSubnet");
    expect(p.peers.map((x) => `${x.node} ${x.peerIP}`)).toEqual([
      "node1 198.18.0.254",
      "node2 198.18.0.254",
      "node3 198.18.0.254",
      "node4 198.18.1.254",
      "node5 198.18.1.254",
    ]);
  });

  it("the VXLAN backend runs no BGP: no ToR daemon, no peers, and it says so", () => {
    const p = planLab({ ...DEFAULT_OPTIONS, encap: "vxlan-backend" }, { ipip: false });
    expect(p.backend).toBe("vxlan");
    expect(p.tor).toBeUndefined();
    expect(p.peers).toEqual([]);
    expect(p.pool.vxlanMode).toBe("Always");
    expect(p.notes[0]).toMatch(/^--encap vxlan-backend: the nodes run no BGP/);
  });

  it("--tor none: no ToR daemon and no BGPPeer; the nodes still mesh", () => {
    const p = planLab({ ...DEFAULT_OPTIONS, tor: "none" }, { ipip: false });
    expect(p.tor).toBeUndefined();
    expect(p.peers).toEqual([]);
  });
});

describe("the ToR's configuration", () => {
  const plan = planLab({ ...DEFAULT_OPTIONS, nodes: 2 }, { ipip: false });

  it("BIRD: eBGP from AS 65000 to each node, BGP routes into the kernel, nothing sent back", () => {
    const text = renderBirdTor(plan);
    expect(text).toContain("router id 198.18.0.254;");
    expect(text).toContain("protocol bgp node1 from node { neighbor 198.18.0.11 as 64512; }");
    expect(text).toContain("protocol bgp node2 from node { neighbor 198.18.0.12 as 64512; }");
    expect(text).toContain("ipv4 { import all; export none; };");
    expect(text).toContain("if source = RTS_BGP then accept;");
  });

  it("FRR: the same neighbours, no eBGP policy requirement, an outbound deny-all route-map", () => {
    const text = renderFrrTor(plan);
    expect(text).toContain("router bgp 65000\n bgp router-id 198.18.0.254\n no bgp ebgp-requires-policy\n");
    expect(text).toContain(" neighbor 198.18.0.12 remote-as 64512\n");
    expect(text).toContain("  neighbor 198.18.0.11 route-map none out\n");
    expect(text).toContain("route-map none deny 10\n");
  });
});

describe("what the lab prints", () => {
  const pods = [
    { name: "node1-a", node: "node1", ip: "10.244.1.1" },
    { name: "node2-a", node: "node2", ip: "10.244.2.1" },
  ];

  it("the ping matrix marks each pair and counts the answers", () => {
    const results = new Map([
      ["node1-a -> node2-a", true],
      ["node2-a -> node1-a", false],
    ]);
    expect(renderPingMatrix(pods, results)).toBe(
      [
        "from \\ to             node1-a  node2-a",
        "node1-a (10.244.1.1)  -        ok",
        "node2-a (10.244.2.1)  FAIL     -",
        "1/2 pings answered",
        "",
      ].join("\n"),
    );
  });

  it("the node summary counts Established sessions and lists the others with their reason", () => {
    const text = renderNodeSummary([
      {
        name: "node1",
        ip: "198.18.0.11",
        agent: "ready",
        sessions: [
          { name: "Mesh_198_18_0_12", state: "Established" },
          { name: "Global_198_18_0_254", state: "Active", info: "connection refused" },
        ],
        pods: ["node1-a=10.244.1.1"],
      },
      { name: "node2", ip: "198.18.0.12", agent: "not running", sessions: [], pods: [] },
    ]);
    expect(text).toBe(
      [
        "NODE   ADDRESS      AGENT        BGP              PODS",
        "node1  198.18.0.11  ready        1/2 Established  node1-a=10.244.1.1",
        "node2  198.18.0.12  not running  -",
        "sessions not up:",
        "  node1 Global_198_18_0_254: Active (connection refused)",
        "",
      ].join("\n"),
    );
  });
});
