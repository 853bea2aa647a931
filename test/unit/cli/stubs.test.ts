import { describe, expect, it } from "vitest";
import type { CliIo } from "../../../src/cli/io.js";
import { main as tabby } from "../../../src/cli/tabby.js";
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

describe("command usage and planned commands", () => {
  it("tabby --help prints usage on stdout and succeeds", async () => {
    const { cli, out } = io();
    expect(await tabby(["--help"], cli)).toBe(0);
    expect(out.stdout).toContain("Usage: tabby <command>");
    expect(out.stdout).toContain("bgp decode FILE [PEER_FILE]");
  });

  it("a planned command says it is not implemented and exits 2", async () => {
    const { cli, out } = io();
    expect(await tabby(["lab"], cli)).toBe(2);
    expect(out.stderr.split("\n")[0]).toBe("tabby lab: not implemented yet (planned)");
    expect(out.stderr).not.toMatch(/issue/);
    const c = io();
    expect(tabbyctl(["node", "status"], c.cli)).toBe(2);
    expect(c.out.stderr).toMatch(/^tabbyctl node status: not implemented yet/);
  });

  it("an unknown command is named", () => {
    const { cli, out } = io();
    expect(tabbyctl(["frobnicate"], cli)).toBe(2);
    expect(out.stderr).toMatch(/^tabbyctl: unknown command "frobnicate"/);
  });

  it("commands that work are not labelled as planned", async () => {
    const { cli, out } = io();
    expect(await tabby(["--help"], cli)).toBe(0);
    for (const line of out.stdout.split("\n").filter((l) => /^ {2}(bgp|node run|datastore)/.test(l))) {
      expect(line).not.toContain("not implemented");
    }
    const help = io();
    expect(await tabby(["node", "run", "--help"], help.cli)).toBe(0);
    expect(help.out.stdout).toContain("Usage: tabby node run");
  });
});
