import { describe, expect, it } from "vitest";
import { isTabbyError, TabbyError } from "../../../src/util/errors.js";

describe("TabbyError", () => {
  it("names file, line, field, value and offset in its message", () => {
    const e = new TabbyError("CONFIG_INVALID", "must be 20..32 for IPv4", {
      file: "pool.yaml",
      line: 7,
      column: 3,
      field: "spec.blockSize",
      value: 33,
    });
    expect(e.message).toBe("pool.yaml:7:3: spec.blockSize: must be 20..32 for IPv4 (value 33)");
    expect(new TabbyError("BGP_DECODE", "bad marker", { offset: 5 }).message).toBe("bad marker (at byte 5)");
    expect(new TabbyError("X", "bad", { value: 'a"b' }).message).toBe('bad (value "a\\"b")');
  });

  it("is recognised by code, also when defined by a library folder through the global brand", () => {
    const e = new TabbyError("IPAM_BLOCK_CONFLICT", "taken");
    expect(isTabbyError(e)).toBe(true);
    expect(isTabbyError(e, "IPAM_BLOCK_CONFLICT")).toBe(true);
    expect(isTabbyError(e, "OTHER")).toBe(false);
    expect(isTabbyError(new Error("plain"))).toBe(false);
    expect(isTabbyError(null)).toBe(false);
    // How bgp/ or felix/ (which may not import src/) mark their own errors.
    const brand: unique symbol = Symbol.for("tabby.error") as never;
    class NetlinkError extends Error {
      readonly [brand] = true;
      readonly code = "NETLINK_EEXIST";
    }
    expect(isTabbyError(new NetlinkError("exists"), "NETLINK_EEXIST")).toBe(true);
  });

  it("keeps the cause", () => {
    const cause = new Error("ENOENT");
    expect(new TabbyError("X", "y", {}, { cause }).cause).toBe(cause);
  });
});
