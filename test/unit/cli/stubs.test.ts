import { describe, expect, it } from "vitest";
import type { CliIo } from "../../../src/cli/io.js";
import { main as tabby } from "../../../src/cli/tabby.js";
import { main as tabbyCni } from "../../../src/cli/tabby-cni.js";
import { main as tabbyctl } from "../../../src/cli/tabbyctl.js";

function io(env: Record<string, string> = {}) {
  const out = { stdout: "", stderr: "" };
  const cli: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env,
  };
  return { cli, out };
}

describe("command stubs until their issues land", () => {
  it("tabby --help prints usage on stdout and succeeds", async () => {
    const { cli, out } = io();
    expect(await tabby(["--help"], cli)).toBe(0);
    expect(out.stdout).toContain("Usage: tabby <command>");
    expect(out.stdout).toContain("bgp decode FILE [PEER_FILE]");
  });

  it("a planned command says it is not implemented and exits 2", async () => {
    const { cli, out } = io();
    expect(await tabby(["node", "run"], cli)).toBe(2);
    expect(out.stderr.split("\n")[0]).toBe("tabby node run: not implemented yet (node agent issue)");
    const c = io();
    expect(tabbyctl(["node", "status"], c.cli)).toBe(2);
    expect(c.out.stderr).toMatch(/^tabbyctl node status: not implemented yet/);
  });

  it("an unknown command is named", () => {
    const { cli, out } = io();
    expect(tabbyctl(["frobnicate"], cli)).toBe(2);
    expect(out.stderr).toMatch(/^tabbyctl: unknown command "frobnicate"/);
  });

  it("tabby-cni answers a runtime with a CNI error result, and a human with usage", () => {
    const rt = io({ CNI_COMMAND: "ADD" });
    expect(tabbyCni([], rt.cli)).toBe(1);
    expect(JSON.parse(rt.out.stdout)).toEqual({
      cniVersion: "1.0.0",
      code: 999,
      msg: "tabby-cni: ADD not implemented yet",
    });
    const human = io();
    expect(tabbyCni([], human.cli)).toBe(2);
    expect(human.out.stderr).toContain("CNI plugin");
  });
});
