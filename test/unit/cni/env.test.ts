import { describe, expect, it } from "vitest";
import { checkIfName, parseCniArgs, parseCniEnv } from "../../../src/cni/env.js";
import { CNI_CODE } from "../../../src/cni/errors.js";
import { expectCniError } from "./helpers.js";

const KUBELET_ARGS =
  "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=8d1e";

const add = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "0123abcd",
  CNI_NETNS: "/var/run/netns/cni-1234",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
  CNI_ARGS: KUBELET_ARGS,
};

describe("parseCniArgs", () => {
  it("reads the K=V;K=V pairs kubelet sends", () => {
    const args = parseCniArgs(KUBELET_ARGS);
    expect([...args]).toEqual([
      ["IgnoreUnknown", "1"],
      ["K8S_POD_NAMESPACE", "default"],
      ["K8S_POD_NAME", "web"],
      ["K8S_POD_INFRA_CONTAINER_ID", "0123abcd"],
      ["K8S_POD_UID", "8d1e"],
    ]);
  });

  it("gives an empty map for empty CNI_ARGS and skips empty pairs", () => {
    expect(parseCniArgs("").size).toBe(0);
    expect([...parseCniArgs("K8S_POD_NAME=web;;")]).toEqual([["K8S_POD_NAME", "web"]]);
  });

  it("keeps an empty value and everything after the first '='", () => {
    const args = parseCniArgs("K8S_POD_INFRA_CONTAINER_ID=;IP=10.0.0.5");
    expect(args.get("K8S_POD_INFRA_CONTAINER_ID")).toBe("");
    expect(args.get("IP")).toBe("10.0.0.5");
    expect(parseCniArgs("X=a=b").get("X")).toBe("a=b");
  });

  it("refuses a pair without a key (code 4, naming CNI_ARGS and the pair)", () => {
    expectCniError(() => parseCniArgs("IgnoreUnknown"), CNI_CODE.invalidEnv, "CNI_ARGS", '"IgnoreUnknown"');
    expectCniError(() => parseCniArgs("K8S_POD_NAME=web;=x"), CNI_CODE.invalidEnv, "CNI_ARGS", '"=x"');
  });
});

describe("checkIfName", () => {
  it("accepts Linux interface names of up to 15 bytes", () => {
    for (const n of ["eth0", "net1", "a", "x".repeat(15), "eth0.100", "veth_a-b"]) {
      expect(checkIfName(n), n).toBeUndefined();
    }
  });

  it("refuses what the kernel refuses, as Go skel's ValidateInterfaceName does", () => {
    expect(checkIfName("")).toBe("is empty");
    expect(checkIfName("x".repeat(16))).toBe("is 16 bytes; Linux allows at most 15");
    // Bytes, not characters: eight 2-byte characters are 16 bytes.
    expect(checkIfName("é".repeat(8))).toContain("is 16 bytes");
    expect(checkIfName(".")).toBe("is not a valid interface name");
    expect(checkIfName("..")).toBe("is not a valid interface name");
    for (const n of ["eth/0", "eth:0", "eth 0", "eth\t0", "eth0\n"]) {
      expect(checkIfName(n), JSON.stringify(n)).toBe("contains '/', ':' or whitespace");
    }
  });
});

