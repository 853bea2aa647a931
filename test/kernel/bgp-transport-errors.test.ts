/**
 * How the BGP transport fails, on the real kernel in namespaces: each failure is a TransportError with the
 * kernel's errno and the reason in words (what `tabby bgp peers` shows), and a slow connect never holds
 * up the event loop (libuv's non-blocking connect; the addon only creates and configures the socket).
 */
import { expect, it } from "vitest";
import { connectTcp, TcpListener, TransportError } from "../../bgp/transport/index.js";
import { isTabbyError } from "../../src/util/errors.js";
import { connectVeth, Netns } from "../harness/netns.js";
import { describeWith } from "../harness/requirements.js";
import { type Scope, testScope } from "../harness/scope.js";
import { eventually } from "../harness/wait.js";
import { closeSocket, nsPath } from "./bgp-transport-helpers.js";

async function pair(scope: Scope): Promise<{ a: Netns; b: Netns }> {
  const a = await Netns.create(scope);
  const b = await Netns.create(scope);
  await connectVeth(
    { ns: a, name: "eth0", addresses: ["10.0.0.1/24", "fd00::1/64"] },
    { ns: b, name: "eth0", addresses: ["10.0.0.2/24", "fd00::2/64"] },
  );
  return { a, b };
}

async function failure(p: Promise<unknown>): Promise<TransportError> {
  const e = await p.then(
    (s) => {
      throw new Error(`expected a failure, got ${String(s)}`);
    },
    (e: unknown) => e,
  );
  if (!(e instanceof TransportError)) throw e;
  expect(isTabbyError(e, "BGP_TRANSPORT")).toBe(true);
  return e;
}

