import { describe, expect, it } from "vitest";
import {
  ANN_IP_ADDRS,
  ANN_IP_ADDRS_NO_IPAM,
  ANN_IP_FAMILIES,
  ANN_IPV4_POOLS,
  ANN_IPV6_POOLS,
  addressRequest,
} from "../../../src/cni/address-request.js";
import { CNI_CODE } from "../../../src/cni/errors.js";
import { parseNetConf } from "../../../src/cni/netconf.js";
import { cniError, expectCniError } from "./helpers.js";

const conf = (ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  parseNetConf({
    cniVersion: "1.0.0",
    name: "k8s-pod-network",
    ipam: { type: "calico-ipam", ...ipam },
    ...extra,
  });
const noArgs = new Map<string, string>();
const args = (text: Record<string, string>) => new Map(Object.entries(text));

describe("annotation names", () => {
  it("are Calico's", () => {
    expect(ANN_IPV4_POOLS).toBe("cni.projectcalico.org/ipv4pools");
    expect(ANN_IPV6_POOLS).toBe("cni.projectcalico.org/ipv6pools");
    expect(ANN_IP_ADDRS).toBe("cni.projectcalico.org/ipAddrs");
    expect(ANN_IP_ADDRS_NO_IPAM).toBe("cni.projectcalico.org/ipAddrsNoIpam");
    expect(ANN_IP_FAMILIES).toBe("cni.projectcalico.org/ipFamilies");
  });
});

describe("addressRequest from the config", () => {
  it("asks for one IPv4 address by default, from the config's pools", () => {
    expect(addressRequest(conf(), {}, {}, noArgs)).toEqual({
      kind: "auto",
      num4: 1,
      num6: 0,
      pools4: [],
      pools6: [],
    });
    expect(
      addressRequest(conf({ ipv4_pools: ["10.244.0.0/16"], ipv6_pools: ["fd00::/48"] }), {}, {}, noArgs),
    ).toMatchObject({ pools4: ["10.244.0.0/16"], pools6: ["fd00::/48"] });
  });

  it("follows assign_ipv4 / assign_ipv6", () => {
    expect(addressRequest(conf({ assign_ipv6: "true" }), {}, {}, noArgs)).toMatchObject({ num4: 1, num6: 1 });
    expect(addressRequest(conf({ assign_ipv4: "false", assign_ipv6: true }), {}, {}, noArgs)).toMatchObject({
      num4: 0,
      num6: 1,
    });
  });

  it("refuses a config that assigns neither family (code 7)", () => {
    expectCniError(
      () => addressRequest(conf({ assign_ipv4: "false" }), {}, {}, noArgs),
      CNI_CODE.invalidConfig,
      "assign_ipv4",
      "assign_ipv6",
    );
  });
});

describe("addressRequest pools", () => {
  const c = conf({ ipv4_pools: ["conf-v4"], ipv6_pools: ["conf-v6"], assign_ipv6: "true" });

  it("prefers the pod's pool annotations to the namespace's, and both to the config", () => {
    const pod = { [ANN_IPV4_POOLS]: '["pod-v4"]', [ANN_IPV6_POOLS]: '["pod-v6"]' };
    const ns = { [ANN_IPV4_POOLS]: '["ns-v4"]', [ANN_IPV6_POOLS]: '["ns-v6"]' };
    expect(addressRequest(c, pod, ns, noArgs)).toMatchObject({ pools4: ["pod-v4"], pools6: ["pod-v6"] });
    expect(addressRequest(c, {}, ns, noArgs)).toMatchObject({ pools4: ["ns-v4"], pools6: ["ns-v6"] });
    expect(addressRequest(c, { [ANN_IPV4_POOLS]: '["pod-v4"]' }, ns, noArgs)).toMatchObject({
      pools4: ["pod-v4"],
      pools6: ["ns-v6"],
    });
  });

  it("treats an empty or blank annotation as absent", () => {
    expect(addressRequest(c, { [ANN_IPV4_POOLS]: "  " }, { [ANN_IPV4_POOLS]: "" }, noArgs)).toMatchObject({
      pools4: ["conf-v4"],
    });
  });

  it("refuses a malformed pool annotation (code 7), naming the annotation and where it is", () => {
    expectCniError(
      () => addressRequest(c, { [ANN_IPV4_POOLS]: "[10.244.0.0/16]" }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "pod annotation cni.projectcalico.org/ipv4pools is not JSON",
      "[10.244.0.0/16]",
    );
    expectCniError(
      () => addressRequest(c, {}, { [ANN_IPV6_POOLS]: '"fd00::/48"' }, noArgs),
      CNI_CODE.invalidConfig,
      "namespace annotation cni.projectcalico.org/ipv6pools must be a JSON list of strings",
    );
    expectCniError(
      () => addressRequest(c, { [ANN_IPV4_POOLS]: "[1]" }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "cni.projectcalico.org/ipv4pools",
    );
  });
});

describe("addressRequest ipFamilies", () => {
  it("overrides the config's families", () => {
    expect(addressRequest(conf(), { [ANN_IP_FAMILIES]: '["IPv6"]' }, {}, noArgs)).toMatchObject({
      num4: 0,
      num6: 1,
    });
    expect(addressRequest(conf(), { [ANN_IP_FAMILIES]: '["IPv4","IPv6"]' }, {}, noArgs)).toMatchObject({
      num4: 1,
      num6: 1,
    });
    expect(
      addressRequest(
        conf({ assign_ipv4: "false", assign_ipv6: "true" }),
        { [ANN_IP_FAMILIES]: '["IPv4"]' },
        {},
        noArgs,
      ),
    ).toMatchObject({ num4: 1, num6: 0 });
  });

  it("refuses a family other than IPv4 / IPv6 (code 7), naming the value", () => {
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_FAMILIES]: '["ipv4"]' }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "cni.projectcalico.org/ipFamilies",
      '"ipv4"',
    );
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_FAMILIES]: '["IPv4", "IPv6"' }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "cni.projectcalico.org/ipFamilies is not JSON",
    );
  });
});

