/**
 * The embedded API server's Kubernetes semantics over HTTP, as a client sees them: Status bodies (404,
 * 409 AlreadyExists/Conflict, 410 Expired, 422 Invalid with causes), server-set metadata and
 * generateName, custom resources refusing an update without resourceVersion, status subresources,
 * patches (merge, JSON, strategic), delete preconditions, namespaces, list resourceVersionMatch,
 * and watch streams (initial ADDED, replay from a revision, selector transitions, BOOKMARKs on the
 * injected clock, an ERROR 410 for a compacted revision).
 */
import { describe, expect, it } from "vitest";
import { compileLabelSelector } from "../../src/kube/label-selector.js";
import { jsonPatch, mergePatch, strategicMerge } from "../../src/kube/patch.js";
import { FakeClock } from "../harness/clock.js";
import { testScope } from "../harness/scope.js";
import { type KubeFixture, startKube, TOKEN } from "../unit/datastore/kube-fixture.js";

const POOLS = "/apis/crd.projectcalico.org/v1/ippools";
const pool = (name: string, cidr = "10.0.0.0/16", extra: Record<string, unknown> = {}) => ({
  apiVersion: "crd.projectcalico.org/v1",
  kind: "IPPool",
  metadata: { name, ...extra },
  spec: { cidr, nodeSelector: "all()" },
});

async function kube(options: Parameters<typeof startKube>[0] = {}): Promise<KubeFixture> {
  const k = await startKube(options);
  testScope().defer("stop API server", () => k.close());
  return k;
}

/** Reads `n` watch events from a streaming response. */
async function events(url: string, n: number): Promise<{ type: string; object: any }[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  const reader = res.body!.getReader();
  const out: { type: string; object: any }[] = [];
  let buf = "";
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    let i = buf.indexOf("\n");
    while (i >= 0 && out.length < n) {
      out.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
    }
  }
  await reader.cancel();
  return out;
}

