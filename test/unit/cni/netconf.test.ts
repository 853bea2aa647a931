import { describe, expect, it } from "vitest";
import { CNI_CODE } from "../../../src/cni/errors.js";
import {
  DEFAULT_AGENT_SOCKET,
  DEFAULT_IPAM_LOCK_FILE,
  DEFAULT_MTU_FILE,
  DEFAULT_NODENAME_FILE,
  parseNetConf,
  parseNetConfText,
} from "../../../src/cni/netconf.js";
import { expectCniError } from "./helpers.js";

const base = { cniVersion: "1.0.0", name: "k8s-pod-network", type: "calico" };
const conf = (extra: Record<string, unknown>) => parseNetConf({ ...base, ...extra });
/** The config must be refused with code 7 and a message naming `key` and the bad value. */
const refused = (extra: Record<string, unknown>, key: string, value: string) =>
  expectCniError(() => conf(extra), CNI_CODE.invalidConfig, "network config:", key, value);

// The calico plugin entry of the conflist calico-node's install-cni writes (10-calico.conflist).
const CALICO_CONFLIST_PLUGIN = {
  cniVersion: "0.3.1",
  name: "k8s-pod-network",
  type: "calico",
  log_level: "info",
  log_file_path: "/var/log/calico/cni/cni.log",
  datastore_type: "kubernetes",
  nodename: "node-1",
  mtu: 1440,
  ipam: { type: "calico-ipam", assign_ipv4: "true", assign_ipv6: "false" },
  policy: { type: "k8s" },
  kubernetes: { kubeconfig: "/etc/cni/net.d/calico-kubeconfig" },
  container_settings: { allow_ip_forwarding: false },
};

describe("parseNetConf defaults", () => {
  it("fills Calico's defaults for a config with only name and cniVersion", () => {
    const raw = { cniVersion: "1.0.0", name: "net" };
    const c = parseNetConf(raw);
    expect(c).toMatchObject({
      cniVersion: "1.0.0",
      name: "net",
      type: "",
      datastoreType: "etcdv3", // Calico's libcalico default when datastore_type is unset
      nodename: undefined,
      nodenameFile: DEFAULT_NODENAME_FILE,
      nodenameFileOptional: false,
      mtu: 0,
      mtuFile: DEFAULT_MTU_FILE,
      requireMtuFile: false,
      numQueues: 0,
      ipam: { type: "", assignIpv4: true, assignIpv6: false, ipv4Pools: [], ipv6Pools: [] },
      kubeconfig: undefined,
      k8sApiRoot: undefined,
      etcdEndpoints: [],
      allowIpForwarding: false,
      ipAddrsNoIpam: false,
      floatingIps: false,
      includeDefaultRoutes: false,
      ipamLockFile: DEFAULT_IPAM_LOCK_FILE,
      logLevel: "info",
      logFilePath: undefined,
      agentSocket: DEFAULT_AGENT_SOCKET,
      prevResult: undefined,
      validAttachments: undefined,
    });
    expect(c.raw).toBe(raw);
    expect(DEFAULT_NODENAME_FILE).toBe("/var/lib/calico/nodename");
    expect(DEFAULT_MTU_FILE).toBe("/var/lib/calico/mtu");
    expect(DEFAULT_IPAM_LOCK_FILE).toBe("/var/run/calico/ipam.lock");
  });

  it("reads the plugin entry calico-node installs", () => {
    const c = parseNetConf(CALICO_CONFLIST_PLUGIN);
    expect(c.cniVersion).toBe("0.3.1");
    expect(c.type).toBe("calico");
    expect(c.datastoreType).toBe("kubernetes");
    expect(c.nodename).toBe("node-1");
    expect(c.mtu).toBe(1440);
    expect(c.logLevel).toBe("info");
    expect(c.logFilePath).toBe("/var/log/calico/cni/cni.log");
    expect(c.ipam).toEqual({
      type: "calico-ipam",
      assignIpv4: true,
      assignIpv6: false,
      ipv4Pools: [],
      ipv6Pools: [],
    });
    expect(c.kubeconfig).toBe("/etc/cni/net.d/calico-kubeconfig");
    expect(c.allowIpForwarding).toBe(false);
  });

  it("ignores unknown keys, as Calico's Go decoder does", () => {
    const c = conf({
      mode: "vxlan",
      readiness_gates: ["x"],
      ipam: { type: "calico-ipam", subnet: "usePodCidr" },
    });
    expect(c.ipam.type).toBe("calico-ipam");
    expect(c.raw.mode).toBe("vxlan");
  });
});