describe("addressRequest exact addresses", () => {
  it("takes the pod's ipAddrs annotation through IPAM", () => {
    expect(addressRequest(conf(), { [ANN_IP_ADDRS]: '["10.244.1.7", "fd00::7"]' }, {}, noArgs)).toEqual({
      kind: "exact",
      addresses: ["10.244.1.7", "fd00::7"],
    });
  });

  it("takes IP= from CNI_ARGS, comma-separated, when there is no annotation", () => {
    expect(addressRequest(conf(), {}, {}, args({ IP: "10.244.1.8" }))).toEqual({
      kind: "exact",
      addresses: ["10.244.1.8"],
    });
    expect(addressRequest(conf(), {}, {}, args({ IP: " 10.244.1.8 , fd00::8 " }))).toEqual({
      kind: "exact",
      addresses: ["10.244.1.8", "fd00::8"],
    });
    // An empty IP= is no request at all.
    expect(addressRequest(conf(), {}, {}, args({ IP: "" })).kind).toBe("auto");
  });

  it("prefers the annotation to CNI_ARGS IP, and both to pools and families", () => {
    const pod = {
      [ANN_IP_ADDRS]: '["10.244.1.7"]',
      [ANN_IPV4_POOLS]: '["p"]',
      [ANN_IP_FAMILIES]: '["IPv6"]',
    };
    expect(addressRequest(conf(), pod, {}, args({ IP: "10.244.1.8" }))).toEqual({
      kind: "exact",
      addresses: ["10.244.1.7"],
    });
  });

  it("refuses a value that is not an address (code 7), naming where it came from and the value", () => {
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_ADDRS]: '["10.244.1.7/32"]' }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "pod annotation cni.projectcalico.org/ipAddrs",
      '"10.244.1.7/32"',
      "is not an IP address",
    );
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_ADDRS]: '["web-0"]' }, {}, noArgs),
      CNI_CODE.invalidConfig,
      '"web-0"',
    );
    expectCniError(
      () => addressRequest(conf(), {}, {}, args({ IP: "10.244.1.8,somehost" })),
      CNI_CODE.invalidConfig,
      "CNI_ARGS IP",
      '"somehost"',
    );
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_ADDRS]: "10.244.1.7" }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "cni.projectcalico.org/ipAddrs is not JSON",
    );
  });

  it("refuses an ipAddrs annotation that lists nothing (code 7)", () => {
    expectCniError(
      () => addressRequest(conf(), { [ANN_IP_ADDRS]: "[]" }, {}, noArgs),
      CNI_CODE.invalidConfig,
      "cni.projectcalico.org/ipAddrs lists no address",
    );
  });

  it("names CNI_ARGS IP when IP= lists no address", () => {
    const e = cniError(() => addressRequest(conf(), {}, {}, args({ IP: " , " })));
    expect(e.code).toBe(CNI_CODE.invalidConfig);
    expect(e.message).toContain("CNI_ARGS IP");
  });
});

describe("addressRequest ipAddrsNoIpam", () => {
  it("refuses ipAddrs together with ipAddrsNoIpam (code 7), naming both", () => {
    const pod = { [ANN_IP_ADDRS]: '["10.0.0.1"]', [ANN_IP_ADDRS_NO_IPAM]: '["10.0.0.2"]' };
    for (const c of [conf(), conf({}, { feature_control: { ip_addrs_no_ipam: true } })]) {
      expectCniError(
        () => addressRequest(c, pod, {}, noArgs),
        CNI_CODE.invalidConfig,
        "cni.projectcalico.org/ipAddrs",
        "cni.projectcalico.org/ipAddrsNoIpam",
      );
    }
  });

  it("refuses ipAddrsNoIpam when feature_control.ip_addrs_no_ipam is off (code 2), naming the annotation", () => {
    const e = expectCniError(
      () => addressRequest(conf(), { [ANN_IP_ADDRS_NO_IPAM]: '["10.0.0.2"]' }, {}, noArgs),
      CNI_CODE.unsupportedField,
      "pod annotation cni.projectcalico.org/ipAddrsNoIpam",
    );
    expect(e.details).toContain("ipAddrs");
  });

  // tabby never bypasses IPAM: an address the pools do not account for could be handed out twice.
  it("refuses ipAddrsNoIpam even with feature_control.ip_addrs_no_ipam on", () => {
    const c = conf({}, { feature_control: { ip_addrs_no_ipam: true } });
    expectCniError(
      () => addressRequest(c, { [ANN_IP_ADDRS_NO_IPAM]: '["10.0.0.2"]' }, {}, noArgs),
      CNI_CODE.unsupportedField,
      "pod annotation cni.projectcalico.org/ipAddrsNoIpam",
    );
  });
});
