/** Raw BGP bytes for tests, built by hand so that tests do not depend on the encoder they check. */

export const b = (...xs: (number | Uint8Array | number[])[]): Uint8Array =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === "number" ? [x] : [...x])));

export function header(len: number, type: number): Uint8Array {
  return b(new Array(16).fill(0xff), len >> 8, len & 0xff, type);
}

export function message(type: number, body: Uint8Array): Uint8Array {
  return b(header(19 + body.length, type), body);
}

/** flags, type, length (1 or 2 octets by the extended-length flag), value. */
export function attr(flags: number, code: number, value: Uint8Array | number[]): Uint8Array {
  const v = Uint8Array.from(value);
  return flags & 0x10 ? b(flags, code, v.length >> 8, v.length & 0xff, v) : b(flags, code, v.length, v);
}

export function update(parts: {
  withdrawn?: Uint8Array;
  attrs?: Uint8Array[];
  nlri?: Uint8Array;
}): Uint8Array {
  const w = parts.withdrawn ?? new Uint8Array(0);
  const a = b(...(parts.attrs ?? []));
  return message(
    2,
    b(w.length >> 8, w.length & 0xff, w, a.length >> 8, a.length & 0xff, a, parts.nlri ?? new Uint8Array(0)),
  );
}

export const ORIGIN_IGP = attr(0x40, 1, [0]);
export const AS_PATH_65001_4 = attr(0x40, 2, [2, 1, 0, 0, 0xfd, 0xe9]);
export const AS_PATH_65001_2 = attr(0x40, 2, [2, 1, 0xfd, 0xe9]);
export const NEXT_HOP_10_0_0_1 = attr(0x40, 3, [10, 0, 0, 1]);
export const NLRI_192_0_2_0_24 = b(24, 192, 0, 2);
/** A well-formed IPv4 announcement with a 4-octet AS_PATH. */
export const BASE_ATTRS = [ORIGIN_IGP, AS_PATH_65001_4, NEXT_HOP_10_0_0_1];