describe("parseNetConf keys", () => {
  it("requires a name (code 7)", () => {
    expectCniError(() => parseNetConf({ cniVersion: "1.0.0" }), CNI_CODE.invalidConfig, "name is missing");
    expectCniError(() => parseNetConf({ cniVersion: "1.0.0", name: "" }), CNI_CODE.invalidConfig, "name");
    refused({ name: 7 }, "name must be a string", "7");
  });

  it("takes cniVersion as given, leaving the version check to checkVersion, but only as a string", () => {
    expect(parseNetConf({ name: "n" }).cniVersion).toBe("");
    expect(conf({ cniVersion: "0.4.0" }).cniVersion).toBe("0.4.0");
    refused({ cniVersion: 1 }, "cniVersion must be a string", "1");
  });

  it("refuses a config that is not a JSON object (code 7)", () => {
    for (const v of [null, [], "net", 3]) {
      expectCniError(() => parseNetConf(v), CNI_CODE.invalidConfig, "(the whole config)", "a JSON object");
    }
  });

  it("accepts datastore_type kubernetes and etcdv3 only", () => {
    expect(conf({ datastore_type: "kubernetes" }).datastoreType).toBe("kubernetes");
    expect(conf({ datastore_type: "etcdv3" }).datastoreType).toBe("etcdv3");
    expectCniError(() => conf({ datastore_type: "kdd" }), CNI_CODE.invalidConfig, "datastore_type", '"kdd"');
    refused({ datastore_type: true }, "datastore_type", "true");
  });

  it("takes nodename, then kubernetes.node_name; empty strings count as unset", () => {
    expect(conf({ nodename: "n1", kubernetes: { node_name: "n2" } }).nodename).toBe("n1");
    expect(conf({ nodename: "", kubernetes: { node_name: "n2" } }).nodename).toBe("n2");
    expect(conf({ kubernetes: { node_name: "" } }).nodename).toBeUndefined();
    refused({ nodename: 5 }, "nodename", "5");
    refused({ kubernetes: { node_name: ["a"] } }, "kubernetes.node_name", '["a"]');
  });

  it("reads nodename_file and nodename_file_optional", () => {
    const c = conf({ nodename_file: "/run/nodename", nodename_file_optional: true });
    expect(c.nodenameFile).toBe("/run/nodename");
    expect(c.nodenameFileOptional).toBe(true);
    expect(conf({ nodename_file: "" }).nodenameFile).toBe(DEFAULT_NODENAME_FILE);
    refused({ nodename_file: 1 }, "nodename_file", "1");
    refused({ nodename_file_optional: "true" }, "nodename_file_optional must be true or false", '"true"');
  });

  it("takes mtu as an integer from 0 to 65535", () => {
    expect(conf({ mtu: 1500 }).mtu).toBe(1500);
    expect(conf({ mtu: 0 }).mtu).toBe(0);
    expect(conf({ mtu: 65535 }).mtu).toBe(65535);
    expect(conf({ mtu: null }).mtu).toBe(0);
    for (const [v, text] of [
      ["1500", '"1500"'],
      [1500.5, "1500.5"],
      [-1, "-1"],
      [65536, "65536"],
    ] as const) {
      refused({ mtu: v }, "mtu must be an integer from 0 to 65535", text);
    }
  });

  it("takes num_queues from 0 to 1024 and require_mtu_file as a boolean", () => {
    expect(conf({ num_queues: 4 }).numQueues).toBe(4);
    refused({ num_queues: 1025 }, "num_queues must be an integer from 0 to 1024", "1025");
    expect(conf({ require_mtu_file: true }).requireMtuFile).toBe(true);
    refused({ require_mtu_file: 1 }, "require_mtu_file", "1");
  });

  it("lower-cases log_level and keeps log_file_path", () => {
    expect(conf({ log_level: "DEBUG" }).logLevel).toBe("debug");
    expect(conf({ log_level: "Warning" }).logLevel).toBe("warning");
    expect(conf({ log_file_path: "/var/log/calico/cni/cni.log" }).logFilePath).toBe(
      "/var/log/calico/cni/cni.log",
    );
    expect(conf({ log_file_path: "" }).logFilePath).toBeUndefined();
    refused({ log_level: 4 }, "log_level", "4");
    refused({ log_file_path: false }, "log_file_path", "false");
  });

  it("reads the kubernetes section: kubeconfig and k8s_api_root", () => {
    const c = conf({ kubernetes: { kubeconfig: "/etc/kc", k8s_api_root: "https://10.96.0.1:443" } });
    expect(c.kubeconfig).toBe("/etc/kc");
    expect(c.k8sApiRoot).toBe("https://10.96.0.1:443");
    expect(conf({ kubernetes: { kubeconfig: "" } }).kubeconfig).toBeUndefined();
    refused({ kubernetes: { kubeconfig: 1 } }, "kubernetes.kubeconfig must be a string", "1");
    refused({ kubernetes: { k8s_api_root: {} } }, "kubernetes.k8s_api_root", "{}");
    refused({ kubernetes: "/etc/kc" }, "kubernetes must be an object", '"/etc/kc"');
  });

  it("splits etcd_endpoints on commas, as Calico's ETCD_ENDPOINTS, and reads the TLS files", () => {
    const c = conf({
      etcd_endpoints: "https://10.0.0.1:2379, https://10.0.0.2:2379,",
      etcd_key_file: "/k",
      etcd_cert_file: "/c",
      etcd_ca_cert_file: "/ca",
    });
    expect(c.etcdEndpoints).toEqual(["https://10.0.0.1:2379", "https://10.0.0.2:2379"]);
    expect([c.etcdKeyFile, c.etcdCertFile, c.etcdCaCertFile]).toEqual(["/k", "/c", "/ca"]);
    refused({ etcd_endpoints: ["https://10.0.0.1:2379"] }, "etcd_endpoints must be a string", "10.0.0.1");
    refused({ etcd_ca_cert_file: 0 }, "etcd_ca_cert_file", "0");
  });

  it("reads container_settings.allow_ip_forwarding and feature_control as booleans", () => {
    const c = conf({
      container_settings: { allow_ip_forwarding: true },
      feature_control: { ip_addrs_no_ipam: true, floating_ips: true },
    });
    expect(c.allowIpForwarding).toBe(true);
    expect(c.ipAddrsNoIpam).toBe(true);
    expect(c.floatingIps).toBe(true);
    refused(
      { container_settings: { allow_ip_forwarding: "true" } },
      "container_settings.allow_ip_forwarding must be true or false",
      '"true"',
    );
    refused({ feature_control: { ip_addrs_no_ipam: "yes" } }, "feature_control.ip_addrs_no_ipam", '"yes"');
    refused({ feature_control: { floating_ips: 1 } }, "feature_control.floating_ips", "1");
    refused({ container_settings: [] }, "container_settings must be an object", "[]");
    refused({ feature_control: true }, "feature_control must be an object", "true");
  });

  it("requires policy, runtimeConfig, args and prevResult to be objects when present", () => {
    expect(conf({ policy: { type: "k8s" }, runtimeConfig: {}, args: {} }).name).toBe("k8s-pod-network");
    refused({ policy: "k8s" }, "policy must be an object", '"k8s"');
    refused({ runtimeConfig: [] }, "runtimeConfig must be an object", "[]");
    refused({ args: "x" }, "args must be an object", '"x"');
    refused({ prevResult: [1] }, "prevResult must be an object", "[1]");
    const prev = { cniVersion: "1.0.0", ips: [{ address: "10.0.0.5/32" }] };
    expect(conf({ prevResult: prev }).prevResult).toBe(prev);
  });

  it("reads include_default_routes, ipam_lock_file and tabby_agent_socket", () => {
    const c = conf({
      include_default_routes: true,
      ipam_lock_file: "/run/lock/ipam",
      tabby_agent_socket: "/run/t.sock",
    });
    expect(c.includeDefaultRoutes).toBe(true);
    expect(c.ipamLockFile).toBe("/run/lock/ipam");
    expect(c.agentSocket).toBe("/run/t.sock");
    expect(conf({ ipam_lock_file: "", tabby_agent_socket: "" })).toMatchObject({
      ipamLockFile: DEFAULT_IPAM_LOCK_FILE,
      agentSocket: DEFAULT_AGENT_SOCKET,
    });
    refused({ include_default_routes: "true" }, "include_default_routes", '"true"');
    refused({ tabby_agent_socket: 1 }, "tabby_agent_socket", "1");
  });
});

