import { describe, expect, it } from "vitest";
import {
  AutodetectError,
  type AutodetectInputs,
  chooseAddress,
  DEFAULT_INTERFACES_TO_EXCLUDE,
  formatMethod,
  type HostInterface,
  isGlobalUnicast,
  resolveConfiguredAddress,
  selectNodeInterfaces,
} from "../../../src/agent/autodetect.js";
import { parseAutodetectMethod } from "../../../src/agent/settings.js";
import { parseIp } from "../../../src/api/net.js";
import { isTabbyError } from "../../../src/util/errors.js";

const a = (cidr: string) => {
  const [address, len] = cidr.split("/") as [string, string];
  return { address, prefixLength: Number(len) };
};
const iface = (name: string, index: number, ...cidrs: string[]): HostInterface => ({
  name,
  index,
  up: true,
  addresses: cidrs.map(a),
});

// Listed out of ifindex order on purpose: selection must sort by index, then walk it backwards.
const host: HostInterface[] = [
  iface("eth1", 4, "169.254.3.3/16", "192.168.50.7/24"),
  iface("lo", 1, "127.0.0.1/8", "::1/128"),
  iface("eth0", 2, "10.0.0.5/24", "fe80::1/64", "fd00:10::5/64"),
  iface("docker0", 3, "172.17.0.1/16"),
  iface("cali123", 5, "10.65.0.1/32"),
  iface("vxlan.calico", 6, "10.65.1.0/32"),
  iface("ens5", 7, "fe80::7/64"),
];
const names = "eth1, lo, eth0, docker0, cali123, vxlan.calico, ens5";

const pick = (method: string, family: 4 | 6, extra: Partial<AutodetectInputs> = {}) => {
  const variable = family === 4 ? "IP_AUTODETECTION_METHOD" : "IP6_AUTODETECTION_METHOD";
  return chooseAddress(parseAutodetectMethod(variable, method), family, { interfaces: host, ...extra });
};
const failure = (fn: () => unknown): AutodetectError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AutodetectError) return e;
    throw e;
  }
  throw new Error("expected an AutodetectError");
};

