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

  it("tabby lab without a verb prints its usage and exits 2; a wrong verb or flag is named", async () => {
    const bare = io();
    expect(await tabby(["lab"], bare.cli)).toBe(2);
    expect(bare.out.stderr).toMatch(/^Usage:\n {2}tabby lab up \[--nodes N\]/);
    const verb = io();
    expect(await tabby(["lab", "upp"], verb.cli)).toBe(2);
    expect(verb.out.stderr.split("\n")[0]).toBe('tabby lab: unknown command "upp"');
    const flag = io();
    expect(await tabby(["lab", "up", "--encap", "gre"], flag.cli)).toBe(2);
    expect(flag.out.stderr.split("\n")[0]).toBe(
      'tabby lab up: --encap: "gre" is not one of none, ipip, vxlan, crosssubnet, vxlan-backend',
    );
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

  it("every command the help lists as working answers --help with its usage, and only planned ones say not implemented", async () => {
    const help = async (run: (argv: string[], c: CliIo) => number | Promise<number>) => {
      const h = io();
      expect(await run(["--help"], h.cli)).toBe(0);
      const all = h.out.stdout.split("\n");
      const from = all.indexOf("Commands:") + 1;
      const to = all.indexOf("", from);
      return all
        .slice(from, to)
        .filter((l) => /^ {2}[a-z]/.test(l))
        .map((l) => ({
          words: l
            .trim()
            .split(/\s+/)
            .filter((w) => /^[a-z]+$/.test(w))
            .slice(0, 2),
          line: l,
        }));
    };
    for (const [name, run] of [
      ["tabby", tabby],
      ["tabbyctl", tabbyctl],
    ] as const) {
      const commands = await help(run);
      expect(commands.length).toBeGreaterThan(5);
      for (const { words, line } of commands) {
        // "node run" / "bgp decode": two words when the second is a subcommand, one otherwise ("apply").
        const argv =
          /^ {2}[a-z]+ [a-z]+ {2}/.test(`${line}  `) || /^ {2}[a-z]+ [a-z]+(\s|$)/.test(line)
            ? words
            : words.slice(0, 1);
        const c = io();
        const code = await run([...argv, "--help"], c.cli);
        const said = `${c.out.stdout}${c.out.stderr}`;
        if (line.includes("not implemented")) {
          expect(code, `${name} ${argv.join(" ")}`).toBe(2);
          expect(said).toMatch(/not implemented yet/);
        } else {
          expect(code, `${name} ${argv.join(" ")} --help: ${said}`).toBe(0);
          expect(said, `${name} ${argv.join(" ")}`).toMatch(/Usage:/);
          expect(said).not.toMatch(/not implemented/i);
        }
      }
    }
  });
});
