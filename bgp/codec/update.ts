/**
 * UPDATE (RFC 4271 §4.3) decoding with RFC 7606 error handling, and encoding. Decoding never loses the
 * NLRI: when an attribute is malformed the message still comes back, marked `treatAsWithdraw` (every
 * announced prefix is to be withdrawn) or with the attribute turned into a `malformed` entry and listed
 * in `discarded`; only errors that make the NLRI unlocatable are thrown (session reset): inconsistent
 * lengths, bad prefixes, malformed or repeated MP_REACH/MP_UNREACH, unrecognised well-known attributes.
 * Mandatory-attribute presence (§3(d)) is checked here because it decides treat-as-withdraw too.
 */

import {
  type AttrContext,
  attributeDescriptor,
  checkFlags,
  encodeAttribute,
  isAttrProblem,
  type PathAttribute,
} from "./attributes.js";
import { AttrFlag, AttrType, HEADER_LEN, MsgType, UpdateSub } from "./constants.js";
import { BgpDecodeError, strongest } from "./errors.js";
import { writeHeader } from "./header.js";
import { decodePrefixes, encodedSizeOfAll, encodePrefixes, type PrefixList } from "./prefix-list.js";

export interface UpdateMessage {
  readonly type: "UPDATE";
  /** IPv4 unicast prefixes of the Withdrawn Routes field. */
  readonly withdrawn: PrefixList;
  /** In wire order; failed ones as kind "malformed". */
  readonly attributes: readonly PathAttribute[];
  /** IPv4 unicast prefixes of the NLRI field. */
  readonly nlri: PrefixList;
  /** RFC 7606 treat-as-withdraw: all announced NLRI (field and MP_REACH) are withdrawn instead. */
  readonly treatAsWithdraw?: BgpDecodeError;
  /** Attributes dropped by attribute-discard (their entries are kind "malformed"). */
  readonly discarded?: readonly BgpDecodeError[];
  /** Attribute bytes that could not be parsed (RFC 7606 §4 framing errors), kept for exact re-encoding. */
  readonly unparsedAttributes?: Uint8Array;
}

