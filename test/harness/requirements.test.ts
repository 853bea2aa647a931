import { describe, expect, it } from "vitest";
import { findExecutable, unmet } from "./requirements.js";

describe("requirements", () => {
  it("finds executables on PATH and in sbin, and names what is missing", () => {
    expect(findExecutable("sh")).toMatch(/\/sh$/);
    expect(findExecutable("definitely-not-a-binary-xyz")).toBeUndefined();
    const saved = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(unmet(["gobgp"])).toEqual(["gobgp (gobgpd, gobgp not found)"]);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("knows whether it runs as root", () => {
    expect(unmet(["root"]).length === 0).toBe(process.getuid?.() === 0);
  });
});