describe("chooseAddress: every method, as calico-node's autodetection package", () => {
  it.each([
    // first-found walks ifindex order backwards and skips default exclusions and non-global addresses.
    ["first-found", 4, {}, "192.168.50.7/24", "eth1"],
    ["", 4, {}, "192.168.50.7/24", "eth1"],
    ["first-found", 6, {}, "fd00:10::5/64", "eth0"],
    // interface= has no default exclusions; regexes are unanchored and comma-separated.
    ["interface=eth0", 4, {}, "10.0.0.5/24", "eth0"],
    ["interface=eth.*", 4, {}, "192.168.50.7/24", "eth1"],
    ["interface=docker0", 4, {}, "172.17.0.1/16", "docker0"],
    ["interface=nomatch, eth0", 4, {}, "10.0.0.5/24", "eth0"],
    ["interface=th0", 6, {}, "fd00:10::5/64", "eth0"],
    // skip-interface= adds to the default exclusions.
    ["skip-interface=eth1", 4, {}, "10.0.0.5/24", "eth0"],
    // cidr= has no interface filters at all (so a docker0 address counts).
    ["cidr=10.0.0.0/24", 4, {}, "10.0.0.5/24", "eth0"],
    ["cidr=172.16.0.0/12", 4, {}, "172.17.0.1/16", "docker0"],
    ["cidr=10.0.0.0/8", 4, {}, "10.65.1.0/32", "vxlan.calico"],
    ["cidr=192.0.2.0/24,fd00:10::/64", 6, {}, "fd00:10::5/64", "eth0"],
    // can-reach= maps the kernel's source address onto the interface holding it (any interface).
    ["can-reach=8.8.8.8", 4, { sourceAddress: "10.0.0.5" }, "10.0.0.5/24", "eth0"],
    ["can-reach=8.8.8.8", 4, { sourceAddress: "172.17.0.1" }, "172.17.0.1/16", "docker0"],
    ["can-reach=2001:db8::1", 6, { sourceAddress: "fd00:10::5" }, "fd00:10::5/64", "eth0"],
    // kubernetes-internal-ip: the Node's first InternalIP of the family, with the interface's prefix.
    [
      "kubernetes-internal-ip",
      4,
      {
        k8sNodeAddresses: [
          { type: "Hostname", address: "n1" },
          { type: "ExternalIP", address: "10.0.0.5" },
          { type: "InternalIP", address: "192.168.50.7" },
        ],
      },
      "192.168.50.7/24",
      "eth1",
    ],
    [
      "kubernetes-internal-ip",
      6,
      {
        k8sNodeAddresses: [
          { type: "InternalIP", address: "10.0.0.5" },
          { type: "InternalIP", address: "fd00:10::5" },
        ],
      },
      "fd00:10::5/64",
      "eth0",
    ],
    [
      "kubernetes-internal-ip",
      4,
      { k8sNodeAddresses: [{ type: "InternalIP", address: "10.1.2.3/16" }] },
      "10.1.2.3/16",
      undefined,
    ],
  ] as const)("%s (IPv%s) %j -> %s on %s", (method, family, extra, cidr, dev) => {
    const got = pick(method, family, extra);
    expect(got.cidr).toBe(cidr);
    expect(got.interface).toBe(dev);
  });

  it("without ifindexes the given order stands for ifindex order, walked backwards", () => {
    const bare = (name: string, cidr: string): HostInterface => ({ name, addresses: [a(cidr)] });
    const first = { kind: "first-found" } as const;
    const one = [bare("eth0", "10.0.0.1/24"), bare("eth1", "10.0.1.1/24")];
    expect(chooseAddress(first, 4, { interfaces: one }).interface).toBe("eth1");
    expect(chooseAddress(first, 4, { interfaces: [...one].reverse() }).interface).toBe("eth0");
  });

  it.each([
    [
      "interface=eth9",
      4,
      {},
      `IP_AUTODETECTION_METHOD=interface=eth9: no interface matches eth9 (have: ${names})`,
    ],
    [
      "interface=lo",
      4,
      {},
      "IP_AUTODETECTION_METHOD=interface=lo: no valid IPv4 addresses found on the host interfaces (tried: lo)",
    ],
    [
      "interface=ens5",
      6,
      {},
      "IP6_AUTODETECTION_METHOD=interface=ens5: no valid IPv6 addresses found on the host interfaces (tried: ens5)",
    ],
    [
      "skip-interface=eth.*,ens.*",
      4,
      {},
      `IP_AUTODETECTION_METHOD=skip-interface=eth.*,ens.*: no valid host interfaces found (have: ${names})`,
    ],
    [
      "cidr=10.0.0.0/24",
      6,
      {},
      "IP6_AUTODETECTION_METHOD=cidr=10.0.0.0/24: no valid IPv6 addresses within 10.0.0.0/24 found on the host interfaces (tried: ens5, vxlan.calico, cali123, eth1, docker0, eth0, lo)",
    ],
    [
      "can-reach=8.8.8.8",
      4,
      { sourceAddress: "10.9.9.9" },
      `IP_AUTODETECTION_METHOD=can-reach=8.8.8.8: autodetected IPv4 address 10.9.9.9 does not match any address on the host interfaces (have: ${names})`,
    ],
    [
      "can-reach=8.8.8.8",
      4,
      {},
      "IP_AUTODETECTION_METHOD=can-reach=8.8.8.8: no source address was found for the destination",
    ],
    [
      "can-reach=example.org",
      6,
      { sourceAddress: "10.0.0.5" },
      "IP6_AUTODETECTION_METHOD=can-reach=example.org: the source address 10.0.0.5 is not an IPv6 address",
    ],
    [
      "kubernetes-internal-ip",
      4,
      {},
      "IP_AUTODETECTION_METHOD=kubernetes-internal-ip: cannot use kubernetes-internal-ip when not running on a Kubernetes cluster (no Node object)",
    ],
    [
      "kubernetes-internal-ip",
      6,
      { k8sNodeAddresses: [{ type: "InternalIP", address: "10.0.0.5" }] },
      "IP6_AUTODETECTION_METHOD=kubernetes-internal-ip: the Kubernetes Node has no IPv6 InternalIP (has: InternalIP 10.0.0.5)",
    ],
    [
      "kubernetes-internal-ip",
      4,
      { k8sNodeAddresses: [{ type: "InternalIP", address: "10.9.9.9" }] },
      `IP_AUTODETECTION_METHOD=kubernetes-internal-ip: InternalIP 10.9.9.9 is not on any host interface (have: ${names})`,
    ],
  ] as const)("%s (IPv%s) %j fails: %s", (method, family, extra, message) => {
    const e = failure(() => pick(method, family, extra));
    expect(e.message).toBe(message);
    expect(isTabbyError(e, "AGENT_AUTODETECT")).toBe(true);
    expect(e.variable).toBe(family === 4 ? "IP_AUTODETECTION_METHOD" : "IP6_AUTODETECTION_METHOD");
    expect(e.method).toBe(method);
  });
});