describe("parseNetConf ipam", () => {
  it('accepts assign_ipv4 / assign_ipv6 as Calico\'s "true"/"false" strings and as booleans', () => {
    const ipam = (v: Record<string, unknown>) => conf({ ipam: { type: "calico-ipam", ...v } }).ipam;
    expect(ipam({ assign_ipv4: "true", assign_ipv6: "true" })).toMatchObject({
      assignIpv4: true,
      assignIpv6: true,
    });
    expect(ipam({ assign_ipv4: "false", assign_ipv6: "false" })).toMatchObject({
      assignIpv4: false,
      assignIpv6: false,
    });
    expect(ipam({ assign_ipv4: false, assign_ipv6: true })).toMatchObject({
      assignIpv4: false,
      assignIpv6: true,
    });
    // Unset, null and "" keep Calico's defaults: IPv4 on, IPv6 off.
    expect(ipam({ assign_ipv4: "", assign_ipv6: null })).toMatchObject({
      assignIpv4: true,
      assignIpv6: false,
    });
  });

  it("refuses any other assign_ipv4 / assign_ipv6 value (code 7, naming the key)", () => {
    refused({ ipam: { assign_ipv4: "yes" } }, 'ipam.assign_ipv4 must be "true" or "false"', '"yes"');
    refused({ ipam: { assign_ipv6: "True" } }, "ipam.assign_ipv6", '"True"');
    refused({ ipam: { assign_ipv6: 1 } }, "ipam.assign_ipv6", "1");
  });

  it("reads ipv4_pools and ipv6_pools as lists of pool names or CIDRs", () => {
    const c = conf({
      ipam: {
        type: "calico-ipam",
        ipv4_pools: ["10.244.0.0/16", "default-ipv4-ippool"],
        ipv6_pools: ["fd00::/48"],
      },
    });
    expect(c.ipam.ipv4Pools).toEqual(["10.244.0.0/16", "default-ipv4-ippool"]);
    expect(c.ipam.ipv6Pools).toEqual(["fd00::/48"]);
    refused(
      { ipam: { ipv4_pools: "10.244.0.0/16" } },
      "ipam.ipv4_pools must be a list of strings",
      "10.244.0.0/16",
    );
    refused({ ipam: { ipv6_pools: ["fd00::/48", 1] } }, "ipam.ipv6_pools", '["fd00::/48",1]');
  });

  it("requires ipam and ipam.type to have the right types", () => {
    refused({ ipam: "calico-ipam" }, "ipam must be an object", '"calico-ipam"');
    refused({ ipam: { type: 3 } }, "ipam.type must be a string", "3");
  });
});