describe("embedded API server", () => {
  it("answers with Kubernetes Status bodies", async () => {
    const k = await kube();
    const created = await k.request("POST", POOLS, pool("a"));
    expect(created.status).toBe(201);
    expect(created.body.metadata).toMatchObject({
      name: "a",
      generation: 1,
      resourceVersion: expect.stringMatching(/^\d+$/),
    });
    const dup = await k.request("POST", POOLS, pool("a"));
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "AlreadyExists",
      code: 409,
      message: 'ippools.crd.projectcalico.org "a" already exists',
      details: { name: "a", group: "crd.projectcalico.org", kind: "ippools" },
    });
    expect((await k.request("GET", `${POOLS}/zz`)).body).toMatchObject({ reason: "NotFound", code: 404 });
    const bad = await k.request("POST", POOLS, {
      ...pool("b"),
      spec: { cidr: "10.0.0.0/16", blockSize: 40 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.reason).toBe("Invalid");
    expect(bad.body.details.causes[0]).toMatchObject({
      reason: "FieldValueInvalid",
      field: "spec.blockSize",
    });
    const stale = await k.request("PUT", `${POOLS}/a`, {
      ...created.body,
      metadata: { ...created.body.metadata, resourceVersion: "1" },
    });
    expect(stale.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect(stale.body.message).toContain("the object has been modified");
    const noVersion = await k.request("PUT", `${POOLS}/a`, pool("a", "10.1.0.0/16"));
    expect(noVersion.status).toBe(422);
    expect(noVersion.body.details.causes[0].field).toBe("metadata.resourceVersion");
    expect((await fetch(`${k.url}${POOLS}`, { headers: { authorization: "Bearer wrong" } })).status).toBe(
      401,
    );
  });

  it("keeps server metadata, bumps generation on spec changes only, and treats a no-op update as one", async () => {
    const k = await kube();
    const a = (await k.request("POST", POOLS, pool("", "10.0.0.0/16", { generateName: "pool-" }))).body;
    expect(a.metadata.name).toMatch(/^pool-[a-z0-9]{5}$/);
    const path = `${POOLS}/${a.metadata.name}`;
    const same = (await k.request("PUT", path, a)).body;
    expect(same.metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    const labelled = (
      await k.request("PUT", path, { ...a, metadata: { ...a.metadata, labels: { x: "1" }, uid: "forged" } })
    ).body;
    expect(labelled.metadata.uid).toBe(a.metadata.uid);
    expect(labelled.metadata.generation).toBe(1);
    const respec = (
      await k.request("PUT", path, { ...labelled, spec: { ...labelled.spec, cidr: "10.9.0.0/16" } })
    ).body;
    expect(respec.metadata.generation).toBe(2);
    expect(Number(respec.metadata.resourceVersion)).toBeGreaterThan(
      Number(labelled.metadata.resourceVersion),
    );
  });

  it("patches with merge, JSON and strategic patches; a resourceVersion in a patch is a precondition", async () => {
    const k = await kube();
    const a = (await k.request("POST", POOLS, pool("a"))).body;
    const merged = await k.request(
      "PATCH",
      `${POOLS}/a`,
      { spec: { natOutgoing: true } },
      "application/merge-patch+json",
    );
    expect(merged.body.spec).toEqual({ cidr: "10.0.0.0/16", nodeSelector: "all()", natOutgoing: true });
    const stale = await k.request(
      "PATCH",
      `${POOLS}/a`,
      { metadata: { resourceVersion: a.metadata.resourceVersion }, spec: { disabled: true } },
      "application/merge-patch+json",
    );
    expect(stale.status).toBe(409);
    const jp = await k.request(
      "PATCH",
      `${POOLS}/a`,
      [{ op: "replace", path: "/spec/cidr", value: "10.5.0.0/16" }],
      "application/json-patch+json",
    );
    expect(jp.body.spec.cidr).toBe("10.5.0.0/16");
    expect(
      (await k.request("PATCH", `${POOLS}/a`, {}, "application/strategic-merge-patch+json")).status,
    ).toBe(415);
    await k.request("POST", "/api/v1/nodes", {
      metadata: { name: "n1", annotations: { keep: "1", drop: "2" } },
    });
    const node = await k.request(
      "PATCH",
      "/api/v1/nodes/n1",
      { metadata: { annotations: { drop: null, add: "3" } } },
      "application/strategic-merge-patch+json",
    );
    expect(node.body.metadata.annotations).toEqual({ keep: "1", add: "3" });
  });

  it("checks delete preconditions, namespaces, status subresources and list resourceVersionMatch", async () => {
    const k = await kube();
    const a = (await k.request("POST", POOLS, pool("a"))).body;
    await k.request("PATCH", `${POOLS}/a`, { spec: { natOutgoing: true } }, "application/merge-patch+json");
    const pre = await k.request("DELETE", `${POOLS}/a`, {
      preconditions: { resourceVersion: a.metadata.resourceVersion },
    });
    expect(pre.body).toMatchObject({ reason: "Conflict", code: 409 });
    expect((await k.request("DELETE", `${POOLS}/a`)).status).toBe(200);
    const orphan = await k.request("POST", "/api/v1/namespaces/nope/pods", {
      metadata: { name: "p" },
      spec: {},
    });
    expect(orphan.body).toMatchObject({ code: 404, message: 'namespaces "nope" not found' });
    await k.request("POST", "/api/v1/namespaces", { metadata: { name: "ns1" } });
    const pod = (
      await k.request("POST", "/api/v1/namespaces/ns1/pods", {
        metadata: { name: "p" },
        spec: {},
        status: { podIP: "1.2.3.4" },
      })
    ).body;
    expect(pod.status).toEqual({ phase: "Pending" });
    const withStatus = await k.request("PUT", "/api/v1/namespaces/ns1/pods/p/status", {
      ...pod,
      status: { phase: "Running", podIP: "10.0.0.1" },
    });
    expect(withStatus.body.status.podIP).toBe("10.0.0.1");
    const ignored = await k.request("PUT", "/api/v1/namespaces/ns1/pods/p", {
      ...withStatus.body,
      status: { phase: "Failed" },
    });
    expect(ignored.body.status.phase).toBe("Running");
    await k.request("DELETE", "/api/v1/namespaces/ns1");
    expect((await k.request("GET", "/api/v1/pods")).body.items).toEqual([]);
    const list = (await k.request("GET", POOLS)).body;
    const rv = Number(list.metadata.resourceVersion);
    expect(
      (await k.request("GET", `${POOLS}?resourceVersion=${rv + 5}&resourceVersionMatch=NotOlderThan`)).body,
    ).toMatchObject({
      code: 504,
      reason: "Timeout",
    });
    k.server.store.compact(rv);
    expect(
      (await k.request("GET", `${POOLS}?resourceVersion=1&resourceVersionMatch=Exact`)).body,
    ).toMatchObject({
      code: 410,
      reason: "Expired",
    });
  });

  it("streams watches: initial objects, replay, selector transitions, bookmarks and 410 for compacted revisions", async () => {
    const clock = new FakeClock();
    const k = await kube({ clock, bookmarkIntervalMs: 1000 });
    const a = (await k.request("POST", POOLS, pool("a", "10.0.0.0/16", { labels: { tier: "gold" } }))).body;
    const initial = await events(`${k.url}${POOLS}?watch=true`, 1);
    expect(initial.map((e) => [e.type, e.object.metadata.name])).toEqual([["ADDED", "a"]]);
    await k.request(
      "PATCH",
      `${POOLS}/a`,
      { metadata: { labels: { tier: "silver" } } },
      "application/merge-patch+json",
    );
    await k.request("POST", POOLS, pool("b", "10.1.0.0/16", { labels: { tier: "gold" } }));
    await k.request("DELETE", `${POOLS}/b`);
    const gold = await events(
      `${k.url}${POOLS}?watch=true&labelSelector=tier%3Dgold&resourceVersion=${a.metadata.resourceVersion}`,
      3,
    );
    expect(gold.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ["DELETED", "a"],
      ["ADDED", "b"],
      ["DELETED", "b"],
    ]);
    const deletedRv = Number(gold[2]!.object.metadata.resourceVersion);
    expect(deletedRv).toBe(k.server.store.revision);
    // Bookmarks come on the injected clock.
    const res = await fetch(
      `${k.url}${POOLS}?watch=true&allowWatchBookmarks=true&resourceVersion=${deletedRv}`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    const reader = res.body!.getReader();
    clock.advance(1000);
    const { value } = await reader.read();
    const bookmark = JSON.parse(new TextDecoder().decode(value).trim());
    expect(bookmark).toEqual({
      type: "BOOKMARK",
      object: {
        kind: "IPPool",
        apiVersion: "crd.projectcalico.org/v1",
        metadata: { resourceVersion: String(deletedRv) },
      },
    });
    await reader.cancel();
    k.server.store.compact(deletedRv);
    const [gone] = await events(
      `${k.url}${POOLS}?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
      1,
    );
    expect(gone).toMatchObject({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
  });
});

describe("patches and label selectors", () => {
  it("merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge by merge key", () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: null, d: 3 }, l: [2] })).toEqual({
      a: { c: 2, d: 3 },
      l: [2],
    });
    expect(
      jsonPatch({ a: [1, 2] }, [
        { op: "add", path: "/a/-", value: 3 },
        { op: "remove", path: "/a/0" },
      ]),
    ).toEqual({ a: [2, 3] });
    expect(() => jsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }])).toThrow(
      /test operation failed/,
    );
    const pod = {
      spec: {
        containers: [
          { name: "a", image: "x" },
          { name: "b", image: "y" },
        ],
      },
    };
    expect(
      strategicMerge(pod, {
        spec: {
          containers: [
            { name: "b", image: "z" },
            { name: "a", $patch: "delete" },
          ],
        },
      }),
    ).toEqual({
      spec: { containers: [{ name: "b", image: "z" }] },
    });
    expect(strategicMerge({ f: [1, 2, 3] }, { "$deleteFromPrimitiveList/f": [2] })).toEqual({ f: [1, 3] });
  });

  it("matches equality, set and existence requirements", () => {
    const m = compileLabelSelector("tier in (gold, silver),!legacy,zone!=east,app")!;
    expect(m({ tier: "gold", app: "web" })).toBe(true);
    expect(m({ tier: "gold", app: "web", legacy: "1" })).toBe(false);
    expect(m({ tier: "bronze", app: "web" })).toBe(false);
    expect(m({ tier: "silver", app: "web", zone: "east" })).toBe(false);
    expect(() => compileLabelSelector("a in (b")).toThrow();
  });
});