/** `buf` is the whole message, header included, already checked by `checkHeader`. */
export function decodeUpdate(buf: Uint8Array, ctx: AttrContext): UpdateMessage {
  const len = buf.length;
  const wlen = (buf[19]! << 8) | buf[20]!;
  if (HEADER_LEN + 2 + wlen + 2 > len) {
    throw new BgpDecodeError(
      3,
      UpdateSub.MalformedAttributeList,
      19,
      "session-reset",
      undefined,
      `withdrawn routes length ${wlen} exceeds the message`,
    );
  }
  const attrStart = HEADER_LEN + 2 + wlen + 2;
  const alen = (buf[attrStart - 2]! << 8) | buf[attrStart - 1]!;
  if (attrStart + alen > len) {
    throw new BgpDecodeError(
      3,
      UpdateSub.MalformedAttributeList,
      attrStart - 2,
      "session-reset",
      undefined,
      `total path attribute length ${alen} exceeds the message`,
    );
  }
  const withdrawn = decodePrefixes(
    buf,
    HEADER_LEN + 2,
    HEADER_LEN + 2 + wlen,
    1,
    ctx.addPath?.ipv4 === true,
    0,
  );
  const attrEnd = attrStart + alen;
  const nlri = decodePrefixes(buf, attrEnd, len, 1, ctx.addPath?.ipv4 === true, 0);

  const attributes: PathAttribute[] = [];
  const discarded: BgpDecodeError[] = [];
  let worst: BgpDecodeError | undefined;
  let unparsed: Uint8Array | undefined;
  const seen = new Set<number>();
  let p = attrStart;
  while (p < attrEnd) {
    // RFC 7606 §4: a header or length that runs past the attribute field: treat-as-withdraw, and the
    // Total Path Attribute Length still locates the NLRI.
    const flags = buf[p]!;
    const head = flags & AttrFlag.ExtendedLength ? 4 : 3;
    if (attrEnd - p < head) {
      worst = strongest(
        worst,
        new BgpDecodeError(
          3,
          UpdateSub.MalformedAttributeList,
          p,
          "treat-as-withdraw",
          undefined,
          "attribute header runs past the attribute field",
        ),
      );
      unparsed = buf.slice(p, attrEnd);
      break;
    }
    const code = buf[p + 1]!;
    const vlen = head === 4 ? (buf[p + 2]! << 8) | buf[p + 3]! : buf[p + 2]!;
    if (p + head + vlen > attrEnd) {
      worst = strongest(
        worst,
        new BgpDecodeError(
          3,
          UpdateSub.AttributeLengthError,
          p,
          "treat-as-withdraw",
          buf.slice(p, attrEnd),
          `attribute ${code} length ${vlen} runs past the attribute field`,
          code,
        ),
      );
      unparsed = buf.slice(p, attrEnd);
      break;
    }
    const raw = buf.subarray(p, p + head + vlen);
    const value = buf.subarray(p + head, p + head + vlen);
    const malformed = (subcode: number, action: BgpDecodeError["action"], detail: string) => {
      const e = new BgpDecodeError(3, subcode, p, action, raw.slice(), detail, code);
      attributes.push({ kind: "malformed", code, flags, value: value.slice(), error: e });
      return e;
    };

    if (seen.has(code)) {
      // RFC 7606 §3(g): repeated MP attributes reset the session; other repeats are dropped.
      if (code === AttrType.MpReachNlri || code === AttrType.MpUnreachNlri) {
        throw new BgpDecodeError(
          3,
          UpdateSub.MalformedAttributeList,
          p,
          "session-reset",
          undefined,
          `attribute ${code} appears twice`,
          code,
        );
      }
      const e = malformed(
        UpdateSub.MalformedAttributeList,
        "attribute-discard",
        `attribute ${code} appears twice; the first is kept`,
      );
      discarded.push(e);
      worst = strongest(worst, e);
      p += head + vlen;
      continue;
    }
    seen.add(code);

    const d = attributeDescriptor(code);
    if (d === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        throw new BgpDecodeError(
          3,
          UpdateSub.UnrecognizedWellKnownAttribute,
          p,
          "session-reset",
          raw.slice(),
          `unrecognized well-known attribute ${code}`,
          code,
        );
      }
      attributes.push({ kind: "unknown", code, flags, value: value.slice() });
      p += head + vlen;
      continue;
    }
    const problem = checkFlags(d, flags) ?? decodeOrProblem(d, value, flags, ctx, p + head, raw);
    if (isAttrProblem(problem)) {
      if (problem.action === "session-reset") {
        throw new BgpDecodeError(3, problem.subcode, p, "session-reset", raw.slice(), problem.detail, code);
      }
      const e = malformed(problem.subcode, problem.action, problem.detail);
      if (problem.action === "attribute-discard") discarded.push(e);
      worst = strongest(worst, e);
    } else {
      attributes.push(problem);
    }
    p += head + vlen;
  }

  const missing = missingMandatory(attributes, nlri.count > 0, seen);
  if (missing !== undefined) {
    worst = strongest(
      worst,
      new BgpDecodeError(
        3,
        UpdateSub.MissingWellKnownAttribute,
        attrStart,
        "treat-as-withdraw",
        Uint8Array.of(missing),
        `missing well-known attribute ${missing}`,
        missing,
      ),
    );
  }
  return {
    type: "UPDATE",
    withdrawn,
    attributes,
    nlri,
    ...(worst?.action === "treat-as-withdraw" ? { treatAsWithdraw: worst } : {}),
    ...(discarded.length > 0 ? { discarded } : {}),
    ...(unparsed !== undefined ? { unparsedAttributes: unparsed } : {}),
  };
}

