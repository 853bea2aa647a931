import { describe, expect, it } from "vitest";
import {
  type CniCallInput,
  type CniCallOutput,
  cniCall,
  isIpamRole,
  pluginLogger,
} from "../../../src/cni/call.js";
import { CNI_CODE } from "../../../src/cni/errors.js";
import { parseNetConf } from "../../../src/cni/netconf.js";
import { SUPPORTED_VERSIONS } from "../../../src/cni/result.js";
import { createLogger } from "../../../src/util/logger.js";

const utf8 = new TextEncoder();
const add = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "0123abcd",
  CNI_NETNS: "/var/run/netns/cni-1",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin",
};
const input = (env: Record<string, string | undefined>, stdin: string | Uint8Array, role = "tabby-cni") =>
  ({ role, env, stdin: typeof stdin === "string" ? utf8.encode(stdin) : stdin }) satisfies CniCallInput;

/** A logger that keeps its lines, so no test writes to stderr or a file. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: "info",
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { logger, lines };
}

/** The one JSON document on stdout; it must end in a newline. */
function stdoutJson(out: CniCallOutput): Record<string, unknown> {
  expect(out.stdout.endsWith("\n")).toBe(true);
  expect(out.stdout.trimEnd().includes("\n")).toBe(false);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}

describe("isIpamRole", () => {
  it("is true for the IPAM plugin's names only", () => {
    expect(isIpamRole("tabby-ipam")).toBe(true);
    expect(isIpamRole("calico-ipam")).toBe(true);
    for (const r of [
      "tabby-cni",
      "calico",
      "host-local",
      "",
      "tabby-ipam2",
      "xcalico-ipam",
      "calico-ipam ",
    ]) {
      expect(isIpamRole(r), JSON.stringify(r)).toBe(false);
    }
  });
});

describe("cniCall VERSION", () => {
  it("answers with the config's cniVersion and the supported list, exit 0", async () => {
    const out = await cniCall(input({ CNI_COMMAND: "VERSION" }, '{"cniVersion":"0.4.0"}'));
    expect(out.code).toBe(0);
    expect(stdoutJson(out)).toEqual({ cniVersion: "0.4.0", supportedVersions: [...SUPPORTED_VERSIONS] });
  });

  it("needs no valid config: unparseable or empty stdin answers in 1.0.0", async () => {
    for (const stdin of ["", "not json", "null", '{"cniVersion": 4}', '{"cniVersion": ""}']) {
      const out = await cniCall(input({ CNI_COMMAND: "VERSION" }, stdin));
      expect(out.code, stdin).toBe(0);
      expect(stdoutJson(out).cniVersion, stdin).toBe("1.0.0");
    }
  });

  it("answers the same for the IPAM role", async () => {
    const out = await cniCall(input({ CNI_COMMAND: "VERSION" }, '{"cniVersion":"1.1.0"}', "calico-ipam"));
    expect(out.code).toBe(0);
    expect(stdoutJson(out)).toMatchObject({ cniVersion: "1.1.0" });
  });
});

