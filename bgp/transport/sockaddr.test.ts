// Byte-exact encodings of the setsockopt/bind values, against the x86-64 / glibc layouts (the addon's
// constants are checked against the same table when it is built on such a machine).
import { existsSync } from "node:fs";
import { arch } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { describeErrno, TransportError } from "./errors.js";
import { loadNative } from "./native.js";
import {
  encodeSockaddr,
  encodeTcpMd5sig,
  mapIpv4,
  parseAddress,
  type SockaddrLayout,
  unmapIpv4,
} from "./sockaddr.js";

const X86_64: SockaddrLayout = {
  AF_INET: 2,
  AF_INET6: 10,
  TCP_MD5SIG_MAXKEYLEN: 80,
  sizeofSockaddrIn: 16,
  sizeofSockaddrIn6: 28,
  sizeofSaFamily: 2,
  offsetofSinPort: 2,
  offsetofSinAddr: 4,
  offsetofSin6Port: 2,
  offsetofSin6Addr: 8,
  offsetofSin6ScopeId: 24,
  sizeofTcpMd5sig: 216,
  offsetofTcpmAddr: 0,
  offsetofTcpmKeylen: 130,
  offsetofTcpmKey: 136,
};

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("sockaddr encoding", () => {
  it("sockaddr_in: family in host order, port and address in network order", () => {
    expect(hex(encodeSockaddr("10.0.0.2", 179, X86_64, true))).toBe("020000b30a0000020000000000000000");
  });

  it("sockaddr_in6 with a numeric scope", () => {
    expect(hex(encodeSockaddr("fe80::1%3", 179, X86_64, true))).toBe(
      `0a0000b3` + `00000000` + `fe800000000000000000000000000001` + `03000000`,
    );
    expect(hex(encodeSockaddr("fd00::2", 0, X86_64, false))).toBe(
      `000a0000` + `00000000` + `fd000000000000000000000000000002` + `00000000`,
    );
  });

  it("tcp_md5sig: address, key length, key; an empty key deletes", () => {
    const v = encodeTcpMd5sig("::ffff:10.0.0.2", new TextEncoder().encode("s3cret"), X86_64, true);
    expect(v.length).toBe(216);
    expect(hex(v.subarray(0, 28))).toBe(
      `0a000000` + `00000000` + `00000000000000000000ffff0a000002` + `00000000`,
    );
    expect(hex(v.subarray(130, 132))).toBe("0600");
    expect(Buffer.from(v.subarray(136, 142)).toString()).toBe("s3cret");
    expect(v.subarray(142).every((x) => x === 0)).toBe(true);
    const del = encodeTcpMd5sig("10.0.0.2", new Uint8Array(0), X86_64, true);
    expect(hex(del.subarray(0, 8))).toBe("020000000a000002");
    expect(hex(del.subarray(130, 132))).toBe("0000");
    expect(() => encodeTcpMd5sig("10.0.0.2", new Uint8Array(81), X86_64, true)).toThrow(RangeError);
  });

  it("refuses what is not an IP literal", () => {
    expect(parseAddress("bgp.example")).toBeUndefined();
    expect(parseAddress("10.0.0.256")).toBeUndefined();
    expect(parseAddress("fe80::1%eth0")).toBeUndefined();
    expect(() => encodeSockaddr("10.0.0", 179, X86_64, true)).toThrow(/not an IP address/);
    expect(() => encodeSockaddr("10.0.0.1", 65536, X86_64, true)).toThrow(RangeError);
  });

  it("maps and unmaps IPv4 for dual-stack sockets", () => {
    expect(unmapIpv4("::ffff:10.0.0.2")).toBe("10.0.0.2");
    expect(unmapIpv4("::FFFF:10.0.0.2")).toBe("10.0.0.2");
    expect(unmapIpv4("fd00::2")).toBe("fd00::2");
    expect(unmapIpv4("10.0.0.2")).toBe("10.0.0.2");
    expect(mapIpv4("10.0.0.2")).toBe("::ffff:10.0.0.2");
  });
});

const built = existsSync(fileURLToPath(new URL("../native/build/Release/tabby_tcp.node", import.meta.url)));

describe.runIf(built && arch() === "x64")("native constants (this machine's headers)", () => {
  it("match the layouts the encoders are tested with", () => {
    const c = loadNative().constants;
    for (const [k, v] of Object.entries(X86_64)) expect(c[k as keyof SockaddrLayout], k).toBe(v);
    expect(c.TCP_MD5SIG).toBe(14);
    expect(c.IP_MINTTL).toBe(21);
    expect(c.IPV6_MINHOPCOUNT).toBe(73);
  });
});

describe("TransportError", () => {
  it("is a branded tabby error with the failure in words", () => {
    const e = new TransportError("ECONNREFUSED", "10.0.0.2", "connect", { port: 179 });
    expect((e as unknown as Record<symbol, unknown>)[Symbol.for("tabby.error")]).toBe(true);
    expect(e.code).toBe("BGP_TRANSPORT");
    expect(e.errno).toBe("ECONNREFUSED");
    expect(e.peer).toBe("10.0.0.2");
    expect(e.port).toBe(179);
    expect(e.message).toMatch(/^connect to 10\.0\.0\.2 port 179: connection refused .*\[ECONNREFUSED\]$/);
    expect(e.reason).toMatch(/^connection refused/);
  });

  it("suspects an MD5 mismatch when a keyed connect times out", () => {
    expect(describeErrno("ETIMEDOUT", "connect", true)).toMatch(/MD5 signature mismatch suspected/);
    expect(describeErrno("ETIMEDOUT", "connect", false)).toBe("connection timed out");
    expect(describeErrno("EWEIRD", "connect", false)).toBe("failed with EWEIRD");
  });
});