describe("parseNetConf cni.dev/valid-attachments", () => {
  it("reads the GC attachment list", () => {
    const c = conf({
      "cni.dev/valid-attachments": [
        { containerID: "abc", ifname: "eth0" },
        { containerID: "def", ifname: "net1" },
      ],
    });
    expect(c.validAttachments).toEqual([
      { containerId: "abc", ifName: "eth0" },
      { containerId: "def", ifName: "net1" },
    ]);
    expect(conf({ "cni.dev/valid-attachments": [] }).validAttachments).toEqual([]);
  });

  it("names the bad entry (code 7)", () => {
    refused({ "cni.dev/valid-attachments": {} }, "cni.dev/valid-attachments must be a list", "{}");
    refused(
      { "cni.dev/valid-attachments": [{}, "abc"] },
      "cni.dev/valid-attachments[1] must be an object",
      '"abc"',
    );
    refused(
      { "cni.dev/valid-attachments": [{ containerID: 5, ifname: "eth0" }] },
      "cni.dev/valid-attachments[0].containerID",
      "5",
    );
  });
});

describe("parseNetConfText", () => {
  it("parses the stdin text", () => {
    expect(parseNetConfText(JSON.stringify(CALICO_CONFLIST_PLUGIN)).nodename).toBe("node-1");
  });

  it("makes malformed JSON code 6 with the parser's complaint in details", () => {
    const e = expectCniError(() => parseNetConfText('{"name": '), CNI_CODE.decode, "not valid JSON");
    expect(e.details).toBeTruthy();
    expectCniError(() => parseNetConfText(""), CNI_CODE.decode, "not valid JSON");
  });

  it("makes valid JSON that is not a config code 7", () => {
    expectCniError(() => parseNetConfText("[]"), CNI_CODE.invalidConfig, "a JSON object");
    expectCniError(
      () => parseNetConfText('{"cniVersion":"1.0.0"}'),
      CNI_CODE.invalidConfig,
      "name is missing",
    );
  });
});
