/**
 * AS numbers as Calico's numorstring.ASNumber reads them (api/pkg/lib/numorstring/asnumber.go): a JSON
 * integer 0..4294967295, or a string holding either such an integer or "asdot" notation `X.Y` with two
 * 16-bit parts meaning X*65536+Y (`"1.10"` is 65546). Always printed back as plain decimal. Pure.
 */

export const MAX_AS_NUMBER = 0xffff_ffff;

/** The AS number, or the rule it breaks. */
export function parseAsNumber(raw: unknown): { asn: number } | { rule: string } {
  if (typeof raw === "number") {
    if (Number.isInteger(raw) && raw >= 0 && raw <= MAX_AS_NUMBER) return { asn: raw };
    if (!Number.isInteger(raw) && /^\d+\.\d+$/.test(String(raw))) {
      // YAML reads an unquoted 1.10 as the float 1.1; Calico refuses it too.
      return { rule: 'asdot notation must be a quoted string ("X.Y")' };
    }
    return { rule: `must be an integer 0..${MAX_AS_NUMBER} or an asdot string "X.Y"` };
  }
  if (typeof raw !== "string") return { rule: 'must be an integer or a string ("64512" or "1.10")' };
  if (/^\d{1,10}$/.test(raw) && Number(raw) <= MAX_AS_NUMBER) return { asn: Number(raw) };
  const m = /^(\d{1,5})\.(\d{1,5})$/.exec(raw);
  if (m !== null) {
    const hi = Number(m[1]);
    const lo = Number(m[2]);
    if (hi <= 0xffff && lo <= 0xffff) return { asn: hi * 65536 + lo };
    return { rule: "asdot parts must each be 16-bit (0..65535)" };
  }
  return { rule: `must be an integer 0..${MAX_AS_NUMBER} or asdot "X.Y" with 16-bit parts` };
}
