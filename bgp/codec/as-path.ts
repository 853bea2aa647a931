/**
 * AS_PATH and AS4_PATH values (RFC 4271 §4.3, RFC 5065 confederation segments, RFC 6793 for 2- and
 * 4-octet encodings): segment decoding with the RFC 7606 §7.2 malformation rules, encoding that splits
 * segments longer than 255 ASes, the path length used by best-path selection (§9.1.2.2: a set counts
 * one, confederation segments none), and the RFC 6793 §4.2.3 merge of AS4_PATH into a 2-octet AS_PATH.
 */
import { AS_TRANS } from "./constants.js";

export const SegmentType = { AsSet: 1, AsSequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}

/**
 * Decodes segments with ASes of `width` octets. Returns a reason string instead of segments when the
 * value is malformed (the caller picks the RFC 7606 action).
 */
export function decodeSegments(v: Uint8Array, width: 2 | 4): AsPathSegment[] | string {
  const out: AsPathSegment[] = [];
  let p = 0;
  while (p < v.length) {
    if (v.length - p < 2) return "a single octet left after the last segment";
    const type = v[p]!;
    const count = v[p + 1]!;
    if (type < 1 || type > 4) return `unknown segment type ${type}`;
    if (count === 0) return "segment of length zero";
    if (p + 2 + count * width > v.length) return "segment runs past the end of the attribute";
    const asns = new Array<number>(count);
    let q = p + 2;
    for (let i = 0; i < count; i++) {
      asns[i] =
        width === 2
          ? (v[q]! << 8) | v[q + 1]!
          : ((v[q]! << 24) | (v[q + 1]! << 16) | (v[q + 2]! << 8) | v[q + 3]!) >>> 0;
      q += width;
    }
    out.push({ type, asns });
    p = q;
  }
  return out;
}

/** Encodes segments; ASes above 65535 become AS_TRANS in a 2-octet encoding (RFC 6793 §4.2.2). */
export function encodeSegments(segments: readonly AsPathSegment[], width: 2 | 4): Uint8Array {
  let size = 0;
  for (const s of segments) size += Math.ceil(s.asns.length / 255) * 2 + s.asns.length * width;
  const out = new Uint8Array(size);
  let p = 0;
  for (const s of segments) {
    for (let from = 0; from < s.asns.length; from += 255) {
      const chunk = s.asns.slice(from, from + 255);
      out[p++] = s.type;
      out[p++] = chunk.length;
      for (const as of chunk) {
        if (width === 2) {
          const a = as > 0xffff ? AS_TRANS : as;
          out[p++] = a >> 8;
          out[p++] = a & 0xff;
        } else {
          out[p++] = as >>> 24;
          out[p++] = (as >>> 16) & 0xff;
          out[p++] = (as >>> 8) & 0xff;
          out[p++] = as & 0xff;
        }
      }
    }
  }
  return out;
}

/** RFC 4271 §9.1.2.2 (with RFC 5065 §5.3): sets count one, confederation segments zero. */
export function pathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === SegmentType.AsSequence) n += s.asns.length;
    else if (s.type === SegmentType.AsSet) n += 1;
  }
  return n;
}

/** Whether `as` appears anywhere in the path (AS loop detection, RFC 4271 §9.1.2). */
export function countAs(segments: readonly AsPathSegment[], as: number): number {
  let n = 0;
  for (const s of segments) for (const a of s.asns) if (a === as) n++;
  return n;
}

/** The leftmost AS of the first AS_SEQUENCE, i.e. the neighbour AS of an eBGP route. */
export function firstAs(segments: readonly AsPathSegment[]): number | undefined {
  const s = segments[0];
  return s !== undefined && s.type === SegmentType.AsSequence ? s.asns[0] : undefined;
}

/**
 * RFC 6793 §4.2.3: rebuilds the real path of a route received from a 2-octet ("OLD") speaker. When
 * AS4_PATH has more ASes than AS_PATH it is ignored; otherwise the leading ASes of AS_PATH that
 * AS4_PATH does not cover are kept, followed by AS4_PATH.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const count = (segs: readonly AsPathSegment[]) => {
    let n = 0;
    for (const s of segs) {
      if (s.type === SegmentType.AsSequence) n += s.asns.length;
      else if (s.type === SegmentType.AsSet) n += 1;
    }
    return n;
  };
  const n2 = count(asPath);
  const n4 = count(as4Path);
  if (n4 > n2) return [...asPath];
  let keep = n2 - n4;
  const head: AsPathSegment[] = [];
  for (const s of asPath) {
    if (keep === 0) break;
    if (s.type === SegmentType.AsSequence) {
      const take = Math.min(keep, s.asns.length);
      head.push({ type: s.type, asns: s.asns.slice(0, take) });
      keep -= take;
    } else if (s.type === SegmentType.AsSet) {
      head.push(s);
      keep -= 1;
    } else {
      head.push(s); // confederation segments are not counted and stay in place
    }
  }
  // Adjacent sequences from both parts join into one segment.
  const last = head.at(-1);
  const first = as4Path[0];
  if (last && first && last.type === SegmentType.AsSequence && first.type === SegmentType.AsSequence) {
    return [
      ...head.slice(0, -1),
      { type: SegmentType.AsSequence, asns: [...last.asns, ...first.asns] },
      ...as4Path.slice(1),
    ];
  }
  return [...head, ...as4Path];
}

/** "65001 65002 {65003,65004}" as operators read paths; confederation segments in (...) and [...]. */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((s) => {
      const list = s.asns.join(
        s.type === SegmentType.AsSequence || s.type === SegmentType.ConfedSequence ? " " : ",",
      );
      switch (s.type) {
        case SegmentType.AsSet:
          return `{${list}}`;
        case SegmentType.ConfedSequence:
          return `(${list})`;
        case SegmentType.ConfedSet:
          return `[${list}]`;
        default:
          return list;
      }
    })
    .join(" ");
}
