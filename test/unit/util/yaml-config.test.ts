import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isTabbyError } from "../../../src/util/errors.js";
import { FieldReader, loadYamlConfig, parseYamlConfig } from "../../../src/util/yaml-config.js";

interface Peer {
  address: string;
  as: number;
  passive: boolean;
}
interface Speaker {
  routerId: string;
  as: number;
  peers: Peer[];
}

function decodeSpeaker(raw: unknown): Speaker {
  const r = new FieldReader(raw);
  const out = {
    routerId: r.string("routerId"),
    as: r.int("as", { min: 1, max: 4294967295 }),
    peers: r.list("peers", (item, path) => {
      const p = new FieldReader(item, path);
      const peer = {
        address: p.string("address"),
        as: p.int("as", { min: 1, max: 4294967295 }),
        passive: p.bool("passive", false),
      };
      p.done();
      return peer;
    }),
  };
  r.done();
  return out;
}

const good = `routerId: 10.0.0.1
as: 65001
peers:
  - address: 10.0.0.2
    as: 65002
  - address: 10.0.0.3
    as: 65003
    passive: true
`;

function errorOf(fn: () => unknown): Error & { context?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("YAML config loading", () => {
  it("decodes a valid file with defaults", () => {
    expect(parseYamlConfig(good, "s.yaml", decodeSpeaker)).toEqual({
      routerId: "10.0.0.1",
      as: 65001,
      peers: [
        { address: "10.0.0.2", as: 65002, passive: false },
        { address: "10.0.0.3", as: 65003, passive: true },
      ],
    });
  });

  it("names file, line and field of a bad value", () => {
    const text = good.replace("as: 65003", "as: -4");
    const e = errorOf(() => parseYamlConfig(text, "s.yaml", decodeSpeaker));
    expect(isTabbyError(e, "CONFIG_INVALID")).toBe(true);
    expect(e.message).toBe("s.yaml:7:9: peers[1].as: must be an integer in 1..4294967295 (value -4)");
  });

  it("points a missing field at its parent mapping", () => {
    const text = good.replace("    as: 65002\n", "");
    const e = errorOf(() => parseYamlConfig(text, "s.yaml", decodeSpeaker));
    expect(e.message).toBe("s.yaml:4:5: peers[0].as: is required");
  });

  it("refuses an unknown (misspelt) field by name and line", () => {
    const text = good.replace("    passive: true", "    pasive: true");
    const e = errorOf(() => parseYamlConfig(text, "s.yaml", decodeSpeaker));
    expect(e.message).toBe("s.yaml:8:13: peers[1].pasive: unknown field");
  });

  it("reports YAML syntax errors with line and column", () => {
    const e = errorOf(() =>
      parseYamlConfig("routerId: 10.0.0.1\npeers: [a, b\nas: 1\n", "bad.yaml", decodeSpeaker),
    );
    expect(isTabbyError(e, "CONFIG_INVALID")).toBe(true);
    expect(e.message).toMatch(/^bad\.yaml:\d+:\d+: YAML syntax: /);
  });

  it("refuses duplicate keys", () => {
    const e = errorOf(() => parseYamlConfig("as: 1\nas: 2\n", "d.yaml", decodeSpeaker));
    expect(e.message).toBe('d.yaml:2:1: YAML syntax: duplicate key "as" in one mapping');
  });

  it("loads from a file and names an unreadable one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "yaml-test-"));
    const file = join(dir, "speaker.yaml");
    writeFileSync(file, good);
    expect((await loadYamlConfig(file, decodeSpeaker)).as).toBe(65001);
    await expect(loadYamlConfig(join(dir, "nope.yaml"), decodeSpeaker)).rejects.toThrow(
      /nope\.yaml: cannot read config: ENOENT/,
    );
  });
});
