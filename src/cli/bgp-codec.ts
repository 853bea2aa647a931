/**
 * `tabby bgp decode` and `tabby bgp encode`: BGP bytes of one direction of a session to JSON lines
 * (docs/bgp-json.md) and back, exactly. The decode side negotiates like a live session: the OPEN of
 * FILE and of PEER_FILE (the other direction) decide 4-octet AS, ADD-PATH and extended messages; with
 * FILE alone, FILE's OPEN decides. Exit status: 0 when every message decoded (RFC 7606 treat-as-withdraw
 * and attribute-discard count as decoded, they are reported inside the message), 1 when a message could
 * not be decoded or the stream ends inside a message, 2 for usage errors.
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { HEADER_LEN, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN } from "../../bgp/codec/constants.js";
import { isBgpDecodeError } from "../../bgp/codec/errors.js";
import { MessageFramer } from "../../bgp/codec/framing.js";
import { checkHeader } from "../../bgp/codec/header.js";
import { fromHex, toHex } from "../../bgp/codec/hex.js";
import { errorToJson, type Json, messageFromJson, messageToJson } from "../../bgp/codec/json.js";
import { type CodecContext, decodeMessage, encodeMessage, INITIAL_CONTEXT } from "../../bgp/codec/message.js";
import type { OpenMessage } from "../../bgp/codec/open.js";
import { contextFromOpens } from "../../bgp/codec/session-context.js";
import { isTabbyError } from "../util/errors.js";
import type { CliIo } from "./io.js";

export const decodeUsage = `Usage: tabby bgp decode [--hex] FILE [PEER_FILE]

Decodes the raw TCP payload of one direction of a BGP session into one JSON object per line.
FILE or PEER_FILE may be "-" for stdin. --hex: the files hold hex text instead of bytes.
PEER_FILE is the other direction of the same session; its OPEN and FILE's OPEN decide what was
negotiated (4-octet AS, ADD-PATH, extended messages). Schema: docs/bgp-json.md.
`;

export const encodeUsage = `Usage: tabby bgp encode [--hex] [-o OUT] [FILE]

Reads JSON lines as printed by "tabby bgp decode" (from FILE, or stdin) and writes the BGP bytes
to stdout or OUT. --hex: one hex line per message instead of raw bytes.
`;

async function readInput(name: string, hex: boolean, io: CliIo): Promise<Uint8Array> {
  let data: Uint8Array;
  if (name === "-") {
    if (!io.readStdin) throw new Error("stdin is not available");
    data = await io.readStdin();
  } else {
    try {
      data = new Uint8Array(await readFile(name));
    } catch (e) {
      throw new Error(fileError(name, e));
    }
  }
  return hex ? fromHex(new TextDecoder().decode(data), name) : data;
}

/** A file that cannot be read, said with its path and in words. */
export function fileError(name: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT"
      ? "no such file"
      : code === "EISDIR"
        ? "is a directory, not a file"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (e as Error).message;
  return `cannot read ${name}: ${why}`;
}

/** The first OPEN in a stream, if it frames and decodes. */
function firstOpen(bytes: Uint8Array): OpenMessage | undefined {
  const framer = new MessageFramer(MAX_EXTENDED_MESSAGE_LEN);
  try {
    for (const m of framer.push(bytes)) {
      const msg = decodeMessage(m.bytes, { fourOctetAs: false, maxMessageLen: MAX_EXTENDED_MESSAGE_LEN });
      if (msg.type === "OPEN") return msg;
    }
  } catch {
    // No usable OPEN: fall back to FILE's own.
  }
  return undefined;
}