describe("default interface exclusions (autodetection_linux.go)", () => {
  it("has Calico's list", () => {
    expect(DEFAULT_INTERFACES_TO_EXCLUDE).toEqual([
      "^docker.*",
      "^cbr.*",
      "^dummy.*",
      "^podman.*",
      "^virbr.*",
      "^lxcbr.*",
      "^veth.*",
      "^lo",
      "^br-.*",
      "^cali.*",
      "^tunl.*",
      "^flannel.*",
      "^kube-ipvs.*",
      "^cni.*",
      "^vxlan\\.calico.*",
      "^vxlan-v6\\.calico.*",
      "^wireguard\\.cali.*",
      "^wg-v6\\.cali.*",
      "^nodelocaldns.*",
    ]);
  });

  it.each([
    ["docker0", true],
    ["cbr0", true],
    ["dummy0", true],
    ["podman1", true],
    ["virbr0", true],
    ["lxcbr0", true],
    ["veth1234", true],
    ["lo", true],
    ["lonely0", true], // "^lo" is unanchored at the end, a quirk first-found inherits from Calico
    ["br-3f2a", true],
    ["cali12345", true],
    ["tunl0", true],
    ["flannel.1", true],
    ["kube-ipvs0", true],
    ["cni0", true],
    ["vxlan.calico", true],
    ["vxlan-v6.calico", true],
    ["wireguard.cali", true],
    ["wg-v6.cali", true],
    ["nodelocaldns", true],
    ["eth0", false],
    ["ens5", false],
    ["bond0", false],
    ["bridge0", false],
    ["vxlan0", false],
    ["mycali0", false],
  ])("first-found %s excluded: %s", (name, excluded) => {
    const interfaces = [iface(name, 1, "203.0.113.9/24")];
    const first = { kind: "first-found" } as const;
    if (excluded)
      expect(() => chooseAddress(first, 4, { interfaces })).toThrow(/no valid host interfaces found/);
    else expect(chooseAddress(first, 4, { interfaces }).cidr).toBe("203.0.113.9/24");
  });
});

describe("isGlobalUnicast (Go net.IP.IsGlobalUnicast)", () => {
  it.each([
    ["10.0.0.1", true],
    ["192.168.1.1", true],
    ["240.0.0.1", true],
    ["0.0.0.0", false],
    ["127.0.0.1", false],
    ["127.255.0.1", false],
    ["169.254.1.1", false],
    ["224.0.0.5", false],
    ["239.255.255.255", false],
    ["255.255.255.255", false],
    ["fd00::1", true],
    ["2001:db8::1", true],
    ["::", false],
    ["::1", false],
    ["fe80::1", false],
    ["febf::1", false],
    ["fec0::1", true],
    ["ff02::1", false],
    ["::ffff:10.0.0.1", true],
    ["::ffff:127.0.0.1", false],
  ])("%s: %s", (ip, want) => {
    expect(isGlobalUnicast(parseIp(ip)!)).toBe(want);
  });
});

describe("resolveConfiguredAddress (an explicit IP / IP6)", () => {
  it.each([
    ["10.0.0.5", 4, "10.0.0.5/24", true], // GetLocalCIDR takes the interface's prefix
    ["10.0.0.5/16", 4, "10.0.0.5/16", true], // a written prefix wins
    ["172.17.0.1", 4, "172.17.0.1/16", true], // any interface, exclusions do not apply
    ["10.9.9.9", 4, "10.9.9.9/32", false],
    ["fd00:10::5", 6, "fd00:10::5/128", true], // Calico does not look IPv6 up
    ["fd00:10:0::5/64", 6, "fd00:10::5/64", true],
    ["2001:db8::9", 6, "2001:db8::9/128", false],
  ] as const)("%s (IPv%s) -> %s, on host %s", (address, family, cidr, onHost) => {
    expect(resolveConfiguredAddress(address, family, host)).toEqual({ cidr, onHost });
  });
});

describe("selectNodeInterfaces (Node spec.interfaces)", () => {
  it("excludes the defaults, sorts by name, lists the families' addresses", () => {
    expect(selectNodeInterfaces(host, [4])).toEqual([
      { name: "ens5", addresses: [] },
      { name: "eth0", addresses: ["10.0.0.5"] },
      { name: "eth1", addresses: ["169.254.3.3", "192.168.50.7"] },
    ]);
    expect(selectNodeInterfaces(host, [4, 6]).find((i) => i.name === "eth0")?.addresses).toEqual([
      "10.0.0.5",
      "fe80::1",
      "fd00:10::5",
    ]);
    expect(selectNodeInterfaces(host, [])).toEqual([]);
  });
});

describe("formatMethod", () => {
  it.each([
    "first-found",
    "kubernetes-internal-ip",
    "can-reach=www.google.com",
    "interface=eth.*,en.*",
    "skip-interface=ens5",
    "cidr=10.0.0.0/8,192.168.0.0/16",
  ])("writes %s back as written", (text) => {
    expect(formatMethod(parseAutodetectMethod("IP_AUTODETECTION_METHOD", text))).toBe(text);
  });
});
