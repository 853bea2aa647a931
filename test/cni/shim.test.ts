/**
 * The native shim on its own, installed by `tabby cni install --no-fallback` (as a DaemonSet installs
 * it, where the agent's Node is not on the host): with no agent listening, VERSION still answers and
 * every other call says "try again later" (code 11) so the runtime retries until the agent is up.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../harness/naming.js";
import { suiteScope } from "../harness/scope.js";
import { CNI_SHIM, TABBY_CLI } from "./cni-lab.js";

const run = promisify(execFile);

describe("tabby-cni shim without an agent or a fallback", () => {
  const scope = suiteScope();
  let binDir: string;
  let noSocket: string;

  beforeAll(async () => {
    for (const f of [CNI_SHIM, TABBY_CLI])
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\` first`);
    const top = await makeTempDir(scope);
    binDir = join(top, "bin");
    noSocket = join(top, "no-agent.sock");
    const out = await run(process.execPath, [TABBY_CLI, "cni", "install", "--no-fallback"], {
      env: { PATH: process.env.PATH, CNI_BIN_DIR: binDir, CNI_NET_DIR: join(top, "net.d") },
    });
    expect(out.stdout).toContain("no fallback");
  });

  function call(plugin: string, command: string, conf: Record<string, unknown>) {
    const r = spawnSync(join(binDir, plugin), [], {
      input: JSON.stringify({ cniVersion: "1.0.0", name: "k8s-pod-network", type: plugin, ...conf }),
      env: { CNI_COMMAND: command, CNI_CONTAINERID: "abc", CNI_NETNS: "/run/netns/none", CNI_IFNAME: "eth0" },
      encoding: "utf8",
    });
    return { code: r.status, stdout: r.stdout };
  }

  it("installs only the plugin names, no fallback", async () => {
    expect((await readdir(binDir)).sort()).toEqual(["calico", "calico-ipam", "tabby-cni", "tabby-ipam"]);
  });

  it("answers VERSION itself", async () => {
    const r = call("calico", "VERSION", {});
    expect(JSON.parse(r.stdout)).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("ADD is code 11 naming the agent's socket, for both plugin roles", async () => {
    for (const plugin of ["calico", "calico-ipam"]) {
      const r = call(plugin, "ADD", { tabby_agent_socket: noSocket });
      expect(r.code, plugin).toBe(1);
      expect(JSON.parse(r.stdout)).toEqual({
        cniVersion: "1.0.0",
        code: 11,
        msg: "the tabby node agent is not running on this node: try again later",
        details: noSocket,
      });
    }
  });

  it("STATUS is code 50: without the agent no ADD can be served", () => {
    const r = call("calico", "STATUS", { tabby_agent_socket: noSocket });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 50, details: noSocket });
  });
});