export async function runDecode(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseDecodeArgs>;
  try {
    parsed = parseDecodeArgs(argv);
  } catch (e) {
    io.stderr(`tabby bgp decode: ${(e as Error).message}\n\n${decodeUsage}`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(decodeUsage);
    return 0;
  }
  const { file, peerFile, hex } = parsed;
  let bytes: Uint8Array;
  let peerOpen: OpenMessage | undefined;
  try {
    bytes = await readInput(file, hex, io);
    if (peerFile !== undefined) peerOpen = firstOpen(await readInput(peerFile, hex, io));
  } catch (e) {
    io.stderr(`tabby bgp decode: ${(e as Error).message}\n`);
    return 1;
  }
  if (peerFile !== undefined && peerOpen === undefined) {
    io.stderr(`tabby bgp decode: ${peerFile}: no OPEN found; negotiating from ${file}'s OPEN alone\n`);
  }
  if (bytes.length === 0) {
    io.stderr(`tabby bgp decode: ${file === "-" ? "stdin" : file} holds no BGP message (0 bytes)\n`);
    return 1;
  }
  let ctx: CodecContext = INITIAL_CONTEXT;
  let failed = false;
  // Frame at the largest size; the per-message check below applies the negotiated limit.
  const framer = new MessageFramer(MAX_EXTENDED_MESSAGE_LEN);
  const line = (o: Json) => io.stdout(`${JSON.stringify(o)}\n`);
  const framed = framer.push(bytes);
  for (const m of framed) ({ ctx, failed } = printOne(m.bytes, m.streamOffset, ctx, peerOpen, line, failed));
  if (framer.error !== undefined) {
    // A header error: nothing after it can be framed.
    const at = framer.streamOffset;
    line({ offset: at, error: errorToJson(framer.error), raw: toHex(bytes.subarray(at)) });
    return 1;
  }
  if (framer.pendingBytes > 0) {
    const at = framer.streamOffset;
    const rest = bytes.subarray(at);
    line({ offset: at, error: truncatedError(rest, ctx), raw: toHex(rest) });
    failed = true;
  }
  return failed ? 1 : 0;
}

/**
 * What is wrong with the bytes the stream ends in: when their header is itself wrong for this session (a
 * length over the negotiated maximum, a bad marker or type), the RFC 4271 header error a speaker would
 * send, with its offset; otherwise the capture simply ends inside a message.
 */
function truncatedError(rest: Uint8Array, ctx: CodecContext): Json {
  if (rest.length >= HEADER_LEN) {
    try {
      checkHeader(rest, 0, ctx.maxMessageLen ?? MAX_MESSAGE_LEN);
    } catch (e) {
      if (isBgpDecodeError(e)) return errorToJson(e);
      throw e;
    }
    const declared = (rest[16]! << 8) | rest[17]!;
    return {
      detail: `truncated message: the stream ends after ${rest.length} of the ${declared} bytes its header declares`,
      action: "session-reset",
    };
  }
  return {
    detail: `truncated header: the stream ends after ${rest.length} of the ${HEADER_LEN} header bytes`,
    action: "session-reset",
  };
}

function printOne(
  bytes: Uint8Array,
  offset: number,
  ctx: CodecContext,
  peerOpen: OpenMessage | undefined,
  line: (o: Json) => void,
  failed: boolean,
): { ctx: CodecContext; failed: boolean } {
  try {
    const msg = decodeMessage(bytes, ctx);
    line({ offset, length: bytes.length, ...messageToJson(msg, ctx) });
    if (msg.type === "OPEN") return { ctx: contextFromOpens(msg, peerOpen ?? msg), failed };
    return { ctx, failed };
  } catch (e) {
    if (!isBgpDecodeError(e)) throw e;
    line({
      offset,
      length: bytes.length,
      type: typeName(bytes[18]),
      error: errorToJson(e),
      raw: toHex(bytes),
    });
    return { ctx, failed: true };
  }
}

const typeName = (t: number | undefined) =>
  ({ 1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH" })[t ?? 0] ?? `type ${t}`;

function parseDecodeArgs(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      hex: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  if (values.help) return { help: true as const, file: "", peerFile: undefined, hex: false };
  if (positionals.length < 1 || positionals.length > 2) throw new Error("expected FILE [PEER_FILE]");
  return { help: false as const, file: positionals[0]!, peerFile: positionals[1], hex: values.hex === true };
}

export async function runEncode(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { hex?: boolean; out?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        hex: { type: "boolean", default: false },
        out: { type: "string", short: "o" },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
    }));
    if (positionals.length > 1) throw new Error("expected at most one FILE");
  } catch (e) {
    io.stderr(`tabby bgp encode: ${(e as Error).message}\n\n${encodeUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(encodeUsage);
    return 0;
  }
  const source = positionals[0] ?? "-";
  let text: string;
  try {
    text = new TextDecoder().decode(await readInput(source, false, io));
  } catch (e) {
    io.stderr(`tabby bgp encode: ${(e as Error).message}\n`);
    return 1;
  }
  const chunks: Uint8Array[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === "") continue;
    const where = `${source === "-" ? "stdin" : source}:${i + 1}`;
    try {
      const obj = JSON.parse(l) as Json;
      chunks.push(encodeLine(obj, where));
    } catch (e) {
      const msg = isTabbyError(e) || e instanceof SyntaxError ? (e as Error).message : String(e);
      io.stderr(`tabby bgp encode: ${where}: ${msg}\n`);
      return 1;
    }
  }
  if (values.hex) {
    const out = `${chunks.map(toHex).join("\n")}\n`;
    if (values.out) await writeFile(values.out, out);
    else io.stdout(out);
    return 0;
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of chunks) {
    all.set(c, p);
    p += c.length;
  }
  if (values.out) await writeFile(values.out, all);
  else if (io.stdoutBytes) io.stdoutBytes(all);
  else io.stdout(Buffer.from(all).toString("latin1"));
  return 0;
}

/** A line with `raw` (a message that did not decode) is written back as it was. */
function encodeLine(obj: Json, where: string): Uint8Array {
  if (typeof obj === "object" && obj !== null && !Array.isArray(obj) && typeof obj.raw === "string") {
    return fromHex(obj.raw, `${where}: raw`);
  }
  const { message, ctx } = messageFromJson(obj, where);
  return encodeMessage(message, { ...ctx, maxMessageLen: MAX_EXTENDED_MESSAGE_LEN });
}
