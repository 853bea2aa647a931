import { describe, expect, it } from "vitest";
import {
  type AgentSettings,
  defaultPoolResources,
  determineNodeName,
  generateUlaPrefix,
  kubeadmPodSubnets,
  parseSettings,
  SettingsError,
  selectDefaultIPv4PoolCidr,
} from "../../../src/agent/settings.js";
import { decodeResource } from "../../../src/api/resource.js";
import { isTabbyError } from "../../../src/util/errors.js";

type Env = Record<string, string | undefined>;
/** Random source that yields the given bytes, then zeros. */
const bytes =
  (...bs: number[]) =>
  () =>
    (bs.shift() ?? 0) / 256;
const parse = (env: Env, hostname = "host-a") => parseSettings(env, hostname, bytes());
const failure = (env: Env): SettingsError => {
  try {
    parse(env);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected a SettingsError for ${JSON.stringify(env)}`);
};

describe("parseSettings: defaults with an empty environment (calico-node's)", () => {
  it("gives calico-node's defaults", () => {
    const s = parseSettings({}, " Host-A.Example ", bytes(0x12, 0x34, 0x56, 0x78, 0x9a));
    expect(s).toEqual({
      hostnameNodeName: "host-a.example",
      nodenameFile: "/var/lib/calico/nodename",
      ip: { mode: "autodetect", keepExisting: true },
      ip6: { mode: "none" },
      ipMethod: { kind: "first-found" },
      ip6Method: { kind: "first-found" },
      autodetectPollIntervalMs: 60_000,
      networkingBackend: "bird",
      clusterType: "",
      waitForDatastore: false,
      disableNodeIpCheck: false,
      noDefaultPools: false,
      pool4: {
        cidr: "192.168.0.0/16",
        blockSize: 26,
        ipipMode: "Never",
        vxlanMode: "Never",
        natOutgoing: true,
        nodeSelector: "all()",
        disableBGPExport: false,
        name: "default-ipv4-ippool",
        cidrSource: "default",
      },
      pool6: {
        cidr: "fd12:3456:789a::/48",
        blockSize: 122,
        ipipMode: "Never",
        vxlanMode: "Never",
        natOutgoing: false,
        nodeSelector: "all()",
        disableBGPExport: false,
        name: "default-ipv6-ippool",
        cidrSource: "generated",
      },
      ipv6Support: true,
      dataDir: "/var/lib/tabby",
      mtuFile: "/var/lib/calico/mtu",
      health: { enabled: false, host: "localhost", port: 9099 },
      metrics: { enabled: false, host: "", port: 9091 },
    } satisfies AgentSettings);
  });

  it("a manifest-like environment", () => {
    const s = parse({
      NODENAME: "node-1",
      IP: "autodetect",
      IP_AUTODETECTION_METHOD: "interface=eth.*,ens.*",
      CALICO_IPV4POOL_IPIP: "Always",
      CALICO_IPV4POOL_VXLAN: "Never",
      CALICO_IPV6POOL_VXLAN: "Never",
      CLUSTER_TYPE: "k8s,bgp",
      WAIT_FOR_DATASTORE: "true",
      FELIX_IPV6SUPPORT: "false",
      FELIX_HEALTHENABLED: "true",
      FELIX_VXLANMTU: "1410",
      CALICO_IPV4POOL_CIDR: "10.244.0.0/16",
    });
    expect(s.nodeName).toBe("node-1");
    expect(s.ip).toEqual({ mode: "autodetect", keepExisting: false });
    expect(s.ipMethod).toEqual({ kind: "interface", patterns: [/eth.*/, /ens.*/] });
    expect(s.pool4).toMatchObject({
      cidr: "10.244.0.0/16",
      ipipMode: "Always",
      vxlanMode: "Never",
      cidrSource: "env",
    });
    expect(s.pool6).toBeUndefined();
    expect(s.ipv6Support).toBe(false);
    expect(s.clusterType).toBe("k8s,bgp");
    expect(s.waitForDatastore).toBe(true);
    expect(s.health.enabled).toBe(true);
    expect(s.vxlanMtu).toBe(1410);
  });
});

describe("node name (utils.DetermineNodeName)", () => {
  it.each([
    [{ NODENAME: " node-1 ", HOSTNAME: "h" }, "stored", "node-1"],
    [{ HOSTNAME: "Node-X " }, "stored-name\n", "stored-name"],
    [{ HOSTNAME: "Node-X " }, undefined, "node-x"],
    [{ HOSTNAME: "" }, "  ", "host-a"],
    [{ NODENAME: "  " }, undefined, "host-a"],
  ] as const)("%j with file %j -> %s", (env, stored, want) => {
    expect(determineNodeName(parse(env, "HOST-A"), stored)).toBe(want);
  });

  it("CALICO_NODENAME_FILE and CALICO_K8S_NODE_REF", () => {
    const s = parse({ CALICO_NODENAME_FILE: "/tmp/x/nodename", CALICO_K8S_NODE_REF: "k8s-node-1" });
    expect(s.nodenameFile).toBe("/tmp/x/nodename");
    expect(s.k8sNodeRef).toBe("k8s-node-1");
  });
});

describe("IP, IP6 and the autodetection methods", () => {
  it.each([
    [{}, { mode: "autodetect", keepExisting: true }, { mode: "none" }],
    [
      { IP: "autodetect", IP6: "autodetect" },
      { mode: "autodetect", keepExisting: false },
      { mode: "autodetect", keepExisting: false },
    ],
    [{ IP: "none", IP6: "none" }, { mode: "none" }, { mode: "none" }],
    [
      { IP: "10.0.0.5", IP6: "fd00::5" },
      { mode: "address", address: "10.0.0.5" },
      { mode: "address", address: "fd00::5" },
    ],
    [
      { IP: "10.0.0.5/24", IP6: "fd00::5/64" },
      { mode: "address", address: "10.0.0.5/24" },
      { mode: "address", address: "fd00::5/64" },
    ],
  ])("%j", (env, ip, ip6) => {
    const s = parse(env);
    expect(s.ip).toEqual(ip);
    expect(s.ip6).toEqual(ip6);
  });

  it.each([
    ["first-found", { kind: "first-found" }],
    ["can-reach=8.8.8.8", { kind: "can-reach", dest: "8.8.8.8" }],
    ["can-reach=www.google.com", { kind: "can-reach", dest: "www.google.com" }],
    ["interface=eth0", { kind: "interface", patterns: [/eth0/] }],
    ["interface=eth.* , ens.*", { kind: "interface", patterns: [/eth.*/, /ens.*/] }],
    ["skip-interface=enp6s0f0,eth.*", { kind: "skip-interface", patterns: [/enp6s0f0/, /eth.*/] }],
    ["cidr=10.0.1.0/24,10.0.2.0/24", { kind: "cidr", cidrs: ["10.0.1.0/24", "10.0.2.0/24"] }],
    ["kubernetes-internal-ip", { kind: "kubernetes-internal-ip" }],
  ])("IP_AUTODETECTION_METHOD=%s", (value, want) => {
    expect(parse({ IP_AUTODETECTION_METHOD: value }).ipMethod).toEqual(want);
    expect(parse({ IP6_AUTODETECTION_METHOD: value }).ip6Method).toEqual(want);
  });
});

describe("AS, router ID, backend, flags, intervals, felix parameters", () => {
  it.each([
    [{ AS: "64512" }, "asn", 64512],
    [{ AS: "1.10" }, "asn", 65546],
    [{ AS: "4294967295" }, "asn", 4294967295],
    [{ CALICO_ROUTER_ID: "hash" }, "routerId", "hash"],
    [{ CALICO_ROUTER_ID: "10.1.1.1" }, "routerId", "10.1.1.1"],
    [{ CALICO_NETWORKING_BACKEND: "VXLAN" }, "networkingBackend", "vxlan"],
    [{ CALICO_NETWORKING_BACKEND: "none" }, "networkingBackend", "none"],
    [{ CALICO_NETWORKING_BACKEND: "" }, "networkingBackend", "bird"],
    [{ WAIT_FOR_DATASTORE: "True" }, "waitForDatastore", false], // only the exact "true", as startup.go
    [{ DISABLE_NODE_IP_CHECK: "true" }, "disableNodeIpCheck", true],
    [{ NO_DEFAULT_POOLS: "TRUE" }, "noDefaultPools", true],
    [{ AUTODETECT_POLL_INTERVAL: "5m" }, "autodetectPollIntervalMs", 300_000],
    [{ AUTODETECT_POLL_INTERVAL: "1.5s" }, "autodetectPollIntervalMs", 1500],
    [{ TABBY_DATA_DIR: "/srv/tabby" }, "dataDir", "/srv/tabby"],
    [{ FELIX_VETHMTU: "1440" }, "vethMtu", 1440],
    [{ FELIX_VETHMTU: "0" }, "vethMtu", undefined],
    [{ felix_ipinipmtu: "1480" }, "ipipMtu", 1480], // felix matches parameter names in any case
    [{ FELIX_VXLANMTUV6: "1430" }, "vxlanMtuV6", 1430],
    [{ FELIX_IPINIPENABLED: "yes" }, "ipipEnabled", true],
    [{ FELIX_VXLANENABLED: "F" }, "vxlanEnabled", false],
    [{ FELIX_VXLANENABLED: "" }, "vxlanEnabled", undefined],
    [
      { FELIX_HEALTHPORT: "19099", FELIX_HEALTHHOST: "0.0.0.0" },
      "health",
      { enabled: false, host: "0.0.0.0", port: 19099 },
    ],
    [{ FELIX_PROMETHEUSMETRICSENABLED: "true" }, "metrics", { enabled: true, host: "", port: 9091 }],
  ] as const)("%j -> %s = %j", (env, key, want) => {
    expect(parse(env)[key as keyof AgentSettings]).toEqual(want);
  });
});

describe("default pools (startup.go configureIPPools, createIPPool)", () => {
  it.each([
    [{ CALICO_IPV4POOL_IPIP: "CrossSubnet" }, { ipipMode: "CrossSubnet" }],
    [{ CALICO_IPV4POOL_IPIP: "cross-subnet" }, { ipipMode: "CrossSubnet" }],
    [{ CALICO_IPV4POOL_IPIP: "off" }, { ipipMode: "Never" }],
    [{ CALICO_IPV4POOL_VXLAN: "always" }, { vxlanMode: "Always" }],
    [{ CALICO_IPV4POOL_BLOCK_SIZE: "24" }, { blockSize: 24 }],
    [{ CALICO_IPV4POOL_CIDR: "10.244.1.5/16" }, { cidr: "10.244.0.0/16" }], // masked, as cnet.ParseCIDR
    [{ CALICO_IPV4POOL_NAT_OUTGOING: "false" }, { natOutgoing: false }],
    [{ CALICO_IPV4POOL_NAT_OUTGOING: "No" }, { natOutgoing: false }],
    [{ CALICO_IPV4POOL_NAT_OUTGOING: "" }, { natOutgoing: true }], // evaluateENVBool: set means true
    [{ CALICO_IPV4POOL_DISABLE_BGP_EXPORT: "true" }, { disableBGPExport: true }],
    [{ CALICO_IPV4POOL_NODE_SELECTOR: "rack == 'a'" }, { nodeSelector: "rack == 'a'" }],
    [{ CALICO_IPV4POOL_NODE_SELECTOR: "" }, { nodeSelector: "all()" }],
  ] as const)("v4 %j -> %j", (env, want) => {
    expect(parse(env).pool4).toMatchObject(want);
  });

  it.each([
    [{ CALICO_IPV6POOL_CIDR: "fd00:1234::/48" }, { cidr: "fd00:1234::/48", cidrSource: "env" }],
    [{ CALICO_IPV6POOL_IPIP: "Always" }, { ipipMode: "Never" }], // IPv6 pools are never IP-in-IP
    [{ CALICO_IPV6POOL_VXLAN: "CrossSubnet" }, { vxlanMode: "CrossSubnet" }],
    [{ CALICO_IPV6POOL_BLOCK_SIZE: "120" }, { blockSize: 120 }],
    [{ CALICO_IPV6POOL_NAT_OUTGOING: "true" }, { natOutgoing: true }],
  ] as const)("v6 %j -> %j", (env, want) => {
    expect(parse(env).pool6).toMatchObject(want);
  });

  it.each([
    [{ NO_DEFAULT_POOLS: "true" }, false, false],
    [{ CALICO_IPV4POOL_CIDR: "none" }, false, true],
    [{ CALICO_IPV6POOL_CIDR: "none" }, true, false],
    [{ FELIX_IPV6SUPPORT: "false" }, true, false],
    [{ FELIX_IPV6SUPPORT: "0" }, true, false],
    [{ FELIX_IPV6SUPPORT: "" }, true, true],
  ])("%j: v4 pool %s, v6 pool %s", (env, v4, v6) => {
    const s = parse(env);
    expect(s.pool4 !== undefined).toBe(v4);
    expect(s.pool6 !== undefined).toBe(v6);
  });

  it("the ULA prefix is fd + 40 random bits, /48 (GenerateIPv6ULAPrefix)", () => {
    expect(generateUlaPrefix(bytes())).toBe("fd00::/48");
    expect(generateUlaPrefix(bytes(0xff, 0xff, 0xff, 0xff, 0xff))).toBe("fdff:ffff:ffff::/48");
    expect(generateUlaPrefix(bytes(1, 2, 3, 4, 5))).toBe("fd01:203:405::/48");
    expect(parseSettings({}, "h").pool6?.cidr).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
  });

  it("defaultPoolResources: the IPPools calico-node creates, valid projectcalico.org/v3", () => {
    const s = parse({ CALICO_IPV4POOL_IPIP: "Always", CALICO_IPV6POOL_CIDR: "fd00:1234::/48" });
    const pools = defaultPoolResources(s);
    expect(pools).toEqual([
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "default-ipv4-ippool" },
        spec: {
          cidr: "192.168.0.0/16",
          ipipMode: "Always",
          vxlanMode: "Never",
          natOutgoing: true,
          blockSize: 26,
          nodeSelector: "all()",
          disableBGPExport: false,
        },
      },
      {
        apiVersion: "projectcalico.org/v3",
        kind: "IPPool",
        metadata: { name: "default-ipv6-ippool" },
        spec: {
          cidr: "fd00:1234::/48",
          ipipMode: "Never",
          vxlanMode: "Never",
          natOutgoing: false,
          blockSize: 122,
          nodeSelector: "all()",
          disableBGPExport: false,
        },
      },
    ]);
    for (const p of pools) expect(decodeResource(p).ok).toBe(true);
    expect(defaultPoolResources(s, { ipv6Kernel: false }).map((p) => p.metadata.name)).toEqual([
      "default-ipv4-ippool",
    ]);
    expect(defaultPoolResources(parse({ NO_DEFAULT_POOLS: "true" }))).toEqual([]);
  });

  it("the default IPv4 pool moves off host addresses (poolselector.go), an explicit one does not", () => {
    expect(selectDefaultIPv4PoolCidr(["10.0.0.5/24"])).toBe("192.168.0.0/16");
    expect(selectDefaultIPv4PoolCidr(["192.168.1.10/24", "fd00::1/64"])).toBe("172.16.0.0/16");
    expect(selectDefaultIPv4PoolCidr(["192.168.1.10/24", "172.16.0.1/12"])).toBe("172.17.0.0/16");
    const all = ["192.168.0.1", ...Array.from({ length: 16 }, (_, i) => `172.${16 + i}.0.1`)];
    expect(selectDefaultIPv4PoolCidr(all)).toBe("192.168.0.0/16");
    const host = { hostAddresses: ["192.168.1.10/24"] };
    expect(defaultPoolResources(parse({}), host)[0]?.spec.cidr).toBe("172.16.0.0/16");
    expect(defaultPoolResources(parse({ CALICO_IPV4POOL_CIDR: "192.168.0.0/16" }), host)[0]?.spec.cidr).toBe(
      "192.168.0.0/16",
    );
  });
  it("kubeadm's podSubnet stands in for an unset pool CIDR (extractKubeadmCIDRs)", () => {
    const data = {
      ClusterConfiguration:
        "apiVersion: kubeadm.k8s.io/v1beta3\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16,fd10:244::/56\n  serviceSubnet: 10.96.0.0/12\n",
    };
    const kubeadm = kubeadmPodSubnets(data);
    expect(kubeadm).toEqual({ v4: "10.244.0.0/16", v6: "fd10:244::/56" });
    expect(
      kubeadmPodSubnets({
        ClusterConfiguration: "networking:\n  podSubnet: fd10::/56,10.1.0.0/16,10.2.0.0/16",
      }),
    ).toEqual({
      v6: "fd10::/56",
      v4: "10.1.0.0/16",
    });
    expect(kubeadmPodSubnets({ ClusterConfiguration: "podSubnet: bogus,10.1.0.0/16" })).toEqual({});
    expect(kubeadmPodSubnets({ other: "serviceSubnet: 10.96.0.0/12" })).toEqual({});
    const cidrs = (env: Env) =>
      defaultPoolResources(parse(env), { kubeadm, hostAddresses: ["192.168.1.10/24"] }).map(
        (p) => p.spec.cidr,
      );
    expect(cidrs({})).toEqual(["10.244.0.0/16", "fd10:244::/56"]);
    expect(cidrs({ CALICO_IPV4POOL_CIDR: "10.9.0.0/16", CALICO_IPV6POOL_CIDR: "fd99::/48" })).toEqual([
      "10.9.0.0/16",
      "fd99::/48",
    ]);
    expect(
      defaultPoolResources(parse({}), { kubeadm: {}, hostAddresses: ["192.168.1.10/24"] })[0]?.spec.cidr,
    ).toBe("172.16.0.0/16");
  });
});

describe("bad values name the variable and the value", () => {
  it.each([
    [
      { IP: "fd00::1" },
      "IP",
      'IP="fd00::1": must be autodetect, none or an IPv4 address (optionally with /prefix-length)',
    ],
    [{ IP: "10.0.0.300" }, "IP", "must be autodetect, none or an IPv4 address"],
    [{ IP: "Autodetect" }, "IP", "must be autodetect, none or an IPv4 address"],
    [{ IP6: "10.0.0.1" }, "IP6", 'IP6="10.0.0.1": must be autodetect, none or an IPv6 address'],
    [
      { IP_AUTODETECTION_METHOD: "interface=eth(" },
      "IP_AUTODETECTION_METHOD",
      'invalid interface regex "eth("',
    ],
    [{ IP6_AUTODETECTION_METHOD: "cidr=10.0.0.0" }, "IP6_AUTODETECTION_METHOD", '"10.0.0.0" is not a CIDR'],
    [
      { IP_AUTODETECTION_METHOD: "can-reach=" },
      "IP_AUTODETECTION_METHOD",
      "needs an IP address or host name",
    ],
    [
      { IP_AUTODETECTION_METHOD: "firstfound" },
      "IP_AUTODETECTION_METHOD",
      'IP_AUTODETECTION_METHOD="firstfound": must be first-found',
    ],
    [{ AS: "abc" }, "AS", 'AS="abc": must be an integer'],
    [{ AS: "70000.1" }, "AS", "asdot parts must each be 16-bit"],
    [{ CALICO_ROUTER_ID: "fd00::1" }, "CALICO_ROUTER_ID", 'must be "hash" or an IPv4 address'],
    [{ CALICO_NETWORKING_BACKEND: "gobgp" }, "CALICO_NETWORKING_BACKEND", "must be bird, vxlan or none"],
    [{ AUTODETECT_POLL_INTERVAL: "60" }, "AUTODETECT_POLL_INTERVAL", "must be a positive Go duration"],
    [{ AUTODETECT_POLL_INTERVAL: "0s" }, "AUTODETECT_POLL_INTERVAL", "must be a positive Go duration"],
    [
      { NO_DEFAULT_POOLS: "true", CALICO_IPV4POOL_CIDR: "10.0.0.0/16" },
      "NO_DEFAULT_POOLS",
      "cannot be combined",
    ],
    [
      { CALICO_IPV4POOL_IPIP: "sometimes" },
      "CALICO_IPV4POOL_IPIP",
      'CALICO_IPV4POOL_IPIP="sometimes": must be Never, CrossSubnet or Always',
    ],
    [{ CALICO_IPV6POOL_VXLAN: "on" }, "CALICO_IPV6POOL_VXLAN", "must be Never, CrossSubnet or Always"],
    [
      { CALICO_IPV4POOL_IPIP: "Always", CALICO_IPV4POOL_VXLAN: "CrossSubnet" },
      "CALICO_IPV4POOL_VXLAN",
      "a pool uses one encapsulation",
    ],
    [{ CALICO_IPV4POOL_BLOCK_SIZE: "33" }, "CALICO_IPV4POOL_BLOCK_SIZE", "must be 20..32 for IPv4"],
    [{ CALICO_IPV4POOL_BLOCK_SIZE: "26a" }, "CALICO_IPV4POOL_BLOCK_SIZE", "must be an integer"],
    [{ CALICO_IPV6POOL_BLOCK_SIZE: "64" }, "CALICO_IPV6POOL_BLOCK_SIZE", "must be 116..128 for IPv6"],
    [{ CALICO_IPV4POOL_CIDR: "fd00::/48" }, "CALICO_IPV4POOL_CIDR", "must be an IPv4 CIDR (or none)"],
    [{ CALICO_IPV4POOL_CIDR: "10.0.0.0" }, "CALICO_IPV4POOL_CIDR", "must be an IPv4 CIDR"],
    [
      { CALICO_IPV4POOL_CIDR: "169.254.0.0/20" },
      "CALICO_IPV4POOL_CIDR",
      "must not overlap the link-local range",
    ],
    [{ CALICO_IPV4POOL_CIDR: "10.0.0.0/28" }, "CALICO_IPV4POOL_CIDR", "is smaller than one block (/26)"],
    [{ CALICO_IPV6POOL_CIDR: "fe80::/64" }, "CALICO_IPV6POOL_CIDR", "must not overlap the link-local range"],
    [{ CALICO_IPV4POOL_NODE_SELECTOR: "rack ==" }, "CALICO_IPV4POOL_NODE_SELECTOR", "invalid selector"],
    [{ FELIX_VETHMTU: "big" }, "FELIX_VETHMTU", "must be an MTU in bytes"],
    [{ FELIX_IPINIPENABLED: "maybe" }, "FELIX_IPINIPENABLED", "must be true or false"],
    [{ FELIX_HEALTHPORT: "99999" }, "FELIX_HEALTHPORT", "must be a port 0..65535"],
  ])("%j -> %s", (env, variable, message) => {
    const e = failure(env);
    expect(e.variable).toBe(variable);
    expect(e.value).toBe(env[variable as keyof typeof env]);
    expect(e.message).toContain(message);
    expect(e.message.startsWith(`${variable}=`)).toBe(true);
    expect(isTabbyError(e, "AGENT_SETTINGS")).toBe(true);
  });
});
