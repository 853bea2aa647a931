// BGP roles and Only to Customer (RFC 9234): the capability check, OTC on the wire, ingress and egress.
import { describe, expect, it } from "vitest";
import type { PathAttribute } from "../../../bgp/codec/attributes.js";
import { decodeUpdate, encodeUpdate } from "../../../bgp/codec/update.js";
import { exportPath } from "../../../bgp/rib/export.js";
import { Path } from "../../../bgp/rib/loc-rib.js";
import { keyFromString } from "../../../bgp/rib/prefix-key.js";
import { otcEgress, otcIngress, type Role, roleMismatch } from "../../../bgp/rib/roles.js";
import { buildOpen, negotiate } from "../../../bgp/session/negotiate.js";
import { attrs, peer } from "./rib/helpers.js";

const ORIGIN: PathAttribute = { kind: "origin", code: 1, flags: 0x40, origin: 0 };
const otc = (asn: number): PathAttribute => ({ kind: "otc", code: 35, flags: 0xc0, asn });
const otcOf = (a: readonly PathAttribute[] | undefined) => a?.find((x) => x.kind === "otc");

describe("role pairs (RFC 9234 §4.2)", () => {
  it.each<[Role, number[], boolean, string | undefined]>([
    ["customer", [0], false, undefined],
    ["provider", [3], false, undefined],
    ["rs-server", [2], false, undefined],
    ["rs-client", [1], false, undefined],
    ["peer", [4], false, undefined],
    ["customer", [3], false, "role mismatch: we are customer, the peer says customer (expected provider)"],
    ["peer", [0], false, "role mismatch: we are peer, the peer says provider (expected peer)"],
    ["peer", [9], false, "role mismatch: we are peer, the peer says role 9 (expected peer)"],
    ["customer", [0, 4], false, "the peer sent conflicting roles 0, 4"],
    ["customer", [0, 0], false, undefined],
    ["customer", [], false, undefined],
    ["customer", [], true, "we require a BGP role (ours is customer); the peer sent none"],
  ])("we are %s, the peer sends %j (strict %s)", (local, remote, strict, why) => {
    expect(roleMismatch(local, remote, strict)).toBe(why);
  });

  const open = (asn: number, role?: Role) =>
    buildOpen({
      localAs: asn,
      routerId: `10.0.0.${asn - 65000}`,
      holdTimeSec: 90,
      families: ["ipv4"],
      ...(role !== undefined ? { role } : {}),
    });

  it("the OPEN carries the role capability; a mismatch is OPEN Message Error / Role Mismatch (2/11)", () => {
    const caps = open(65001, "customer").params[0]!.capabilities;
    expect(caps).toContainEqual({ name: "role", code: 9, role: 3 });
    const ok = negotiate(open(65001, "customer"), open(65002, "provider"), {
      peerAs: 65002,
      localAs: 65001,
      routerId: "10.0.0.1",
      role: { local: "customer", strict: true },
    });
    expect(ok.role).toEqual({ local: "customer", remote: "provider" });
    const bad = () =>
      negotiate(open(65001, "customer"), open(65002, "customer"), {
        peerAs: 65002,
        localAs: 65001,
        routerId: "10.0.0.1",
        role: { local: "customer", strict: false },
      });
    expect(bad).toThrow(expect.objectContaining({ errorCode: 2, subcode: 11 }));
    const none = () =>
      negotiate(open(65001, "peer"), open(65002), {
        peerAs: 65002,
        localAs: 65001,
        routerId: "10.0.0.1",
        role: { local: "peer", strict: true },
      });
    expect(none).toThrow(/the peer sent none/);
    // Not strict: a peer without roles is accepted, and no leak rules apply.
    const lax = negotiate(open(65001, "peer"), open(65002), {
      peerAs: 65002,
      localAs: 65001,
      routerId: "10.0.0.1",
      role: { local: "peer", strict: false },
    });
    expect(lax.role).toEqual({ local: "peer" });
    // iBGP: roles are not checked.
    const ibgp = negotiate(
      open(65001, "customer"),
      { ...open(65001, "customer"), bgpId: "10.0.0.9" },
      {
        peerAs: 65001,
        localAs: 65001,
        routerId: "10.0.0.1",
        role: { local: "customer", strict: true },
      },
    );
    expect(ibgp.role).toBeUndefined();
  });
});

