import { describe, expect, it } from "vitest";
import { CNI_CODE, CniError, errorResult } from "../../../src/cni/errors.js";

describe("CNI_CODE", () => {
  it("uses the spec's well-known codes and Go skel's 999 for untyped failures", () => {
    // CNI spec 1.1 "Error": 1-7 and 11 are the spec's, 50/51 are STATUS's, 999 is skel's catch-all.
    expect(CNI_CODE).toEqual({
      incompatibleVersion: 1,
      unsupportedField: 2,
      unknownContainer: 3,
      invalidEnv: 4,
      io: 5,
      decode: 6,
      invalidConfig: 7,
      tryAgainLater: 11,
      notAvailable: 50,
      notAvailableLimited: 51,
      internal: 999,
    });
  });
});

describe("CniError", () => {
  it("is an Error carrying the code, message, details and cause", () => {
    const cause = new Error("ECONNREFUSED");
    const e = new CniError(CNI_CODE.tryAgainLater, "cannot open the datastore", "dial tcp: refused", {
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("CniError");
    expect(e.code).toBe(11);
    expect(e.message).toBe("cannot open the datastore");
    expect(e.details).toBe("dial tcp: refused");
    expect(e.cause).toBe(cause);
    expect(new CniError(7, "x").details).toBeUndefined();
  });
});

describe("errorResult", () => {
  it("spells a CniError as the spec's error result: cniVersion, code, msg, details", () => {
    const r = errorResult(new CniError(CNI_CODE.invalidConfig, "bad mtu", "mtu must be an integer"), "0.4.0");
    expect(r).toEqual({ cniVersion: "0.4.0", code: 7, msg: "bad mtu", details: "mtu must be an integer" });
    expect(JSON.stringify(r)).toBe(
      '{"cniVersion":"0.4.0","code":7,"msg":"bad mtu","details":"mtu must be an integer"}',
    );
  });

  it("leaves details out when there are none, as Go's omitempty does", () => {
    expect(errorResult(new CniError(4, "CNI_COMMAND is not set"), "1.0.0")).toStrictEqual({
      cniVersion: "1.0.0",
      code: 4,
      msg: "CNI_COMMAND is not set",
    });
    expect("details" in errorResult(new CniError(4, "x", ""), "1.0.0")).toBe(false);
  });

  it("makes an untyped Error code 999 with its message, and its Error cause the details", () => {
    expect(errorResult(new Error("boom"), "1.1.0")).toStrictEqual({
      cniVersion: "1.1.0",
      code: 999,
      msg: "boom",
    });
    const wrapped = new Error("ADD failed", { cause: new Error("EEXIST: veth exists") });
    expect(errorResult(wrapped, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      code: 999,
      msg: "ADD failed",
      details: "EEXIST: veth exists",
    });
    // A cause that is not an Error has no message to report.
    expect("details" in errorResult(new Error("x", { cause: "text" }), "1.0.0")).toBe(false);
  });

  it("makes a thrown non-Error value code 999 with its text", () => {
    expect(errorResult("plain string", "1.0.0")).toStrictEqual({
      cniVersion: "1.0.0",
      code: 999,
      msg: "plain string",
    });
    expect(errorResult(42, "1.0.0").msg).toBe("42");
    expect(errorResult(undefined, "1.0.0")).toMatchObject({ code: 999, msg: "undefined" });
  });
});