describeWith(["root", "iproute2"], "BGP transport: connect and listen failures, in words", () => {
  it("nothing listening: ECONNREFUSED, IPv4 and IPv6", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    for (const host of ["10.0.0.2", "fd00::2"]) {
      const e = await failure(connectTcp({ host, netnsPath: nsPath(a), timeoutMs: 5000 }));
      expect(e.errno).toBe("ECONNREFUSED");
      expect(e.peer).toBe(host);
      expect(e.port).toBe(179);
      expect(e.operation).toBe("connect");
      expect(e.message).toMatch(new RegExp(`^connect to ${host} port 179: connection refused`));
    }
  });

  it("no route: ENETUNREACH, IPv4 and IPv6", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    for (const host of ["192.0.2.1", "2001:db8::1"]) {
      const e = await failure(connectTcp({ host, netnsPath: nsPath(a), timeoutMs: 5000 }));
      expect(e.errno).toBe("ENETUNREACH");
      expect(e.reason).toMatch(/^network unreachable/);
    }
  });

  it("a neighbour that never answers: EHOSTUNREACH from the kernel, while the event loop keeps running", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    let ticks = 0;
    let settled = false;
    let ticksBeforeSettled = 0;
    const timer = setInterval(() => {
      ticks++;
      if (!settled) ticksBeforeSettled++;
    }, 10);
    scope.defer("stop the ticker", () => clearInterval(timer));
    // ARP for 10.0.0.99 fails after the kernel's solicitations (seconds); the connect is pending all along.
    const pending = connectTcp({ host: "10.0.0.99", netnsPath: nsPath(a), timeoutMs: 20_000 }).finally(() => {
      settled = true;
    });
    const e = await failure(pending);
    expect(e.errno).toBe("EHOSTUNREACH");
    expect(e.reason).toMatch(/^no route to host/);
    expect(ticksBeforeSettled).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThanOrEqual(ticksBeforeSettled);
  });

  it("timeoutMs and AbortSignal end a pending connect (ETIMEDOUT, ECANCELED) and close its socket", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    const t = await failure(connectTcp({ host: "10.0.0.99", netnsPath: nsPath(a), timeoutMs: 200 }));
    expect(t.errno).toBe("ETIMEDOUT");
    expect(t.message).toMatch(/connection timed out \[ETIMEDOUT\]$/);

    const ac = new AbortController();
    const pending = connectTcp({ host: "fd00::99", netnsPath: nsPath(a), signal: ac.signal });
    setImmediate(() => ac.abort());
    const c = await failure(pending);
    expect(c.errno).toBe("ECANCELED");
    expect(c.reason).toBe("cancelled");
    await expect(
      connectTcp({ host: "10.0.0.2", netnsPath: nsPath(a), signal: ac.signal }),
    ).rejects.toMatchObject({
      errno: "ECANCELED",
    });
    // Nothing of ours is left in SYN-SENT.
    await eventually(async () => !(await a.exec("ss", ["-tanH", "state", "syn-sent"])).stdout.trim(), {
      what: "no half-open connects in our namespace",
    });
  });

  it("source address: EADDRNOTAVAIL when it is not on this host; bound when it is; family mismatch refused", async () => {
    const scope = testScope();
    const { a, b } = await pair(scope);
    const e = await failure(connectTcp({ host: "10.0.0.2", localAddress: "10.9.9.9", netnsPath: nsPath(a) }));
    expect(e.errno).toBe("EADDRNOTAVAIL");
    expect(e.message).toMatch(/local address not available .*binding local address 10\.9\.9\.9/);

    const mismatch = await failure(
      connectTcp({ host: "10.0.0.2", localAddress: "fd00::1", netnsPath: nsPath(a) }),
    );
    expect(mismatch.errno).toBe("EINVAL");
    expect(mismatch.message).toMatch(/local address fd00::1 is IPv6, the peer is IPv4/);

    const listener = await TcpListener.listen({ host: "::", port: 0, netnsPath: nsPath(b) });
    scope.defer("close listener", () => listener.close());
    const seen: string[] = [];
    listener.onConnection((s, info) => {
      seen.push(`${info.remoteAddress}:${info.remotePort}`);
      scope.defer("close accepted", () => closeSocket(s));
    });
    for (const [host, local] of [
      ["10.0.0.2", "10.0.0.1"],
      ["fd00::2", "fd00::1"],
    ] as const) {
      const s = await connectTcp({
        host,
        port: listener.port,
        localAddress: local,
        localPort: 40179,
        netnsPath: nsPath(a),
      });
      scope.defer("close client", () => closeSocket(s));
      expect(s.localAddress).toBe(local);
      expect(s.localPort).toBe(40179);
    }
    await eventually(() => seen.length === 2, { what: "both connections accepted" });
    expect(seen.sort()).toEqual(["10.0.0.1:40179", "fd00::1:40179"]);
  });

  it("bad input and bad namespaces are named", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    const notIp = await failure(connectTcp({ host: "bgp.example", netnsPath: nsPath(a) }));
    expect(notIp.errno).toBe("EINVAL");
    expect(notIp.message).toMatch(/not an IP address/);
    const longKey = await failure(
      connectTcp({ host: "10.0.0.2", md5Key: "x".repeat(81), netnsPath: nsPath(a) }),
    );
    expect(longKey.errno).toBe("EINVAL");
    expect(longKey.operation).toBe("set-md5-key");
    const noNs = await failure(
      connectTcp({ host: "10.0.0.2", netnsPath: "/run/netns/tabbyt-does-not-exist" }),
    );
    expect(noNs.errno).toBe("ENOENT");
    expect(noNs.reason).toBe("no such network namespace");
    await expect(connectTcp({ host: "10.0.0.2", ttl: 0, netnsPath: nsPath(a) })).rejects.toThrow(RangeError);
  });

  it("listen: EADDRINUSE for a taken port, EADDRNOTAVAIL for an address not on this host", async () => {
    const scope = testScope();
    const { a } = await pair(scope);
    const first = await TcpListener.listen({ host: "10.0.0.1", port: 0, netnsPath: nsPath(a) });
    scope.defer("close listener", () => first.close());
    const inUse = await failure(
      TcpListener.listen({ host: "10.0.0.1", port: first.port, netnsPath: nsPath(a) }),
    );
    expect(inUse.errno).toBe("EADDRINUSE");
    expect(inUse.message).toMatch(
      new RegExp(`^listen on 10\\.0\\.0\\.1 port ${first.port}: address already in use`),
    );
    const notHere = await failure(TcpListener.listen({ host: "10.9.9.9", netnsPath: nsPath(a) }));
    expect(notHere.errno).toBe("EADDRNOTAVAIL");
    // After close the port is free again (SO_REUSEADDR, and Node closed the fd).
    await first.close();
    const again = await TcpListener.listen({ host: "10.0.0.1", port: first.port, netnsPath: nsPath(a) });
    await again.close();
  });
});
