// `tabby bgp decode` / `encode` end to end, in-process: negotiation from both directions' OPENs,
// exact re-encoding, hex input, and how broken captures are reported.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeMessage } from "../../../bgp/codec/message.js";
import { encodeOpen, type OpenMessage } from "../../../bgp/codec/open.js";
import { prefixListFromStrings } from "../../../bgp/codec/prefix-list.js";
import { packAnnouncements } from "../../../bgp/codec/update-pack.js";
import { runDecode, runEncode } from "../../../src/cli/bgp-codec.js";
import type { CliIo } from "../../../src/cli/io.js";
import { AS_PATH_65001_2, attr, b, NEXT_HOP_10_0_0_1, ORIGIN_IGP, update } from "../bgp/build.js";

function io(stdin: Uint8Array = new Uint8Array(0)) {
  const out = { stdout: "", stderr: "", bytes: [] as Uint8Array[] };
  const cli: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    stdoutBytes: (x) => {
      out.bytes.push(x);
    },
    readStdin: async () => stdin,
    env: {},
  };
  return { cli, out };
}

const dir = mkdtempSync(join(tmpdir(), "bgp-cli-"));
const file = (name: string, data: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

const open = (addPath: number): OpenMessage => ({
  type: "OPEN",
  version: 4,
  myAs: 23456,
  holdTime: 90,
  bgpId: "10.0.0.1",
  params: [
    {
      type: 2,
      capabilities: [
        { name: "four-octet-as", code: 65, as: 4200000001 },
        { name: "add-path", code: 69, families: [{ afi: 1, safi: 1, sendReceive: addPath }] },
      ],
    },
  ],
});

const lines = (s: string) =>
  s
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("tabby bgp decode / encode", () => {
  const ctx = { fourOctetAs: true, addPath: { ipv4: true } };
  const updates = packAnnouncements(
    [
      { kind: "origin", code: 1, flags: 0x40, origin: 0 },
      { kind: "as-path", code: 2, flags: 0x40, segments: [{ type: 2, asns: [4200000001] }] },
      { kind: "next-hop", code: 3, flags: 0x40, nextHop: "10.0.0.1" },
    ],
    prefixListFromStrings(1, ["192.0.2.0/24", "198.51.100.0/24"], [1, 2]),
    ctx,
  );
  const a = b(encodeOpen(open(3)), encodeMessage({ type: "KEEPALIVE" }), ...updates);
  const peer = b(encodeOpen(open(1)), encodeMessage({ type: "KEEPALIVE" }));

  it("negotiates 4-octet AS and ADD-PATH from both OPENs and prints one JSON object per message", async () => {
    const { cli, out } = io();
    expect(await runDecode([file("a.bin", a), file("b.bin", peer)], cli)).toBe(0);
    const msgs = lines(out.stdout);
    expect(msgs.map((m) => m.type)).toEqual(["OPEN", "KEEPALIVE", "UPDATE"]);
    expect(msgs[2]).toMatchObject({
      offset: a.length - updates[0]!.length,
      fourOctetAs: true,
      nlri: [
        { pathId: 1, prefix: "192.0.2.0/24" },
        { pathId: 2, prefix: "198.51.100.0/24" },
      ],
    });
  });

  it("encode turns the JSON lines back into the same bytes", async () => {
    const d = io();
    await runDecode([file("a.bin", a), file("b.bin", peer)], d.cli);
    const e = io(new TextEncoder().encode(d.out.stdout));
    expect(await runEncode([], e.cli)).toBe(0);
    expect(Buffer.from(b(...e.out.bytes)).equals(Buffer.from(a))).toBe(true);
    const h = io(new TextEncoder().encode(d.out.stdout));
    expect(await runEncode(["--hex"], h.cli)).toBe(0);
    expect(h.out.stdout.trim().split("\n")).toHaveLength(3);
  });

  it("reads hex text, and without PEER_FILE lets FILE's OPEN decide", async () => {
    const { cli, out } = io();
    const hex = Buffer.from(a)
      .toString("hex")
      .replace(/(.{64})/g, "$1\n");
    expect(await runDecode(["--hex", file("a.hex", hex)], cli)).toBe(0);
    expect(lines(out.stdout)[2]).toMatchObject({ nlri: [{ pathId: 1 }, { pathId: 2 }] });
    // A peer that did not agree to receive path ids changes the reading of the same bytes.
    const noAddPath = io();
    expect(await runDecode([file("a.bin", a), file("c.bin", encodeOpen(open(2)))], noAddPath.cli)).toBe(1);
    expect(lines(noAddPath.out.stdout)[2]).toMatchObject({ error: { code: 3, subcode: 10 } });
  });

  it("reports a truncated last message after the complete ones, and exits 1", async () => {
    const { cli, out } = io();
    expect(await runDecode([file("t.bin", a.subarray(0, a.length - 5))], cli)).toBe(1);
    const msgs = lines(out.stdout);
    expect(msgs.map((m) => m.type ?? "error")).toEqual(["OPEN", "KEEPALIVE", "error"]);
    expect(msgs[2]).toMatchObject({
      offset: a.length - updates[0]!.length,
      error: {
        detail: expect.stringMatching(
          /^truncated message: the stream ends after \d+ of the \d+ bytes its header declares$/,
        ),
      },
    });
  });

  it("a cut-short message whose header claims more than the session's maximum is the RFC's Bad Message Length, with code, subcode and offset", async () => {
    for (const claimed of [4097, 8000, 65535]) {
      const header = [...new Array(16).fill(0xff), claimed >> 8, claimed & 0xff, 2];
      const { cli, out } = io();
      expect(
        await runDecode([file(`l${claimed}.bin`, b(encodeMessage({ type: "KEEPALIVE" }), header))], cli),
      ).toBe(1);
      const msgs = lines(out.stdout);
      expect(msgs[1]).toMatchObject({
        offset: 19,
        error: {
          code: 1,
          subcode: 2,
          subcodeName: "Bad Message Length",
          offset: 16,
          data: (claimed >> 8).toString(16).padStart(2, "0") + (claimed & 0xff).toString(16).padStart(2, "0"),
        },
      });
    }
    // Within the maximum, the capture simply ends inside the message; a header cut short says so too.
    const inside = io();
    expect(
      await runDecode(
        [file("in.bin", new Uint8Array([...new Array(16).fill(0xff), 0x10, 0x00, 2]))],
        inside.cli,
      ),
    ).toBe(1);
    expect(lines(inside.out.stdout)[0]).toMatchObject({
      error: { detail: expect.stringMatching(/19 of the 4096 bytes/) },
    });
    const header = io();
    expect(await runDecode([file("hd.bin", new Uint8Array([0xff, 0xff, 0xff]))], header.cli)).toBe(1);
    expect(lines(header.out.stdout)[0]).toMatchObject({
      error: { detail: expect.stringMatching(/3 of the 19 header bytes/) },
    });
  });

  it("an empty input holds no message and exits 1; a directory or a missing file is named", async () => {
    const empty = io();
    expect(await runDecode([file("empty.bin", new Uint8Array(0))], empty.cli)).toBe(1);
    expect(empty.out.stdout).toBe("");
    expect(empty.out.stderr).toMatch(/^tabby bgp decode: .*empty\.bin holds no BGP message \(0 bytes\)\n$/);
    const dir = mkdtempSync(join(tmpdir(), "tabby-decode-"));
    const d = io();
    expect(await runDecode([dir], d.cli)).toBe(1);
    expect(d.out.stderr).toBe(`tabby bgp decode: cannot read ${dir}: is a directory, not a file\n`);
    const missing = io();
    expect(await runDecode([join(dir, "nope.bin")], missing.cli)).toBe(1);
    expect(missing.out.stderr).toBe(`tabby bgp decode: cannot read ${join(dir, "nope.bin")}: no such file\n`);
  });

  it("stops at a header error with the complete messages printed first", async () => {
    const bad = b(encodeMessage({ type: "KEEPALIVE" }), new Array(19).fill(0));
    const { cli, out } = io();
    expect(await runDecode([file("h.bin", bad)], cli)).toBe(1);
    const msgs = lines(out.stdout);
    expect(msgs[0]).toMatchObject({ type: "KEEPALIVE" });
    expect(msgs[1]).toMatchObject({
      offset: 19,
      error: { code: 1, subcode: 1, codeName: "Message Header Error" },
    });
  });

  it("prints a message that cannot be decoded with its raw bytes, which encode writes back", async () => {
    const bad = update({ attrs: [attr(0x40, 99, [1])] });
    // No OPEN in this stream: the initial 2-octet context applies.
    const treat = update({
      attrs: [ORIGIN_IGP, AS_PATH_65001_2, NEXT_HOP_10_0_0_1, attr(0xc0, 8, [1])],
      nlri: b(24, 192, 0, 2),
    });
    const stream = b(bad, treat);
    const d = io();
    expect(await runDecode([file("m.bin", stream)], d.cli)).toBe(1);
    const msgs = lines(d.out.stdout);
    expect(msgs[0]).toMatchObject({
      type: "UPDATE",
      error: { subcode: 2, action: "session-reset", attrType: 99 },
      raw: expect.any(String),
    });
    expect(msgs[1]).toMatchObject({ type: "UPDATE", treatAsWithdraw: { subcode: 5, attrType: 8 } });
    const e = io(new TextEncoder().encode(d.out.stdout));
    expect(await runEncode([], e.cli)).toBe(0);
    expect(Buffer.from(b(...e.out.bytes)).equals(Buffer.from(stream))).toBe(true);
  });

  it("names the line and field of bad JSON, and usage errors exit 2", async () => {
    const e = io(
      new TextEncoder().encode('{"type":"KEEPALIVE"}\n{"type":"UPDATE","nlri":["10.0.0.0/33"]}\n'),
    );
    expect(await runEncode([], e.cli)).toBe(1);
    expect(e.out.stderr).toMatch(
      /^tabby bgp encode: stdin:2: stdin:2\.nlri: bad prefix length in "10\.0\.0\.0\/33"/,
    );
    const u = io();
    expect(await runDecode([], u.cli)).toBe(2);
    expect(u.out.stderr).toContain("Usage: tabby bgp decode");
    const missing = io();
    expect(await runDecode([join(dir, "nope.bin")], missing.cli)).toBe(1);
    expect(missing.out.stderr).toMatch(/cannot read .*nope\.bin: no such file/);
  });
});
