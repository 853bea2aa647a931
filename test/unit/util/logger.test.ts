import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { childLogger, createLogger } from "../../../src/util/logger.js";

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe("logger", () => {
  it("writes JSON lines with level names and the component and peer of a child", () => {
    const out = capture();
    const log = createLogger({ level: "debug", name: "tabby-test", destination: out.stream });
    const peerLog = childLogger(log, { component: "bgp", peer: "10.0.0.2" });
    peerLog.info({ state: "Established" }, "session established");
    peerLog.trace("not written at debug");
    const [line] = out.lines();
    expect(out.lines()).toHaveLength(1);
    expect(line).toMatchObject({
      level: "info",
      name: "tabby-test",
      component: "bgp",
      peer: "10.0.0.2",
      state: "Established",
      msg: "session established",
    });
    expect(typeof line?.time).toBe("string");
  });

  it("refuses an unknown level by name", () => {
    expect(() => createLogger({ level: "verbose" })).toThrow(/unknown log level "verbose"/);
  });
});