describe("Only to Customer on the wire", () => {
  it("round-trips as an optional transitive 4-octet attribute; any other length is treat-as-withdraw", () => {
    const ctx = { fourOctetAs: true };
    const bytes = encodeUpdate(
      {
        type: "UPDATE",
        withdrawn: { count: 0 } as never,
        attributes: [
          ORIGIN,
          { kind: "as-path", code: 2, flags: 0x40, segments: [] },
          { kind: "next-hop", code: 3, flags: 0x40, nextHop: "10.0.0.1" },
          otc(65002),
        ],
        nlri: { count: 0 } as never,
      } as never,
      ctx,
    );
    const hex = Buffer.from(bytes).toString("hex");
    expect(hex).toContain("c0230400 00fdea".replace(" ", ""));
    const back = decodeUpdate(bytes, ctx);
    expect(back.attributes.find((a) => a.kind === "otc")).toEqual(otc(65002));
    const i = hex.indexOf("c0230400");
    const bad = Buffer.from(
      `${hex.slice(0, i)}c02303${hex.slice(i + 8, i + 8 + 6)}${hex.slice(i + 16)}`,
      "hex",
    );
    // The total and attribute lengths no longer match one byte less: fix them up.
    bad.writeUInt16BE(bad.length, 16);
    const alenAt = 19 + 2 + bad.readUInt16BE(19);
    bad.writeUInt16BE(bad.readUInt16BE(alenAt) - 1, alenAt);
    const d = decodeUpdate(new Uint8Array(bad), ctx);
    expect(d.treatAsWithdraw?.message).toMatch(/OTC length 3/);
  });
});

describe("route leaks (RFC 9234 §5 ingress, §6 egress)", () => {
  const base = [ORIGIN];
  it.each<[string, Role, PathAttribute[], number, ReturnType<typeof otcIngress>]>([
    [
      "from a provider without OTC: OTC = the provider's AS",
      "customer",
      base,
      65002,
      { leak: false, attrs: [ORIGIN, otc(65002)] },
    ],
    [
      "from a peer without OTC: OTC = the peer's AS",
      "peer",
      base,
      65002,
      { leak: false, attrs: [ORIGIN, otc(65002)] },
    ],
    [
      "from a route server without OTC: OTC added",
      "rs-client",
      base,
      65002,
      { leak: false, attrs: [ORIGIN, otc(65002)] },
    ],
    ["from a customer without OTC: as is", "provider", base, 65002, { leak: false, attrs: base }],
    [
      "from a customer with OTC: a leak",
      "provider",
      [ORIGIN, otc(65009)],
      65002,
      { leak: true, reason: "route leak: OTC 65009 from a customer" },
    ],
    [
      "from an rs-client with OTC: a leak",
      "rs-server",
      [ORIGIN, otc(65009)],
      65002,
      { leak: true, reason: "route leak: OTC 65009 from a rs-client" },
    ],
    [
      "from a peer with OTC of another AS: a leak",
      "peer",
      [ORIGIN, otc(65009)],
      65002,
      { leak: true, reason: "route leak: OTC 65009 from a peer in AS 65002" },
    ],
    [
      "from a peer with its own AS as OTC: kept",
      "peer",
      [ORIGIN, otc(65002)],
      65002,
      { leak: false, attrs: [ORIGIN, otc(65002)] },
    ],
    [
      "from a provider with OTC: kept as is",
      "customer",
      [ORIGIN, otc(65009)],
      65002,
      { leak: false, attrs: [ORIGIN, otc(65009)] },
    ],
  ])("%s", (_what, local, a, peerAs, verdict) => {
    expect(otcIngress(a, local, peerAs)).toEqual(verdict);
  });

  it.each<[string, Role, PathAttribute[], PathAttribute[] | undefined]>([
    ["with OTC to a provider: not sent", "customer", [ORIGIN, otc(65002)], undefined],
    ["with OTC to a peer: not sent", "peer", [ORIGIN, otc(65002)], undefined],
    ["with OTC to a route server: not sent", "rs-client", [ORIGIN, otc(65002)], undefined],
    ["with OTC to a customer: sent, OTC kept", "provider", [ORIGIN, otc(65002)], [ORIGIN, otc(65002)]],
    ["without OTC to a customer: OTC = our AS", "provider", base, [ORIGIN, otc(65001)]],
    ["without OTC to a peer: OTC = our AS", "peer", base, [ORIGIN, otc(65001)]],
    ["without OTC to an rs-client: OTC = our AS", "rs-server", base, [ORIGIN, otc(65001)]],
    ["without OTC to a provider: sent as is", "customer", base, base],
  ])("%s", (_what, local, a, out) => {
    expect(otcEgress(a, local, 65001)).toEqual(out);
  });

  it("export applies the egress rules on eBGP sessions with a role", () => {
    const from = new Path(
      peer(1, "ebgp", "10.0.0.2"),
      keyFromString("192.0.2.0/24"),
      0,
      attrs({ asPath: [65002], extra: [otc(65002)] }),
      false,
    );
    const t = {
      type: "ebgp" as const,
      localAs: 65001,
      routerId: "10.0.0.1",
      clusterId: "10.0.0.1",
      rrClient: false,
      nextHopMode: "auto" as const,
      localAddress: { ipv4: "10.0.0.1" },
      fourOctetAs: true,
    };
    expect(exportPath(from, "ipv4", { ...t, role: "customer" }, undefined)).toBeUndefined();
    expect(otcOf(exportPath(from, "ipv4", { ...t, role: "provider" }, undefined)?.attrs)).toEqual(otc(65002));
    // Without a role the route goes as before (OTC passes as an optional transitive attribute).
    expect(exportPath(from, "ipv4", t, undefined)).toBeDefined();
  });
});
