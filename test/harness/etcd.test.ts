import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { Etcd } from "./etcd.js";
import { isAlive } from "./exec.js";
import { describeWith } from "./requirements.js";
import { testScope } from "./scope.js";

describeWith(["etcd"], "etcd harness", () => {
  it("starts a member on loopback, answers put and get, and stop removes process and data", async () => {
    const scope = testScope();
    const etcd = await Etcd.start(scope);
    expect(etcd.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const rev1 = await etcd.put("/calico/v1/test/a", "hello");
    const rev2 = await etcd.put("/calico/v1/test/a", "world");
    expect(rev2).toBe(rev1 + 1);
    expect(await etcd.get("/calico/v1/test/a")).toBe("world");
    expect(await etcd.get("/calico/v1/test/missing")).toBeUndefined();
    await etcd.compact(rev2);
    expect(existsSync(etcd.dataDir)).toBe(true);
    const pid = etcd.pid;
    await etcd.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(etcd.dataDir)).toBe(false);
    await etcd.stop(); // idempotent
  });

  it("runs two members side by side on different ports", async () => {
    const scope = testScope();
    const [x, y] = await Promise.all([Etcd.start(scope), Etcd.start(scope)]);
    expect(x.endpoint).not.toBe(y.endpoint);
    await x.put("k", "x");
    await y.put("k", "y");
    expect([await x.get("k"), await y.get("k")]).toEqual(["x", "y"]);
  });
});
