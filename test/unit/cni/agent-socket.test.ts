import { describe, expect, it } from "vitest";
import { parseShimRequest, serialiser } from "../../../src/cni/agent-socket.js";
import type { CniCallInput } from "../../../src/cni/call.js";

const CONF = '{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"tabby-cni"}';

/** A request as the shim frames it (src/cni/shim/tabby-cni.c). */
function frame(role: string, env: Record<string, string>, stdin: string): Buffer {
  const body = Buffer.from(stdin, "utf8");
  const head = [
    "tabby-cni 1",
    `role ${role}`,
    ...Object.entries(env).map(([k, v]) => `env ${k}=${v}`),
    `stdin ${body.length}`,
    "",
  ].join("\n");
  return Buffer.concat([Buffer.from(head, "utf8"), body]);
}

const parsed = (buf: Buffer): CniCallInput => {
  const r = parseShimRequest(buf);
  if (r === undefined || r instanceof Error) throw new Error(`expected a request, got ${String(r)}`);
  return r;
};
const refusal = (buf: Buffer | string): string => {
  const r = parseShimRequest(typeof buf === "string" ? Buffer.from(buf) : buf);
  expect(r).toBeInstanceOf(Error);
  return (r as Error).message;
};

describe("parseShimRequest", () => {
  it("reads role, CNI_* environment and stdin", () => {
    const env = {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "0123abcd",
      CNI_NETNS: "/var/run/netns/cni-1",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web",
    };
    const r = parsed(frame("calico-ipam", env, CONF));
    expect(r.role).toBe("calico-ipam");
    expect(r.env).toEqual(env);
    expect(r.stdin).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(r.stdin)).toBe(CONF);
  });

  it("defaults the role to tabby-cni and keeps '=' and UTF-8 inside env values", () => {
    const buf = Buffer.from("tabby-cni 1\nenv CNI_ARGS=IP=10.0.0.5;X=é\nstdin 2\n{}");
    const r = parsed(buf);
    expect(r.role).toBe("tabby-cni");
    expect(r.env).toEqual({ CNI_ARGS: "IP=10.0.0.5;X=é" });
    expect(new TextDecoder().decode(r.stdin)).toBe("{}");
  });

  it("counts stdin in bytes and ignores what follows it", () => {
    const body = "ü".repeat(3); // 6 bytes
    const buf = Buffer.concat([frame("tabby-cni", {}, body), Buffer.from("trailing")]);
    expect(new TextDecoder().decode(parsed(buf).stdin)).toBe(body);
    expect(parsed(Buffer.from("tabby-cni 1\nstdin 0\n")).stdin.length).toBe(0);
  });

  it("copies stdin out of the connection's buffer", () => {
    const buf = frame("tabby-cni", {}, CONF);
    const r = parsed(buf);
    buf.fill(0);
    expect(new TextDecoder().decode(r.stdin)).toBe(CONF);
  });

  it("waits (undefined) until the header line and all stdin bytes have arrived", () => {
    const whole = frame("tabby-cni", { CNI_COMMAND: "ADD" }, CONF);
    for (const cut of [0, 5, 11, 12, 30, whole.length - CONF.length, whole.length - 1]) {
      expect(parseShimRequest(whole.subarray(0, cut)), `first ${cut} bytes`).toBeUndefined();
    }
    expect(parsed(whole).env).toEqual({ CNI_COMMAND: "ADD" });
  });

  it("refuses a stream that is not a tabby-cni request, quoting its start", () => {
    expect(refusal("GET / HTTP/1.1\r\n")).toContain("not a tabby-cni request");
    expect(refusal("GET / HTTP/1.1\r\n")).toContain("GET / HTTP/1.1");
    expect(refusal("tabby-cni 2\n")).toContain('"tabby-cni 2"');
    // Only the first 40 characters are quoted.
    expect(refusal(`${"x".repeat(100)}\n`)).not.toContain("x".repeat(41));
  });

  it("refuses unknown lines and env lines without NAME=", () => {
    expect(refusal("tabby-cni 1\nargv x\n")).toBe('unknown request line "argv"');
    expect(refusal("tabby-cni 1\n\n")).toBe('unknown request line ""');
    expect(refusal("tabby-cni 1\nenv CNI_COMMAND\n")).toBe('bad env line "CNI_COMMAND"');
    expect(refusal("tabby-cni 1\nenv =ADD\n")).toBe('bad env line "=ADD"');
  });

  it("refuses a stdin length that is negative, fractional, not a number or over 16 MiB", () => {
    for (const n of ["-1", "1.5", "abc", String(16 * 1024 * 1024 + 1)]) {
      expect(refusal(`tabby-cni 1\nstdin ${n}\n`)).toBe(`bad stdin length ${JSON.stringify(n)}`);
    }
  });

  it("refuses a header line longer than 64 KiB instead of buffering it", () => {
    const long = Buffer.from(`tabby-cni 1\nenv CNI_ARGS=${"a".repeat(64 * 1024 + 1)}`);
    expect(refusal(long)).toBe("request header too long");
    // Under the limit it still waits for the newline.
    expect(parseShimRequest(Buffer.from(`tabby-cni 1\nenv CNI_ARGS=${"a".repeat(1000)}`))).toBeUndefined();
  });

  it("refuses a header of many short lines that exceeds 64 KiB in total", () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `env CNI_X${i}=${"v".repeat(20)}`).join("\n");
    const buf = Buffer.from(`tabby-cni 1\n${lines}\n`);
    expect(buf.length).toBeGreaterThan(64 * 1024);
    expect(parseShimRequest(buf)).toBeInstanceOf(Error);
  });

  it("refuses a stdin length that is empty or not plain decimal", () => {
    for (const n of ["", "0x2", "2e0", " 2"]) {
      expect(parseShimRequest(Buffer.from(`tabby-cni 1\nstdin ${n}\n{}`)), JSON.stringify(n)).toBeInstanceOf(
        Error,
      );
    }
  });
});

/** A promise with its resolve/reject handles, so the test decides when work finishes (no sleeps). */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
/** Lets every queued promise callback run. */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("serialiser", () => {
  it("starts each function only after the one before it has settled", async () => {
    const run = serialiser();
    const log: string[] = [];
    const a = deferred<string>();
    const b = deferred<string>();
    const pa = run(() => {
      log.push("a start");
      return a.promise;
    });
    const pb = run(() => {
      log.push("b start");
      return b.promise;
    });
    const pc = run(async () => {
      log.push("c start");
      return "c";
    });
    await settle();
    expect(log).toEqual(["a start"]);
    a.resolve("a");
    expect(await pa).toBe("a");
    await settle();
    expect(log).toEqual(["a start", "b start"]);
    b.resolve("b");
    expect(await pb).toBe("b");
    expect(await pc).toBe("c");
    expect(log).toEqual(["a start", "b start", "c start"]);
  });

  it("hands each caller its own rejection and carries on with the next function", async () => {
    const run = serialiser();
    const a = deferred<number>();
    const pa = run(() => a.promise);
    const pb = run(async () => 2);
    a.reject(new Error("block conflict"));
    await expect(pa).rejects.toThrow("block conflict");
    expect(await pb).toBe(2);
    // A function that throws synchronously rejects its own call only.
    const pc = run(() => {
      throw new Error("sync");
    });
    await expect(pc).rejects.toThrow("sync");
    expect(await run(async () => "after")).toBe("after");
  });

  it("keeps separate serialisers independent", async () => {
    const one = serialiser();
    const two = serialiser();
    const blocked = deferred<void>();
    void one(() => blocked.promise);
    let ran = false;
    await two(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    blocked.resolve();
  });
});
