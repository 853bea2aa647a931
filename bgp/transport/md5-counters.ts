/**
 * What the kernel counts about TCP MD5 (RFC 2385) drops, from /proc/net/netstat's TcpExt line:
 * TCPMD5Failure (a signature that did not verify), TCPMD5NotFound (a signature required but absent),
 * TCPMD5Unexpected (a signature where we have no key). A peer with a different key, or none, drops
 * our segments without a reply, so these counters are the only evidence of a mismatch on this side.
 * The counters are per network namespace, not per peer. In another namespace (a lab node, a test) the
 * file is read through `nsenter --net`, which needs root, as those namespaces do anyway.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Md5Counters {
  readonly failure: number;
  readonly notFound: number;
  readonly unexpected: number;
}

/** The TcpExt counters of /proc/net/netstat (a header line of names, then a line of values). Pure. */
export function parseNetstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.trim().split(/\s+/);
    const values = lines[i + 1]!.trim().split(/\s+/);
    if (names[0] !== values[0] || names[0] === undefined || !names[0].endsWith(":")) continue;
    const prefix = names[0].slice(0, -1);
    for (let j = 1; j < names.length; j++) {
      const v = Number(values[j]);
      if (Number.isFinite(v)) out.set(`${prefix}${names[j]}`, v);
    }
  }
  return out;
}

export function md5CountersOf(text: string): Md5Counters | undefined {
  const c = parseNetstat(text);
  const failure = c.get("TcpExtTCPMD5Failure");
  if (failure === undefined) return undefined;
  return {
    failure,
    notFound: c.get("TcpExtTCPMD5NotFound") ?? 0,
    unexpected: c.get("TcpExtTCPMD5Unexpected") ?? 0,
  };
}

/** This namespace's counters, or those of the namespace at `netnsPath`; undefined when unreadable. */
export function readMd5Counters(netnsPath?: string): Md5Counters | undefined {
  try {
    const text =
      netnsPath === undefined
        ? readFileSync("/proc/net/netstat", "utf8")
        : execFileSync("nsenter", [`--net=${netnsPath}`, "cat", "/proc/net/netstat"], {
            encoding: "utf8",
            timeout: 1000,
            stdio: ["ignore", "pipe", "ignore"],
          });
    return md5CountersOf(text);
  } catch {
    return undefined;
  }
}

/**
 * A per-session view: each call gives what was counted since the previous one; the first call only
 * takes the baseline (so nothing is read until a connect goes unanswered). Undefined when there is no
 * baseline yet or the counters cannot be read.
 */
export function md5DropTracker(
  read: () => Md5Counters | undefined,
): () => { wrong: number; missing: number; unexpected: number } | undefined {
  let last: Md5Counters | undefined;
  return () => {
    const now = read();
    if (now === undefined) return undefined;
    const before = last;
    last = now;
    if (before === undefined) return undefined;
    return {
      wrong: now.failure - before.failure,
      missing: now.notFound - before.notFound,
      unexpected: now.unexpected - before.unexpected,
    };
  };
}
