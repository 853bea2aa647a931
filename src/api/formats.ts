/**
 * The string formats Calico's validator names in struct tags (libcalico-go/lib/validator/v3/validator.go:
 * `net`, `cidr`, `ipv4`, `IP:port`, `selector`, `mac`, `name`, `interface`, ...), as a table from format
 * name to check. A check returns the value to store (normally as written) or the rule it breaks. Pure.
 */
import { checkResourceName } from "./names.js";
import { type Cidr, formatCidr, type IpFamily, isMasked, parseCidrOrIp, parseIp } from "./net.js";
import { SelectorSyntaxError } from "./selector/errors.js";
import { parseSelector } from "./selector/parse.js";

export type CheckResult = string | { readonly rule: string };

const INTERFACE = /^[a-zA-Z0-9_.-]{1,15}$/;
const WILDCARD_INTERFACE = /^[a-zA-Z0-9_.*-]{1,15}$/;
const CONTAINER_ID = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const STANDARD_COMMUNITY = /^(\d+):(\d+)$/;
const LARGE_COMMUNITY = /^(\d+):(\d+):(\d+)$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function network(family: IpFamily | undefined, strict: boolean) {
  return (v: string): CheckResult => {
    const c = parseCidrOrIp(v);
    const fam = family === undefined ? "IP" : `IPv${family}`;
    if (c === undefined) return { rule: `must be an ${fam} CIDR such as ${example(family)}` };
    if (family !== undefined && c.family !== family)
      return { rule: `must be an ${fam} CIDR, not IPv${c.family}` };
    if (strict && !isMasked(c))
      return { rule: `must be a network address with the host bits zero (${hint(c)})` };
    return v;
  };
}

function example(family: IpFamily | undefined): string {
  return family === 6 ? "fd00:10::/64" : "10.0.0.0/16";
}

function hint(c: Cidr): string {
  return `did you mean ${formatCidr(c)}?`;
}

function ip(family: IpFamily | undefined) {
  return (v: string): CheckResult => {
    const a = parseIp(v);
    if (a === undefined)
      return { rule: `must be an ${family === undefined ? "IP" : `IPv${family}`} address` };
    if (family !== undefined && a.family !== family) return { rule: `must be an IPv${family} address` };
    return v;
  };
}

/** `a.b.c.d`, `a.b.c.d:port` or `[v6]:port` (validator.go processIPPort); the port is 1..65535. */
export function parseIpPort(v: string): { ip: string; port?: number } | undefined {
  let host = v;
  let port: number | undefined;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(v);
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(v);
  const m = v4 ?? v6;
  if (m !== null) {
    host = m[1]!;
    port = Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  }
  if (parseIp(host) === undefined) return undefined;
  return port === undefined ? { ip: host } : { ip: host, port };
}

function macCheck(v: string): CheckResult {
  // Go net.ParseMAC: 6, 8 or 20 octets as xx:xx.., xx-xx-.. or xxxx.xxxx...
  const colon = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2})*$/;
  const dotted = /^[0-9a-fA-F]{4}(\.[0-9a-fA-F]{4})*$/;
  const octets = colon.test(v) ? (v.length + 1) / 3 : dotted.test(v) ? ((v.length + 1) / 5) * 2 : 0;
  return octets === 6 || octets === 8 || octets === 20
    ? v
    : { rule: "must be a MAC address such as 66:0a:b3:1f:2c:9d" };
}

/** `aa:nn` with 16-bit parts or `aa:nn:mm` with 32-bit parts (validator.go isValidCommunity). */
export function checkCommunity(v: string): string | undefined {
  const std = STANDARD_COMMUNITY.exec(v);
  const large = LARGE_COMMUNITY.exec(v);
  if (std === null && large === null) return "must be a community aa:nn or a large community aa:nn:mm";
  const max = std !== null ? 0xffff : 0xffff_ffff;
  const parts = (std ?? large)!.slice(1).map(Number);
  if (parts.some((p) => p > max)) {
    return std !== null
      ? "standard community parts must be 16-bit (0..65535)"
      : "large community parts must be 32-bit (0..4294967295)";
  }
  return undefined;
}

/** k8s IsValidPortName (IANA service name). */
function portName(v: string): CheckResult {
  const ok =
    v.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) && /[a-z]/.test(v) && !v.includes("--");
  return ok
    ? v
    : {
        rule: "must be at most 15 lower-case alphanumerics or '-', contain a letter, and not start, end or double '-'",
      };
}

export const formatChecks = {
  /** A CIDR or bare address, host bits allowed (`cidr`). */
  cidr: network(undefined, false),
  cidrv4: network(4, false),
  cidrv6: network(6, false),
  /** A strictly masked network or bare address (`net`). */
  net: network(undefined, true),
  netv4: network(4, true),
  netv6: network(6, true),
  ip: ip(undefined),
  ipv4: ip(4),
  ipv6: ip(6),
  ipPort: (v: string): CheckResult =>
    parseIpPort(v) !== undefined ? v : { rule: "must be an IP address, <IPv4>:<port> or [<IPv6>]:<port>" },
  selector: (v: string): CheckResult => {
    try {
      parseSelector(v);
      return v;
    } catch (e) {
      if (e instanceof SelectorSyntaxError) return { rule: `selector syntax: ${e.rule}` };
      throw e;
    }
  },
  mac: macCheck,
  name: (v: string): CheckResult => {
    const bad = checkResourceName(v);
    return bad === undefined ? v : { rule: bad };
  },
  interface: (v: string): CheckResult =>
    v === "*" || INTERFACE.test(v) ? v : { rule: "must be an interface name: 1..15 of [a-zA-Z0-9_.-]" },
  bgpFilterInterface: (v: string): CheckResult =>
    WILDCARD_INTERFACE.test(v) ? v : { rule: "must be an interface name or glob: 1..15 of [a-zA-Z0-9_.*-]" },
  ignoredInterface: (v: string): CheckResult =>
    v !== "*" && WILDCARD_INTERFACE.test(v)
      ? v
      : { rule: 'must be an interface name or glob of 1..15 of [a-zA-Z0-9_.*-], and not just "*"' },
  containerID: (v: string): CheckResult =>
    CONTAINER_ID.test(v) ? v : { rule: "must be alphanumerics and '-', starting and ending alphanumeric" },
  portName,
  community: (v: string): CheckResult => {
    const bad = checkCommunity(v);
    return bad === undefined ? v : { rule: bad };
  },
  dateTime: (v: string): CheckResult =>
    RFC3339.test(v) && !Number.isNaN(Date.parse(v))
      ? v
      : { rule: "must be an RFC 3339 time such as 2026-01-01T00:00:00Z" },
} satisfies Record<string, (v: string) => CheckResult>;

export type FormatName = keyof typeof formatChecks;
