/**
 * The real kubectl against `tabby datastore serve`: `kubectl apply -f crds/`, a Calico IPPool applied
 * and re-applied (client-side apply: create, then a merge patch), refused when invalid (422) or with an
 * unknown field (strict field validation), listed with the CRD's printer columns; and tabbyctl
 * (DATASTORE_TYPE=kubernetes) reading and writing the same objects. Then the served store killed with
 * -9 in the middle of a stream of writes: every acknowledged write is there after a restart.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { main as tabbyctl } from "../../../src/cli/tabbyctl.js";
import { run } from "../../harness/exec.js";
import { makeTempDir } from "../../harness/naming.js";
import { findExecutable, inCi } from "../../harness/requirements.js";
import { testScope } from "../../harness/scope.js";
import { ServeProcess } from "./serve-process.js";

const ROOT = join(import.meta.dirname, "../../..");
const kubectl = findExecutable("kubectl");

const POOL = `apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  cidr: 192.168.0.0/16
  ipipMode: Always
  natOutgoing: true
  blockSize: 26
  nodeSelector: all()
`;

async function k(kubeconfig: string, args: string[], input?: string) {
  return run(kubectl!, args, {
    allowFailure: true,
    // Discovery cache in the test's temp dir, not the user's ~/.kube.
    env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dirname(kubeconfig), "kube-cache") },
    ...(input !== undefined ? { input } : {}),
  });
}

async function ctl(kubeconfig: string, ...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await tabbyctl(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { DATASTORE_TYPE: "kubernetes", KUBECONFIG: kubeconfig },
  });
  return { code, stdout, stderr };
}

const suite = kubectl !== undefined ? describe : inCi() ? describe : describe.skip;
const title = `kubectl against tabby datastore serve${kubectl === undefined ? " [skipped: needs kubectl]" : ""}`;

suite(title, () => {
  if (kubectl === undefined) {
    it("has kubectl", () => {
      throw new Error("CI=true forbids skipping: needs kubectl (not found on PATH)");
    });
    return;
  }

  it("applies the CRDs and a Calico IPPool, lists it, refuses invalid ones, and tabbyctl sees the same", async () => {
    const scope = testScope();
    const serve = await ServeProcess.start(scope, await makeTempDir(scope));
    const kc = serve.kubeconfig;
    const crds = await k(kc, ["apply", "-f", join(ROOT, "crds")]);
    expect(crds.code, crds.stderr).toBe(0);
    expect(crds.stdout).toContain(
      "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org",
    );
    const created = await k(kc, ["apply", "-f", "-"], POOL);
    expect(created.stdout.trim(), created.stderr).toBe(
      "ippool.crd.projectcalico.org/default-ipv4-ippool created",
    );
    const again = await k(kc, ["apply", "-f", "-"], POOL.replace("blockSize: 26", "blockSize: 24"));
    expect(again.stdout.trim(), again.stderr).toBe(
      "ippool.crd.projectcalico.org/default-ipv4-ippool configured",
    );
    const unchanged = await k(kc, ["apply", "-f", "-"], POOL.replace("blockSize: 26", "blockSize: 24"));
    expect(unchanged.stdout.trim()).toBe("ippool.crd.projectcalico.org/default-ipv4-ippool unchanged");

    const table = await k(kc, ["get", "ippools.crd.projectcalico.org"]);
    expect(table.code, table.stderr).toBe(0);
    const [header, row] = table.stdout.trim().split("\n");
    expect(header!.split(/\s+/).slice(0, 2)).toEqual(["NAME", "CIDR"]);
    expect(row).toMatch(/^default-ipv4-ippool\s+192\.168\.0\.0\/16\s/);
    const json = JSON.parse((await k(kc, ["get", "ippool", "default-ipv4-ippool", "-o", "json"])).stdout);
    expect(json.spec.blockSize).toBe(24);
    expect(json.metadata.generation).toBe(2);

    const invalid = await k(
      kc,
      ["apply", "-f", "-"],
      POOL.replace("blockSize: 26", "blockSize: 40").replace("default-ipv4-ippool", "bad"),
    );
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('The IPPool "bad" is invalid: spec.blockSize');
    const unknown = await k(
      kc,
      ["apply", "-f", "-"],
      POOL.replace("blockSize: 26", "bogus: 1").replace("default-ipv4-ippool", "bad2"),
    );
    expect(unknown.stderr).toContain('unknown field "spec.bogus"');
    expect((await k(kc, ["get", "ippools.crd.projectcalico.org", "bad"])).stderr).toContain(
      'ippools.crd.projectcalico.org "bad" not found',
    );

    // tabbyctl reads what kubectl wrote, and kubectl what tabbyctl wrote.
    const got = await ctl(kc, "get", "ippool", "-o", "wide");
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/default-ipv4-ippool\s+192\.168\.0\.0\/16/);
    const dir = await makeTempDir(scope);
    const file = join(dir, "pool.yaml");
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(
        file,
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: pool-2\nspec:\n  cidr: 10.244.0.0/16\n",
      ),
    );
    const applied = await ctl(kc, "apply", "-f", file);
    expect(applied.code, applied.stderr).toBe(0);
    const listed = await k(kc, ["get", "ippools.crd.projectcalico.org", "-o", "name"]);
    expect(listed.stdout.trim().split("\n").sort()).toEqual([
      "ippool.crd.projectcalico.org/default-ipv4-ippool",
      "ippool.crd.projectcalico.org/pool-2",
    ]);
    const deleted = await k(kc, ["delete", "ippool", "default-ipv4-ippool"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await ctl(kc, "get", "ippool", "-o", "yaml")).stdout).not.toContain("default-ipv4-ippool");
  }, 60_000);

  it("Services get a cluster IP from the service range as the API server allocates it; EndpointSlices are stored", async () => {
    const scope = testScope();
    const serve = await ServeProcess.start(scope, await makeTempDir(scope));
    const kc = serve.kubeconfig;
    const service = (name: string, type: string, port: number) =>
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  selector: {app: ${name}}\n  ports: [{port: ${port}}]\n`;
    const web = await k(kc, ["apply", "-f", "-"], service("web", "ClusterIP", 80));
    expect(web.stdout.trim(), web.stderr).toBe("service/web created");
    const lb = await k(kc, ["apply", "-f", "-"], service("lb", "LoadBalancer", 443));
    expect(lb.code, lb.stderr).toBe(0);
    const got = JSON.parse((await k(kc, ["get", "svc", "-o", "json"])).stdout);
    const byName = new Map(got.items.map((s: any) => [s.metadata.name, s.spec]));
    expect(byName.get("web")).toMatchObject({
      type: "ClusterIP",
      clusterIP: "10.96.0.2",
      clusterIPs: ["10.96.0.2"],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
    });
    expect(byName.get("lb")).toMatchObject({ clusterIP: "10.96.0.3", externalTrafficPolicy: "Cluster" });
    const table = (await k(kc, ["get", "svc", "web", "lb"])).stdout.trim().split("\n");
    expect(table[0]!.split(/\s+/)).toEqual(["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]);
    expect(table[1]).toMatch(/^web\s+ClusterIP\s+10\.96\.0\.2\s+<none>\s+80\/TCP\s/);
    expect(table[2]).toMatch(/^lb\s+LoadBalancer\s+10\.96\.0\.3\s+<pending>\s+443\/TCP\s/);

    const taken = await k(
      kc,
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: dup\nspec:\n  clusterIP: 10.96.0.2\n  ports: [{port: 80}]\n",
    );
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain("provided IP is already allocated");
    const outside = await k(
      kc,
      ["apply", "-f", "-"],
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: out\nspec:\n  clusterIP: 172.16.0.1\n  ports: [{port: 80}]\n",
    );
    expect(outside.stderr).toContain("is not in the valid range");
    // kubectl apply without a clusterIP keeps the allocated one; changing it is refused.
    const svcYaml = (ip: string) =>
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {tier: front}\nspec:\n${ip}  ports: [{port: 80, targetPort: 8080}]\n`;
    const kept = await k(kc, ["apply", "-f", "-"], svcYaml(""));
    expect(kept.code, kept.stderr).toBe(0);
    expect((await k(kc, ["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"])).stdout).toBe("10.96.0.2");
    const moved = await k(kc, ["apply", "-f", "-"], svcYaml("  clusterIP: 10.96.0.9\n"));
    expect(moved.stderr).toContain("field is immutable");

    const slice = await k(
      kc,
      ["apply", "-f", "-"],
      [
        "apiVersion: discovery.k8s.io/v1",
        "kind: EndpointSlice",
        "metadata:",
        "  name: web-1",
        "  labels: {kubernetes.io/service-name: web}",
        "addressType: IPv4",
        "endpoints:",
        "- addresses: [10.244.0.5]",
        "  nodeName: n1",
        "  conditions: {ready: true}",
        "ports: [{port: 8080, protocol: TCP}]",
        "",
      ].join("\n"),
    );
    expect(slice.stdout.trim(), slice.stderr).toBe("endpointslice.discovery.k8s.io/web-1 created");
    const slices = (await k(kc, ["get", "endpointslices"])).stdout;
    expect(slices).toMatch(/web-1\s+IPv4\s+10\.244\.0\.5/);
  }, 60_000);

  it("keeps every acknowledged write when the served store is killed with -9, and restarts from its file", async () => {
    const scope = testScope();
    const dataDir = await makeTempDir(scope);
    const serve = await ServeProcess.start(scope, dataDir);
    const kubeconfig = await readFile(serve.kubeconfig, "utf8");
    const token = /token: (\S+)/.exec(kubeconfig)![1]!;
    const post = (n: number) =>
      fetch(`${serve.url}/apis/crd.projectcalico.org/v1/ippools`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          apiVersion: "crd.projectcalico.org/v1",
          kind: "IPPool",
          metadata: { name: `pool-${n}` },
          spec: { cidr: `10.${Math.floor(n / 256)}.${n % 256}.0/24`, nodeSelector: "all()" },
        }),
      });
    // Four concurrent writers, so that group commits are in flight when the kill comes.
    const acked = new Set<number>();
    let next = 0;
    let stop = false;
    const writer = async () => {
      while (!stop) {
        const n = next++;
        try {
          const r = await post(n);
          if (r.status === 201) acked.add(n);
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 4 }, writer);
    while (acked.size < 40) await new Promise((r) => setTimeout(r, 5));
    await serve.kill9();
    stop = true;
    await Promise.all(writers);
    const snapshot = JSON.parse(await readFile(join(dataDir, "apiserver", "datastore.json"), "utf8"));
    expect(snapshot.format).toBe("tabby-embedded-datastore/1");
    const again = await ServeProcess.start(scope, dataDir);
    const got = await ctl(again.kubeconfig, "get", "ippool", "-o", "json");
    expect(got.code, got.stderr).toBe(0);
    const names = new Set(
      (JSON.parse(got.stdout).items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
    );
    for (const n of acked) expect(names.has(`pool-${n}`), `pool-${n}`).toBe(true);
    expect(names.size).toBeLessThanOrEqual(next);
  }, 60_000);
});
