import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EmbeddedDatastore } from "../../../src/datastore/embedded.js";
import { storagePath } from "../../../src/datastore/keys.js";
import { isTabbyError } from "../../../src/util/errors.js";
import { FakeClock } from "../../harness/clock.js";
import { makeTempDir } from "../../harness/naming.js";
import { suiteScope, testScope } from "../../harness/scope.js";
import { type ContractHooks, datastoreContract, pool } from "./contract.js";

const suite = suiteScope();

const compact: ContractHooks = {
  compact: async (ds, revision) => (ds as EmbeddedDatastore).compact(Number(revision)),
};
datastoreContract("embedded, in memory", () => EmbeddedDatastore.open(), compact);
datastoreContract(
  "embedded, file-backed",
  async () => EmbeddedDatastore.open({ dir: await makeTempDir(suite) }),
  compact,
);

describe("embedded datastore on disk", () => {
  it("stamps uid and creationTimestamp as injected, and resourceVersion as a global revision", async () => {
    let n = 0;
    const ds = await EmbeddedDatastore.open({
      clock: new FakeClock(0, Date.UTC(2026, 2, 1, 12, 0, 0, 750)),
      newUid: () => `uid-${++n}`,
    });
    const a = await ds.create(pool("a", "10.0.0.0/16"));
    const b = await ds.create(pool("b", "10.1.0.0/16"));
    expect(a.metadata).toEqual({
      name: "a",
      uid: "uid-1",
      resourceVersion: "1",
      creationTimestamp: "2026-03-01T12:00:00Z",
    });
    expect(b.metadata.resourceVersion).toBe("2");
    await ds.close();
  });

  it("survives a reopen, keyed by Calico's etcd paths", async () => {
    const dir = await makeTempDir(testScope());
    const ds = await EmbeddedDatastore.open({ dir });
    const a = await ds.create(pool("a", "10.0.0.0/16"));
    await ds.close();
    const snapshot = JSON.parse(await readFile(join(dir, "datastore.json"), "utf8"));
    expect(Object.keys(snapshot.resources)).toEqual(["/calico/resources/v3/projectcalico.org/ippools/a"]);
    const again = await EmbeddedDatastore.open({ dir });
    expect(await again.get({ kind: "IPPool", name: "a" })).toEqual(a);
    const b = await again.create(pool("b", "10.1.0.0/16"));
    expect(Number(b.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
    await again.close();
    expect((await readdir(dir)).sort()).toEqual(["datastore.json"]);
  });

  it("lets one process own a store; readers open it read-only", async () => {
    const dir = await makeTempDir(testScope());
    const owner = await EmbeddedDatastore.open({ dir });
    await owner.create(pool("a", "10.0.0.0/16"));
    await expect(EmbeddedDatastore.open({ dir })).rejects.toSatisfy((e: unknown) =>
      isTabbyError(e, "DATASTORE_LOCKED"),
    );
    const reader = await EmbeddedDatastore.open({ dir, readOnly: true });
    expect((await reader.list("IPPool")).items).toHaveLength(1);
    await expect(reader.create(pool("b", "10.1.0.0/16"))).rejects.toSatisfy((e: unknown) =>
      isTabbyError(e, "DATASTORE_UNSUPPORTED"),
    );
    await owner.close();
    await reader.close();
  });

  it("takes over a lock left by a dead process", async () => {
    const dir = await makeTempDir(testScope());
    await writeFile(join(dir, "datastore.lock"), "999999999\n");
    const ds = await EmbeddedDatastore.open({ dir });
    await ds.create(pool("a", "10.0.0.0/16"));
    await ds.close();
  });

  it("refuses a corrupt snapshot instead of starting empty", async () => {
    const dir = await makeTempDir(testScope());
    await writeFile(join(dir, "datastore.json"), "{not json");
    await expect(EmbeddedDatastore.open({ dir })).rejects.toSatisfy((e: unknown) =>
      isTabbyError(e, "DATASTORE_IO"),
    );
    // The failed open released its lock.
    await writeFile(
      join(dir, "datastore.json"),
      JSON.stringify({ format: "tabby-embedded-datastore/1", revision: 0, resources: {} }),
    );
    await (await EmbeddedDatastore.open({ dir })).close();
  });

  it("keeps every acknowledged write across kill -9", async () => {
    const dir = await makeTempDir(testScope());
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "fixtures/writer.ts"), dir],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let acked = -1;
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const l of lines) acked = Number(l.split(" ")[1]);
        if (acked >= 30) resolve();
      });
      child.on("exit", (c) => reject(new Error(`writer exited early with ${c}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const ds = await EmbeddedDatastore.open({ dir });
    const names = new Set((await ds.list("IPPool")).items.map((r) => r.metadata.name));
    for (let n = 0; n <= acked; n++) expect(names.has(`pool-${n}`), `pool-${n}`).toBe(true);
    // Nothing beyond one in-flight write can exist, and the revision matches the objects.
    expect(names.size).toBeLessThanOrEqual(acked + 2);
    expect((await ds.list("IPPool")).revision).toBe(String(names.size));
    await ds.close();
    expect(storagePath({ kind: "IPPool", name: "x" })).toBe(
      "/calico/resources/v3/projectcalico.org/ippools/x",
    );
  });
});
