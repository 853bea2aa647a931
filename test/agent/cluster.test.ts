/**
 * The node agent end to end, as an operator runs it: the embedded API server, three nodes each running
 * a real `tabby node run` on one segment, a BIRD ToR peering with every node (global BGPPeer) on top
 * of the node-to-node mesh, a no-encapsulation pool, and two pods per node. One cluster for the whole
 * scenario (the steps build on each other, as a day of operating it would): pods ping across nodes;
 * the ToR learns every node's blocks and nothing else; a BGPPeer for one node brings up only that
 * session; kill -9 of one agent keeps traffic flowing and the restarted agent rewrites no route;
 * deleting the pool's blocks' pool withdraws its routes everywhere.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, it } from "vitest";
import type { CalicoNodeStatusStatus } from "../../src/api/calico-node-status.js";
import type { Resource } from "../../src/api/meta.js";
import { Bird } from "../harness/peers/bird.js";
import { describeWith } from "../harness/requirements.js";
import { suiteScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { AgentLab, type LabNode, type LabPod, ping, TOR_IP } from "./agent-lab.js";

const v3 = (kind: string, name: string, spec: unknown): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

const execFileAsync = promisify(execFile);
const TABBYCTL = join(import.meta.dirname, "../../dist/src/cli/tabbyctl.js");

const NODES = [
  ["n1", "10.0.0.11"],
  ["n2", "10.0.0.12"],
  ["n3", "10.0.0.13"],
] as const;

describeWith(
  ["root", "iproute2", "bird", "kubectl"],
  "node agent: three nodes, mesh and a BIRD ToR (Kubernetes datastore)",
  () => {
    const scope = suiteScope();
    let lab: AgentLab;
    let bird: Bird;
    let nodes: LabNode[];
    const pods: LabPod[] = [];

    beforeAll(async () => {
      lab = await AgentLab.create(scope);
      await lab.apply([
        v3("BGPConfiguration", "default", {
          nodeToNodeMeshEnabled: true,
          asNumber: 64512,
          logSeverityScreen: "Info",
        }),
        v3("IPPool", "pool-a", {
          cidr: "10.65.0.0/16",
          blockSize: 26,
          ipipMode: "Never",
          vxlanMode: "Never",
          natOutgoing: false,
          nodeSelector: "all()",
        }),
        v3("BGPPeer", "tor", { peerIP: TOR_IP, asNumber: 65000 }),
      ]);
      bird = await Bird.start(scope, lab.tor, {
        spec: {
          routerId: TOR_IP,
          as: 65000,
          neighbors: NODES.map(([, ip]) => ({ address: ip, as: 64512, gracefulRestart: true })),
        },
      });
      nodes = [];
      // n1 also serves its topology page (on loopback inside its namespace).
      for (const [name, ip] of NODES)
        nodes.push(await lab.addNode(name, ip, {}, false, name === "n1" ? ["--web", "127.0.0.1:9199"] : []));
      for (const n of nodes) await lab.waitReady(n);
      for (const n of nodes) {
        pods.push(await lab.addPod(n, `${n.name}-a`));
        pods.push(await lab.addPod(n, `${n.name}-b`));
      }
    }, 180_000);

    it("registers every node with its autodetected address and brings up the mesh and the ToR sessions", async () => {
      for (const n of nodes) {
        const s = await lab.status(n);
        const names = s.peers.map((p) => `${p.name} ${p.state}`).sort();
        const others = NODES.filter(([m]) => m !== n.name).map(
          ([, ip]) => `Mesh_${ip.replaceAll(".", "_")} Established`,
        );
        expect(names).toEqual([`Global_${TOR_IP.replaceAll(".", "_")} Established`, ...others].sort());
        expect(s.problems).toEqual([]);
      }
      const registered = await lab.ctl<Resource[]>("list", "Node");
      expect(
        registered
          .map((r) => [r.metadata.name, (r.spec as { bgp?: { ipv4Address?: string } }).bgp?.ipv4Address])
          .sort(),
      ).toEqual(NODES.map(([n, ip]) => [n, `${ip}/24`]));
    });

    it("tabby node run --web serves this node's picture: its sessions up, its pods, blocks and pod routes", async () => {
      const n1 = nodes[0]!;
      const fetchJson = `fetch("http://127.0.0.1:9199/topology.json").then((r) => r.text()).then((t) => process.stdout.write(t))`;
      const topo = await eventually(
        async () => {
          const r = await n1.ns.exec(process.execPath, ["-e", fetchJson], { allowFailure: true });
          if (r.code !== 0) return false;
          const t = JSON.parse(r.stdout);
          return t.nodes?.[0]?.pods?.length === 2 && t.nodes[0].sessions.every((s: { up: boolean }) => s.up)
            ? t
            : false;
        },
        { what: "n1's topology page to show its sessions and pods", timeoutMs: 20_000, intervalMs: 250 },
      );
      const me = topo.nodes[0];
      expect(me.name).toBe("n1");
      expect(me.agent).toBe("ready");
      expect(me.sessions.map((s: { name: string }) => s.name).sort()).toEqual(
        [
          `Global_${TOR_IP.replaceAll(".", "_")}`,
          ...NODES.filter(([m]) => m !== "n1").map(([, ip]) => `Mesh_${ip.replaceAll(".", "_")}`),
        ].sort(),
      );
      expect(me.pods.map((p: { name: string }) => p.name).sort()).toEqual(["n1-a", "n1-b"]);
      expect(me.blocks.length).toBeGreaterThan(0);
      expect(me.routes.some((r: string) => / dev cali[0-9a-f]+ /.test(`${r} `))).toBe(true);
      const page = await n1.ns.exec(process.execPath, ["-e", fetchJson.replace("/topology.json", "/")]);
      expect(page.stdout).toContain('new EventSource("/events")');
    });

    it("the real birdc reads each agent's BIRD control socket: the sessions as Calico's BIRD lists them", async () => {
      for (const n of nodes) {
        const sock = join(n.dir, "bird", "bird.ctl");
        const { stdout } = await execFileAsync("birdc", ["-s", sock, "show", "protocols"]);
        const rows = stdout
          .split("\n")
          .slice(2)
          .filter((l) => l.trim() !== "");
        const want = [
          `Global_${TOR_IP.replaceAll(".", "_")}`,
          ...NODES.filter(([m]) => m !== n.name).map(([, ip]) => `Mesh_${ip.replaceAll(".", "_")}`),
        ].sort();
        expect(stdout.split("\n").slice(0, 2)).toEqual([
          "BIRD 1.6.8-tabby ready.",
          "name     proto    table    state  since       info",
        ]);
        expect(rows.map((r) => r.split(/\s+/).slice(0, 4).concat(r.split(/\s+/)[5]!)).sort()).toEqual(
          want.map((w) => [w, "BGP", "master", "up", "Established"]),
        );
        const status = (await execFileAsync("birdc", ["-s", sock, "show", "status"])).stdout;
        expect(status).toMatch(
          /^BIRD 1\.6\.8-tabby ready\.\nBIRD 1\.6\.8-tabby\nRouter ID is 10\.0\.0\.\d+\n/,
        );
        expect(status).toMatch(/Daemon is up and running\n$/);
        const all = (await execFileAsync("birdc", ["-s", sock, "show", "protocols", "all", want[0]!])).stdout;
        expect(all).toContain(`    Neighbor address: ${TOR_IP}`);
        expect(all).toContain("    Neighbor AS:      65000");
        // tabbyctl node status reads the same socket, as calicoctl would.
        const ctl = await execFileAsync(process.execPath, [TABBYCTL, "node", "status"], {
          env: { ...process.env, TABBY_BIRD_SOCKET_DIR: join(n.dir, "bird") },
        });
        const lines = ctl.stdout.split("\n");
        expect(lines.slice(0, 3)).toEqual(["Calico process is running.", "", "IPv4 BGP status"]);
        expect(lines[4]).toBe("| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |");
        const table = lines.filter((l) => /^\| \d/.test(l)).map((l) => l.split("|").map((c) => c.trim()));
        expect(table.map((c) => [c[1], c[2], c[3], c[5]]).sort()).toEqual(
          [
            [TOR_IP, "global", "up", "Established"],
            ...NODES.filter(([m]) => m !== n.name).map(([, ip]) => [
              ip,
              "node-to-node mesh",
              "up",
              "Established",
            ]),
          ].sort(),
        );
        expect(ctl.stdout).toContain("\nINFO: BIRDv6 process: 'bird6' is not running.\n\n");
        // IPv4-only nodes have no bird6.ctl, as calico-node runs no bird6 then.
        await expect(readFile(join(n.dir, "bird", "bird6.ctl"))).rejects.toThrow(/ENOENT/);
      }
    });

    it("pods ping each other across nodes with no encapsulation", async () => {
      const from = pods[0]!;
      for (const to of pods.slice(1)) {
        await eventually(() => ping(from.ns, to.ip), {
          what: `${from.name} -> ${to.name} (${to.ip})`,
          timeoutMs: 20_000,
        });
      }
    });

    it("the ToR learns every node's blocks, from that node, and nothing else", async () => {
      const blocks = await lab.ctl<Resource[]>("list", "IPAMBlock");
      const want = blocks
        .map((b) => {
          const s = b.spec as { cidr: string; affinity: string };
          const node = NODES.find(([n]) => s.affinity === `host:${n}`)!;
          return `${s.cidr} via ${node[1]}`;
        })
        .sort();
      expect(want.length).toBeGreaterThanOrEqual(3);
      await eventually(
        async () => {
          const routes = await bird.routes("ipv4");
          // Every node re-advertises the pool routes it knows (as Calico's BIRD does), so each block
          // comes from every node; the one from its owner carries the owner's next hop.
          const prefixes = [...new Set(routes.map((r) => r.prefix))].sort();
          const fromOwner = routes
            .filter((r) => r.from === r.nextHop && r.asPath.length === 1)
            .map((r) => `${r.prefix} via ${r.nextHop}`)
            .sort();
          const wantPrefixes = want.map((w) => w.split(" ")[0]).sort();
          if (JSON.stringify(prefixes) !== JSON.stringify(wantPrefixes))
            throw new Error(`BIRD has ${prefixes.join(", ")}`);
          for (const w of want)
            if (!fromOwner.includes(w)) throw new Error(`no ${w} from its owner: ${fromOwner.join(", ")}`);
          return prefixes;
        },
        { what: "BIRD's table to hold exactly the blocks", timeoutMs: 20_000 },
      );
    });

    it("fills a CalicoNodeStatus asked for one node: agent, BGP sessions and routes", async () => {
      await lab.apply([
        v3("CalicoNodeStatus", "n1-status", {
          node: "n1",
          classes: ["Agent", "BGP", "Routes"],
          updatePeriodSeconds: 1,
        }),
      ]);
      const st = await eventually(
        async () => {
          const r = (await lab.ctl<Resource[]>("list", "CalicoNodeStatus")).find(
            (x) => x.metadata.name === "n1-status",
          );
          const status = r?.status as CalicoNodeStatusStatus | undefined;
          return status?.bgp?.numberEstablishedV4 === 3 ? status : false;
        },
        { what: "n1's CalicoNodeStatus to be filled" },
      );
      expect(st.agent?.birdV4?.state).toBe("Ready");
      expect(st.agent?.birdV4?.routerID).toBe("10.0.0.11");
      expect(st.bgp?.numberNotEstablishedV4).toBe(0);
      expect((st.bgp?.peersV4 ?? []).map((p) => `${p.peerIP} ${p.type}`).sort()).toEqual([
        "10.0.0.12 NodeMesh",
        "10.0.0.13 NodeMesh",
        "10.0.0.254 GlobalPeer",
      ]);
      const learned = (st.routes?.routesV4 ?? []).filter((r) => r.learnedFrom?.sourceType === "NodeMesh");
      expect(learned.length).toBeGreaterThanOrEqual(2);
      await lab.ctl("delete", "CalicoNodeStatus", "n1-status");
    });

    it("a BGPPeer for one node brings up only that session and resets nothing", async () => {
      const before = await Promise.all(nodes.map((n) => lab.status(n)));
      await lab.apply([v3("BGPPeer", "n2-extra", { node: "n2", peerIP: "10.0.0.99", asNumber: 65099 })]);
      await eventually(
        async () => (await lab.status(nodes[1]!)).peers.some((p) => p.name === "Node_10_0_0_99"),
        { what: "n2 to configure Node_10_0_0_99" },
      );
      const after = await Promise.all(nodes.map((n) => lab.status(n)));
      for (let i = 0; i < nodes.length; i++) {
        const flaps = (s: (typeof before)[number]) =>
          Object.fromEntries(
            s.peers.filter((p) => p.name !== "Node_10_0_0_99").map((p) => [p.name, [p.flaps, p.since]]),
          );
        expect(flaps(after[i]!)).toEqual(flaps(before[i]!));
        expect(after[i]!.counters.sessionResets).toBe(before[i]!.counters.sessionResets);
      }
      expect(after[0]!.peers.some((p) => p.name === "Node_10_0_0_99")).toBe(false);
      expect(after[2]!.peers.some((p) => p.name === "Node_10_0_0_99")).toBe(false);
      // It cannot come up (nothing there): n2 says so and is not ready, the others are.
      expect(after[1]!.ready).toBe(false);
      expect(after[1]!.notReady.join(" ")).toContain("Node_10_0_0_99");
      await lab.ctl("delete", "BGPPeer", "n2-extra");
      await lab.waitReady(nodes[1]!);
    });

    it("kill -9 of an agent: traffic keeps flowing, the ToR keeps its routes, the restarted agent rewrites no route", async () => {
      const victim = nodes[1]!;
      const remote = pods.find((p) => p.node === "n1")!;
      const local = pods.find((p) => p.node === victim.name)!;
      const before = await victim.ns.routes();
      await lab.kill9(victim);
      // While it is down: the kernel routes stay, the pods still reach each other, BIRD keeps the routes.
      expect(await ping(remote.ns, local.ip)).toBe(true);
      expect(await ping(local.ns, remote.ip)).toBe(true);
      const torRoutes = (await bird.routes("ipv4")).filter((r) => r.nextHop === victim.ip);
      expect(torRoutes.length).toBeGreaterThan(0);
      lab.start(victim);
      const s = await lab.waitReady(victim);
      await eventually(async () => (await lab.status(victim)).bgpSynced, {
        what: "BGP initial sync after restart",
      });
      const again = await lab.status(victim);
      const log = await readFile(join(victim.dir, "agent.log"), "utf8");
      const writes = log.split("\n").filter((l) => l.includes("routes programmed"));
      expect({ writes: again.counters.routeWrites, log: writes.slice(-3) }).toEqual({
        writes: 0,
        log: writes.slice(-3),
      });
      expect(s.phase).toBe("running");
      const after = await victim.ns.routes();
      expect(after).toEqual(before);
      expect(await ping(remote.ns, local.ip)).toBe(true);
    });

    it("two agents restarting at once do not wait on each other: both sync and rewrite no route", async () => {
      const pair = [nodes[0]!, nodes[2]!];
      await Promise.all(pair.map((n) => lab.kill9(n)));
      for (const n of pair) lab.start(n);
      for (const n of pair) {
        const s = await eventually(
          async () => {
            const st = await lab.status(n);
            return st.ready && st.bgpSynced ? st : false;
          },
          { what: `${n.name} ready and synced after a joint restart`, timeoutMs: 45_000, intervalMs: 200 },
        );
        expect(s.counters.routeWrites).toBe(0);
      }
      expect(await ping(pods[0]!.ns, pods[4]!.ip)).toBe(true);
    });

    it("changing one node's AS resets only the sessions that node is part of", async () => {
      const key = (p: { name: string; flaps: number; since: number }) => `${p.name} ${p.flaps} ${p.since}`;
      const n1Before = (await lab.status(nodes[0]!)).peers;
      const n2Before = (await lab.status(nodes[1]!)).peers;
      const [n1, n2, n3] = nodes as [LabNode, LabNode, LabNode];
      const nodeRes = (await lab.ctl<Resource[]>("list", "Node")).find((r) => r.metadata.name === "n3")!;
      const spec = nodeRes.spec as { bgp: Record<string, unknown> };
      await lab.apply([{ ...nodeRes, spec: { ...spec, bgp: { ...spec.bgp, asNumber: 64513 } } }]);
      await eventually(
        async () => (await lab.status(n1)).peers.find((p) => p.name === "Mesh_10_0_0_13")?.asn === 64513,
        { what: "n1 to expect AS 64513 from n3" },
      );
      const n1After = (await lab.status(n1)).peers;
      const untouched = (ps: typeof n1After) => ps.filter((p) => p.name !== "Mesh_10_0_0_13").map(key);
      expect(untouched(n1After)).toEqual(untouched(n1Before));
      const n3Status = await lab.status(n3);
      expect(n3Status.counters.sessionResets).toBeGreaterThanOrEqual(1);
      expect(untouched((await lab.status(n2)).peers)).toEqual(untouched(n2Before));
      // n3 and its mesh peers now speak eBGP; the mesh session comes back up with the new AS.
      await eventually(
        async () =>
          (await lab.status(n1)).peers.find((p) => p.name === "Mesh_10_0_0_13")?.state === "Established",
        { what: "n1-n3 re-established as eBGP" },
      );
      await lab.apply([{ ...nodeRes, spec }]);
      await eventually(
        async () => (await lab.status(n1)).peers.find((p) => p.name === "Mesh_10_0_0_13")?.asn === 64512,
        { what: "n3 back to the cluster AS" },
      );
    });

    it("Services: the cluster range from every node, a Local Service's /32s only from the node with its endpoint", async () => {
      const config = (extra: Record<string, unknown>) =>
        v3("BGPConfiguration", "default", {
          nodeToNodeMeshEnabled: true,
          asNumber: 64512,
          logSeverityScreen: "Info",
          ...extra,
        });
      await lab.apply([
        config({
          serviceClusterIPs: [{ cidr: "10.96.0.0/12" }],
          serviceExternalIPs: [{ cidr: "192.0.2.0/24" }],
        }),
      ]);
      // As an operator writes them; the EndpointSlice is what the endpoint controller would write.
      await lab.kubectl(
        ["apply", "-f", "-"],
        [
          "apiVersion: v1",
          "kind: Service",
          "metadata: {name: web, namespace: default}",
          "spec:",
          "  type: LoadBalancer",
          "  externalTrafficPolicy: Local",
          "  externalIPs: [192.0.2.5]",
          "  selector: {app: web}",
          "  ports: [{port: 80}]",
          "",
        ].join("\n"),
      );
      const clusterIp = (await lab.kubectl(["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"])).trim();
      expect(clusterIp).toMatch(/^10\.96\.\d+\.\d+$/);
      const slice = (node: string) =>
        [
          "apiVersion: discovery.k8s.io/v1",
          "kind: EndpointSlice",
          "metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}",
          "addressType: IPv4",
          "endpoints:",
          `- addresses: [${pods[0]!.ip}]`,
          `  nodeName: ${node}`,
          "  conditions: {ready: true}",
          "ports: [{port: 80, protocol: TCP}]",
          "",
        ].join("\n");
      const nextHops = async () => {
        const routes = await bird.routes("ipv4");
        const of = (p: string) =>
          [...new Set(routes.filter((r) => r.prefix === p).map((r) => r.nextHop))].sort();
        return { range: of("10.96.0.0/12"), cluster: of(`${clusterIp}/32`), external: of("192.0.2.5/32") };
      };
      const ip = (name: string) => NODES.find(([n]) => n === name)![1];
      const settled = (want: object) => async () => {
        const got = await nextHops();
        if (JSON.stringify(got) !== JSON.stringify(want))
          throw new Error(`ToR next hops ${JSON.stringify(got)}`);
        return got;
      };
      await lab.kubectl(["apply", "-f", "-"], slice("n2"));
      const fromN2 = { range: NODES.map(([, a]) => a).sort(), cluster: [ip("n2")], external: [ip("n2")] };
      await eventually(settled(fromN2), {
        what: "the ToR to route the Service's /32s via n2",
        timeoutMs: 20_000,
      });
      // The endpoint moves: the /32s follow it.
      await lab.kubectl(["apply", "-f", "-"], slice("n3"));
      await eventually(settled({ ...fromN2, cluster: [ip("n3")], external: [ip("n3")] }), {
        what: "the /32s to move to n3",
        timeoutMs: 20_000,
      });
      await lab.kubectl(["delete", "svc", "web"]);
      await eventually(settled({ range: fromN2.range, cluster: [], external: [] }), {
        what: "the /32s to be withdrawn with the Service",
        timeoutMs: 20_000,
      });
      await lab.kubectl(["delete", "endpointslice", "web-1"]);
      await lab.apply([config({})]);
      await eventually(settled({ range: [], cluster: [], external: [] }), {
        what: "the cluster range to be withdrawn",
        timeoutMs: 20_000,
      });
    });

    it("deleting the pool withdraws its routes everywhere", async () => {
      await lab.ctl("delete", "IPPool", "pool-a");
      await eventually(
        async () => {
          const left = await bird.routes("ipv4");
          if (left.length > 0) throw new Error(`BIRD still has ${left.map((r) => r.prefix).join(", ")}`);
          return true;
        },
        { what: "the ToR to lose every pool route" },
      );
      for (const n of nodes) {
        await eventually(
          async () => (await n.ns.routes()).filter((r) => r.protocol === "bird").length === 0,
          { what: `${n.name} to drop its BGP routes` },
        );
      }
    });
  },
);
