import { describe, expect, it } from "vitest";
import { CNI_CODE } from "../../../src/cni/errors.js";
import {
  type CniResult,
  checkVersion,
  encodeResult,
  parseIpamResult,
  SUPPORTED_VERSIONS,
  versionResult,
} from "../../../src/cni/result.js";
import { cniError, expectCniError } from "./helpers.js";

describe("checkVersion", () => {
  it("accepts the versions Calico's plugin speaks on Linux (0.3.0 to 1.1.0)", () => {
    expect([...SUPPORTED_VERSIONS]).toEqual(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    for (const v of SUPPORTED_VERSIONS) expect(checkVersion(v)).toBe(v);
  });

  it("refuses anything else with code 1, naming the version and listing what is supported", () => {
    for (const v of ["0.1.0", "0.2.0", "1.0", "2.0.0", "1.0.0 "]) {
      const e = expectCniError(
        () => checkVersion(v),
        CNI_CODE.incompatibleVersion,
        `cniVersion ${JSON.stringify(v)} is not supported`,
      );
      expect(e.details).toBe("supported versions: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
    }
    expectCniError(() => checkVersion(""), CNI_CODE.incompatibleVersion, "cniVersion is missing");
  });
});

describe("versionResult", () => {
  it("answers VERSION with the config's cniVersion and the supported list (spec 1.1 VERSION)", () => {
    expect(versionResult("0.4.0")).toEqual({
      cniVersion: "0.4.0",
      supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
    expect(versionResult("")).toMatchObject({ cniVersion: "1.1.0" });
  });

  it("hands out a fresh list each time", () => {
    const a = versionResult("1.0.0") as { supportedVersions: string[] };
    a.supportedVersions.push("9.9.9");
    expect((versionResult("1.0.0") as { supportedVersions: string[] }).supportedVersions).not.toContain(
      "9.9.9",
    );
  });
});

const result = (cniVersion: string, extra: Partial<CniResult> = {}): CniResult => ({
  cniVersion,
  interfaces: [{ name: "cali68caf03a5f4", mac: "ee:ee:ee:ee:ee:ee", mtu: 1440 }],
  ips: [{ address: "10.244.1.5/32" }, { address: "fd00:10:244::5/128" }],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
  dns: {},
  ...extra,
});

describe("encodeResult", () => {
  it("adds ips[].version for 0.3.x and 0.4.0 results", () => {
    for (const v of ["0.3.0", "0.3.1", "0.4.0"]) {
      const r = encodeResult(result(v));
      expect(r.cniVersion).toBe(v);
      expect(r.ips).toEqual([
        { version: "4", address: "10.244.1.5/32" },
        { version: "6", address: "fd00:10:244::5/128" },
      ]);
    }
  });

  it("leaves ips[].version out from 1.0.0 on", () => {
    for (const v of ["1.0.0", "1.1.0"]) {
      const r = encodeResult(result(v)) as { ips: Record<string, unknown>[] };
      expect(r.ips).toEqual([{ address: "10.244.1.5/32" }, { address: "fd00:10:244::5/128" }]);
      for (const ip of r.ips) expect("version" in ip).toBe(false);
    }
  });

  it("keeps gateway and interface index of each ip", () => {
    const r = encodeResult(
      result("0.4.0", { ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }] }),
    );
    expect(r.ips).toEqual([{ version: "4", address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }]);
  });

  it("sends interfaces[].mtu only in 1.1.0 results, where the spec added it", () => {
    expect(encodeResult(result("1.1.0")).interfaces).toEqual([
      { name: "cali68caf03a5f4", mac: "ee:ee:ee:ee:ee:ee", mtu: 1440 },
    ]);
    for (const v of ["0.3.1", "0.4.0", "1.0.0"]) {
      expect(encodeResult(result(v)).interfaces, v).toEqual([
        { name: "cali68caf03a5f4", mac: "ee:ee:ee:ee:ee:ee" },
      ]);
    }
  });

  it("leaves out interfaces when there are none and routes when empty, and always has dns", () => {
    const r = encodeResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.5/32" }], routes: [], dns: {} });
    expect(r).toStrictEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.5/32" }], dns: {} });
    expect(encodeResult(result("1.0.0")).routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "::/0" }]);
    expect(encodeResult(result("1.0.0", { dns: { nameservers: ["10.96.0.10"] } })).dns).toEqual({
      nameservers: ["10.96.0.10"],
    });
  });
});

describe("parseIpamResult", () => {
  it("reads ips (address, gateway) and routes of an IPAM plugin's result", () => {
    const text = JSON.stringify({
      cniVersion: "0.4.0",
      ips: [
        { version: "4", address: "10.244.1.5/26", gateway: "10.244.1.1", interface: 0 },
        { address: "fd00::5/122" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }, { dst: "::/0" }, { gw: "no dst" }, "junk"],
      dns: {},
    });
    expect(parseIpamResult(text, "host-local")).toEqual({
      ips: [{ address: "10.244.1.5/26", gateway: "10.244.1.1" }, { address: "fd00::5/122" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }, { dst: "::/0" }],
    });
  });

  it("has no routes when the result has none", () => {
    expect(parseIpamResult('{"ips":[]}', "calico-ipam")).toEqual({ ips: [], routes: [] });
  });

  it("passes an IPAM error result on with its code, plugin name, msg and details", () => {
    const e = cniError(() =>
      parseIpamResult(
        JSON.stringify({ cniVersion: "1.0.0", code: 11, msg: "datastore busy", details: "etcd timeout" }),
        "calico-ipam",
      ),
    );
    expect(e.code).toBe(11);
    expect(e.message).toBe("IPAM plugin calico-ipam: datastore busy");
    expect(e.details).toBe("etcd timeout");
    expect(cniError(() => parseIpamResult('{"code":7}', "x")).message).toBe("IPAM plugin x: failed");
  });

  it("makes output that is not a result code 6, naming the plugin", () => {
    const e = expectCniError(
      () => parseIpamResult("oops", "host-local"),
      CNI_CODE.decode,
      "host-local",
      "no JSON",
    );
    expect(e.details).toBeTruthy();
    expectCniError(() => parseIpamResult("null", "host-local"), CNI_CODE.decode, "host-local", "no ips list");
    expectCniError(() => parseIpamResult('{"ips":{}}', "host-local"), CNI_CODE.decode, "no ips list");
    expectCniError(
      () => parseIpamResult('{"ips":[{"address":"10.0.0.1/32"},{"address":5}]}', "host-local"),
      CNI_CODE.decode,
      "host-local",
      "ips[1].address is not a string",
    );
    expectCniError(() => parseIpamResult('{"ips":[null]}', "dhcp"), CNI_CODE.decode, "ips[0].address");
  });
});