describe("parseCniEnv", () => {
  it("reads an ADD as kubelet sends it", () => {
    const r = parseCniEnv({ ...add, CNI_PATH: "/opt/cni/bin::/usr/libexec/cni", HOME: "/root" });
    expect(r.command).toBe("ADD");
    expect(r.containerId).toBe("0123abcd");
    expect(r.netns).toBe("/var/run/netns/cni-1234");
    expect(r.ifName).toBe("eth0");
    expect(r.path).toEqual(["/opt/cni/bin", "/usr/libexec/cni"]);
    expect(r.args.get("K8S_POD_NAME")).toBe("web");
    expect(r.args.get("K8S_POD_NAMESPACE")).toBe("default");
  });

  it("accepts every spec verb and nothing else (code 4 naming CNI_COMMAND)", () => {
    for (const command of ["ADD", "DEL", "CHECK"])
      expect(parseCniEnv({ ...add, CNI_COMMAND: command }).command).toBe(command);
    expect(parseCniEnv({ CNI_COMMAND: "VERSION" }).command).toBe("VERSION");
    expect(parseCniEnv({ CNI_COMMAND: "STATUS" }).command).toBe("STATUS");
    expect(parseCniEnv({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin" }).command).toBe("GC");
    expectCniError(() => parseCniEnv({}), CNI_CODE.invalidEnv, "CNI_COMMAND is not set");
    expectCniError(
      () => parseCniEnv({ ...add, CNI_COMMAND: "" }),
      CNI_CODE.invalidEnv,
      "CNI_COMMAND is not set",
    );
    expectCniError(
      () => parseCniEnv({ ...add, CNI_COMMAND: "add" }),
      CNI_CODE.invalidEnv,
      'CNI_COMMAND="add"',
    );
    expectCniError(
      () => parseCniEnv({ ...add, CNI_COMMAND: "UPDATE" }),
      CNI_CODE.invalidEnv,
      "UPDATE",
      "ADD, DEL",
    );
  });

  it("requires CNI_CONTAINERID, CNI_IFNAME and CNI_NETNS for ADD and CHECK", () => {
    for (const CNI_COMMAND of ["ADD", "CHECK"]) {
      const env = { ...add, CNI_COMMAND };
      expectCniError(
        () => parseCniEnv({ ...env, CNI_CONTAINERID: undefined }),
        CNI_CODE.invalidEnv,
        "CNI_CONTAINERID is not set",
      );
      expectCniError(
        () => parseCniEnv({ ...env, CNI_IFNAME: "" }),
        CNI_CODE.invalidEnv,
        "CNI_IFNAME is not set",
      );
      expectCniError(
        () => parseCniEnv({ ...env, CNI_NETNS: undefined }),
        CNI_CODE.invalidEnv,
        "CNI_NETNS is not set",
      );
    }
  });

  it("lets a DEL come without a netns but not without container ID or interface", () => {
    const r = parseCniEnv({ ...add, CNI_COMMAND: "DEL", CNI_NETNS: undefined });
    expect(r.netns).toBe("");
    expect(r.containerId).toBe("0123abcd");
    expectCniError(
      () => parseCniEnv({ ...add, CNI_COMMAND: "DEL", CNI_CONTAINERID: "" }),
      CNI_CODE.invalidEnv,
      "CNI_CONTAINERID",
    );
    expectCniError(
      () => parseCniEnv({ ...add, CNI_COMMAND: "DEL", CNI_IFNAME: undefined }),
      CNI_CODE.invalidEnv,
      "CNI_IFNAME",
    );
  });

  it("refuses a container ID Go skel refuses, naming it", () => {
    for (const id of ["-abc", "_abc", ".abc", "ab c", "ab/c", "ab;c"]) {
      expectCniError(
        () => parseCniEnv({ ...add, CNI_CONTAINERID: id }),
        CNI_CODE.invalidEnv,
        `CNI_CONTAINERID=${JSON.stringify(id)}`,
        "must start with a letter or digit",
      );
    }
    expect(parseCniEnv({ ...add, CNI_CONTAINERID: "Ab0_.-z" }).containerId).toBe("Ab0_.-z");
  });

  it("refuses a CNI_IFNAME longer than 15 bytes or otherwise invalid, naming it", () => {
    expect(parseCniEnv({ ...add, CNI_IFNAME: "abcdefghijklmno" }).ifName).toBe("abcdefghijklmno");
    expectCniError(
      () => parseCniEnv({ ...add, CNI_IFNAME: "abcdefghijklmnop" }),
      CNI_CODE.invalidEnv,
      'CNI_IFNAME="abcdefghijklmnop"',
      "16 bytes",
      "at most 15",
    );
    expectCniError(
      () => parseCniEnv({ ...add, CNI_IFNAME: "eth/0" }),
      CNI_CODE.invalidEnv,
      'CNI_IFNAME="eth/0"',
    );
    expectCniError(() => parseCniEnv({ ...add, CNI_IFNAME: ".." }), CNI_CODE.invalidEnv, 'CNI_IFNAME=".."');
  });

  it("needs only the command for VERSION and STATUS, and CNI_PATH for GC", () => {
    const v = parseCniEnv({ CNI_COMMAND: "VERSION" });
    expect(v).toMatchObject({ containerId: "", netns: "", ifName: "", path: [] });
    expect(v.args.size).toBe(0);
    expect(parseCniEnv({ CNI_COMMAND: "STATUS" }).path).toEqual([]);
    expectCniError(() => parseCniEnv({ CNI_COMMAND: "GC" }), CNI_CODE.invalidEnv, "CNI_PATH is not set");
    expect(parseCniEnv({ CNI_COMMAND: "GC", CNI_PATH: "/opt/cni/bin:/x" }).path).toEqual([
      "/opt/cni/bin",
      "/x",
    ]);
  });

  it("refuses malformed CNI_ARGS on an ADD (code 4)", () => {
    expectCniError(() => parseCniEnv({ ...add, CNI_ARGS: "K8S_POD_NAME" }), CNI_CODE.invalidEnv, "CNI_ARGS");
  });

  it("answers VERSION whatever CNI_ARGS holds", () => {
    expect(parseCniEnv({ CNI_COMMAND: "VERSION", CNI_ARGS: "garbage" }).command).toBe("VERSION");
  });
});