describe("cniCall errors before any datastore is touched", () => {
  it("makes stdin that is not UTF-8 code 6 in a 1.0.0 error result, exit 1", async () => {
    const out = await cniCall(input(add, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])));
    expect(out.code).toBe(1);
    expect(stdoutJson(out)).toMatchObject({
      cniVersion: "1.0.0",
      code: CNI_CODE.decode,
      msg: "network config on stdin is not valid UTF-8",
    });
  });

  it("makes malformed JSON code 6, answered in 1.0.0", async () => {
    const out = await cniCall(input(add, '{"cniVersion":"0.4.0",'));
    expect(out.code).toBe(1);
    const r = stdoutJson(out);
    expect(r).toMatchObject({ cniVersion: "1.0.0", code: CNI_CODE.decode });
    expect(String(r.msg)).toContain("not valid JSON");
    expect(typeof r.details).toBe("string");
  });

  it("makes a bad environment code 4 naming the variable, in the config's cniVersion", async () => {
    const conf = '{"cniVersion":"0.3.1","name":"k8s-pod-network","type":"calico"}';
    const cases: [Record<string, string | undefined>, string][] = [
      [{}, "CNI_COMMAND"],
      [{ ...add, CNI_COMMAND: "add" }, "CNI_COMMAND"],
      [{ ...add, CNI_CONTAINERID: undefined }, "CNI_CONTAINERID"],
      [{ ...add, CNI_NETNS: "" }, "CNI_NETNS"],
      [{ ...add, CNI_IFNAME: "a-very-long-ifname" }, "CNI_IFNAME"],
      [{ ...add, CNI_ARGS: "K8S_POD_NAME" }, "CNI_ARGS"],
    ];
    for (const [env, name] of cases) {
      const out = await cniCall(input(env, conf));
      expect(out.code, name).toBe(1);
      const r = stdoutJson(out);
      expect(r, name).toMatchObject({ cniVersion: "0.3.1", code: CNI_CODE.invalidEnv });
      expect(String(r.msg)).toContain(name);
    }
  });

  it("makes a config without a name code 7, in the config's cniVersion", async () => {
    const out = await cniCall(input(add, '{"cniVersion":"0.4.0","type":"calico"}'));
    expect(out.code).toBe(1);
    expect(stdoutJson(out)).toMatchObject({ cniVersion: "0.4.0", code: CNI_CODE.invalidConfig });
  });

  it("makes a non-string cniVersion code 7, answered in 1.0.0", async () => {
    const out = await cniCall(input(add, '{"cniVersion":1,"name":"n"}'));
    const r = stdoutJson(out);
    expect(r).toMatchObject({ cniVersion: "1.0.0", code: CNI_CODE.invalidConfig });
    expect(String(r.msg)).toContain("cniVersion");
  });

  it("makes an unsupported cniVersion code 1 for every verb and both roles, and logs it", async () => {
    for (const role of ["tabby-cni", "tabby-ipam"]) {
      for (const CNI_COMMAND of ["ADD", "DEL", "CHECK"]) {
        const { logger, lines } = memoryLogger();
        const out = await cniCall(
          input({ ...add, CNI_COMMAND }, '{"cniVersion":"0.2.0","name":"k8s-pod-network"}', role),
          { logger },
        );
        const what = `${role} ${CNI_COMMAND}`;
        expect(out.code, what).toBe(1);
        const r = stdoutJson(out);
        expect(r, what).toMatchObject({ cniVersion: "0.2.0", code: CNI_CODE.incompatibleVersion });
        expect(String(r.msg)).toContain('"0.2.0"');
        expect(String(r.details)).toContain("1.1.0");
        expect(
          lines.some((l) => l.level === "error" && l.code === CNI_CODE.incompatibleVersion),
          what,
        ).toBe(true);
      }
    }
  });

  it("makes a missing cniVersion code 1, answered in 1.0.0", async () => {
    const { logger } = memoryLogger();
    const out = await cniCall(input(add, '{"name":"k8s-pod-network"}'), { logger });
    expect(stdoutJson(out)).toMatchObject({
      cniVersion: "1.0.0",
      code: CNI_CODE.incompatibleVersion,
      msg: "network config: cniVersion is missing",
    });
  });
});

describe("pluginLogger", () => {
  const conf = (extra: Record<string, unknown>) => parseNetConf({ cniVersion: "1.0.0", name: "n", ...extra });

  it("takes the config's log_level, mapping Calico's 'warning' to pino's 'warn'", () => {
    expect(pluginLogger(undefined).level).toBe("info");
    expect(pluginLogger(conf({})).level).toBe("info");
    expect(pluginLogger(conf({ log_level: "DEBUG" })).level).toBe("debug");
    expect(pluginLogger(conf({ log_level: "Warning" })).level).toBe("warn");
    expect(pluginLogger(conf({ log_level: "error" })).level).toBe("error");
  });

  it("falls back to info for a level pino does not know", () => {
    expect(pluginLogger(conf({ log_level: "verbose" })).level).toBe("info");
  });
});
