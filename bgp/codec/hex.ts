/** Hex text <-> bytes for JSON views and `--hex` input (whitespace, `:` and a `0x` prefix are ignored). */

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function fromHex(text: string, what = "hex"): Uint8Array {
  const clean = text.replace(/^0x/i, "").replace(/[\s:]/g, "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new Error(`${what}: not an even-length hex string`);
  }
  return Uint8Array.from(Buffer.from(clean, "hex"));
}