type Descriptor = NonNullable<ReturnType<typeof attributeDescriptor>>;

/** Runs the descriptor; a prefix error inside MP_REACH/MP_UNREACH gets the whole attribute as its data. */
function decodeOrProblem(
  d: Descriptor,
  value: Uint8Array,
  flags: number,
  ctx: AttrContext,
  valueOffset: number,
  raw: Uint8Array,
): ReturnType<Descriptor["decode"]> {
  try {
    return d.decode(value, flags, ctx, valueOffset);
  } catch (e) {
    if (!(e instanceof BgpDecodeError)) throw e;
    throw new BgpDecodeError(e.errorCode, e.subcode, e.offset, e.action, raw.slice(), e.detail, d.code);
  }
}

/**
 * RFC 4271 §5.1 / RFC 7606 §3(d): ORIGIN and AS_PATH whenever something is announced, NEXT_HOP when the
 * NLRI field announces IPv4 (RFC 4760 makes it optional for MP_REACH-only updates). A present but
 * malformed attribute is not "missing": its own error applies.
 */
function missingMandatory(
  attrs: readonly PathAttribute[],
  ipv4Nlri: boolean,
  seen: ReadonlySet<number>,
): number | undefined {
  const mpReach = attrs.some((a) => a.kind === "mp-reach" && a.nlri.count > 0);
  if (!ipv4Nlri && !mpReach) return undefined;
  const need = ipv4Nlri
    ? [AttrType.Origin, AttrType.AsPath, AttrType.NextHop]
    : [AttrType.Origin, AttrType.AsPath];
  return need.find((c) => !seen.has(c));
}

/** Byte-exact encoding of one UPDATE as modelled. Throws if it does not fit in `maxLen`. */
export function encodeUpdate(
  u: Pick<UpdateMessage, "withdrawn" | "attributes" | "nlri" | "unparsedAttributes">,
  ctx: AttrContext,
  maxLen = 4096,
): Uint8Array {
  const attrs = u.attributes.map((a) => encodeAttribute(a, ctx));
  const tail = u.unparsedAttributes ?? new Uint8Array(0);
  const alen = attrs.reduce((n, a) => n + a.length, 0) + tail.length;
  const wlen = encodedSizeOfAll(u.withdrawn);
  const len = HEADER_LEN + 2 + wlen + 2 + alen + encodedSizeOfAll(u.nlri);
  if (len > maxLen) throw new Error(`UPDATE of ${len} bytes exceeds the maximum message length ${maxLen}`);
  const out = new Uint8Array(len);
  writeHeader(out, 0, len, MsgType.Update);
  out[19] = wlen >> 8;
  out[20] = wlen & 0xff;
  let p = encodePrefixes(u.withdrawn, 0, u.withdrawn.count, out, 21);
  out[p++] = alen >> 8;
  out[p++] = alen & 0xff;
  for (const a of attrs) {
    out.set(a, p);
    p += a.length;
  }
  out.set(tail, p);
  p += tail.length;
  encodePrefixes(u.nlri, 0, u.nlri.count, out, p);
  return out;
}

/** `{afi, safi}` when `u` is an End-of-RIB marker (RFC 4724 §2), else undefined. */
export function endOfRibFamily(u: UpdateMessage): { afi: number; safi: number } | undefined {
  if (u.withdrawn.count > 0 || u.nlri.count > 0 || u.unparsedAttributes !== undefined) return undefined;
  if (u.attributes.length === 0) return { afi: 1, safi: 1 };
  const only = u.attributes.length === 1 ? u.attributes[0] : undefined;
  if (only?.kind === "mp-unreach" && only.withdrawn.count === 0) return { afi: only.afi, safi: only.safi };
  if (only?.kind === "unknown" && only.code === AttrType.MpUnreachNlri && only.value.length === 3) {
    return { afi: (only.value[0]! << 8) | only.value[1]!, safi: only.value[2]! };
  }
  return undefined;
}
