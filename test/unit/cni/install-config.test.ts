import { describe, expect, it } from "vitest";
import { CniError } from "../../../src/cni/errors.js";
import {
  configFileName,
  DEFAULT_NETWORK_CONFIG,
  fallbackScript,
  installValues,
  renderNetworkConfig,
  serviceAccountKubeconfig,
} from "../../../src/cni/install-config.js";

const values = (env: Record<string, string> = {}) =>
  installValues(env, "host-a", "/etc/cni/net.d/calico-kubeconfig");

describe("tabby cni install's network config", () => {
  it("renders Calico's manifest config with install-cni's defaults", () => {
    const r = renderNetworkConfig(DEFAULT_NETWORK_CONFIG, values(), { addPortmap: false });
    expect(r.isList).toBe(true);
    expect(JSON.parse(r.text)).toEqual({
      name: "k8s-pod-network",
      cniVersion: "1.0.0",
      plugins: [
        {
          type: "calico",
          log_level: "info",
          log_file_path: "/var/log/calico/cni/cni.log",
          datastore_type: "kubernetes",
          nodename: "host-a",
          mtu: 1500,
          ipam: { type: "calico-ipam" },
          policy: { type: "k8s" },
          kubernetes: { kubeconfig: "/etc/cni/net.d/calico-kubeconfig" },
        },
      ],
    });
    expect(configFileName({}, r.isList)).toBe("10-calico.conflist");
  });

  it("takes the node name and MTU from the DaemonSet's environment and adds portmap when it is installed", () => {
    const r = renderNetworkConfig(
      DEFAULT_NETWORK_CONFIG,
      values({ KUBERNETES_NODE_NAME: "worker-3", CNI_MTU: "0", LOG_LEVEL: "debug" }),
      { addPortmap: true },
    );
    const list = JSON.parse(r.text);
    expect(list.plugins[0]).toMatchObject({ nodename: "worker-3", mtu: 0, log_level: "debug" });
    expect(list.plugins[1]).toEqual({ type: "portmap", snat: true, capabilities: { portMappings: true } });
  });

  it("substitutes every placeholder of a pasted Calico ConfigMap, and keeps the user's plugins as written", () => {
    const template = `{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico",
      "etcd_endpoints":"__ETCD_ENDPOINTS__","datastore_type":"__DATASTORE_TYPE__","mtu":__CNI_MTU__,
      "nodename":"__KUBERNETES_NODE_NAME__","ipam":{"type":"calico-ipam"}},{"type":"bandwidth"}]}`;
    const list = JSON.parse(
      renderNetworkConfig(
        template,
        values({ DATASTORE_TYPE: "etcdv3", ETCD_ENDPOINTS: "http://10.0.0.1:2379", CNI_MTU: "1440" }),
        { addPortmap: true },
      ).text,
    );
    expect(list.plugins).toEqual([
      {
        type: "calico",
        etcd_endpoints: "http://10.0.0.1:2379",
        datastore_type: "etcdv3",
        mtu: 1440,
        nodename: "host-a",
        ipam: { type: "calico-ipam" },
      },
      { type: "bandwidth" },
    ]);
  });

  it("a single plugin config is written as .conf; CNI_CONF_NAME wins", () => {
    const r = renderNetworkConfig('{"name":"net","cniVersion":"1.0.0","type":"calico"}', values(), {
      addPortmap: true,
    });
    expect(r.isList).toBe(false);
    expect(configFileName({}, false)).toBe("10-calico.conf");
    expect(configFileName({ CNI_CONF_NAME: "05-tabby.conflist" }, true)).toBe("05-tabby.conflist");
    expect(() => configFileName({ CNI_CONF_NAME: "../x" }, true)).toThrow(
      "CNI_CONF_NAME: not a file name: ../x",
    );
  });

  it("refuses a template it cannot load, naming what is wrong", () => {
    const bad = (t: string, msg: string) => {
      const e = (() => {
        try {
          renderNetworkConfig(t, values(), { addPortmap: false });
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).message).toContain(msg);
    };
    bad('{"name":"n","type":"calico","x":"__NOPE__"}', "unknown placeholder __NOPE__");
    bad('{"name":"n", "type":', "CNI_NETWORK_CONFIG: not JSON after substitution");
    bad("[1]", "must be a JSON object");
    bad('{"type":"calico"}', "name is missing");
    bad('{"name":"n","plugins":[]}', "plugins must be a non-empty list");
    bad('{"name":"n","plugins":[{"type":"calico"},{"snat":true}]}', "plugins[1].type is missing");
    expect(() => values({ CNI_MTU: "big" })).toThrow("CNI_MTU: not a number: big");
  });
});

describe("tabby cni install's other files", () => {
  it("writes the service-account kubeconfig as calico/node does, bracketing an IPv6 API address", () => {
    const k = serviceAccountKubeconfig({ host: "fd00::1", port: "443", token: "tok\n", caCertPem: "PEM" });
    expect(k).toContain("    server: https://[fd00::1]:443\n");
    expect(k).toContain(`    certificate-authority-data: "${Buffer.from("PEM").toString("base64")}"\n`);
    expect(k).toContain("    token: tok\n");
    expect(k).toContain("current-context: calico-context\n");
    expect(serviceAccountKubeconfig({ host: "10.96.0.1", port: "443", token: "t", caCertPem: "" })).toContain(
      "server: https://10.96.0.1:443",
    );
  });

  it("quotes the fallback's paths for the shell", () => {
    expect(fallbackScript("/usr/bin/node", "/opt/it's/tabby-cni.js")).toBe(
      "#!/bin/sh\n# Runs the tabby CNI plugin in Node when the node agent is not serving it.\n" +
        `exec '/usr/bin/node' '/opt/it'\\''s/tabby-cni.js' "$@"\n`,
    );
  });
});
