/**
 * BFD Control packets (RFC 5880 §4.1): the 24-byte mandatory section, encoded and decoded, and the
 * reception checks of §6.8.6 that need nothing but the packet (version, length, detect multiplier,
 * multipoint, discriminators, authentication). Checks that need the session table (a Your
 * Discriminator that selects no session) belong to the caller. Authentication (§4.2-4.4) is not
 * supported: a packet with the A bit set is discarded, as §6.8.6 requires when bfd.AuthType is zero.
 * Pure: no sockets, no clock.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 * |                       My Discriminator                        |
 * |                      Your Discriminator                       |
 * |                    Desired Min TX Interval                    |
 * |                   Required Min RX Interval                    |
 * |                 Required Min Echo RX Interval                 |
 */

const brand: unique symbol = Symbol.for("tabby.error") as never;

export const BFD_VERSION = 1;
/** Length of a packet without the authentication section. */
export const BFD_PACKET_LEN = 24;

/** bfd.SessionState values as they travel in the Sta field (§4.1). */
export const BFD_STATES = ["AdminDown", "Down", "Init", "Up"] as const;
export type BfdStateName = (typeof BFD_STATES)[number];

/** Diagnostic codes (§4.1). */
export const BFD_DIAG = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;

const DIAG_NAMES = [
  "No Diagnostic",
  "Control Detection Time Expired",
  "Echo Function Failed",
  "Neighbor Signaled Session Down",
  "Forwarding Plane Reset",
  "Path Down",
  "Concatenated Path Down",
  "Administratively Down",
  "Reverse Concatenated Path Down",
] as const;

export function diagName(diag: number): string {
  return DIAG_NAMES[diag] ?? `Reserved (${diag})`;
}

export interface BfdControlPacket {
  readonly version: number;
  readonly diag: number;
  readonly state: BfdStateName;
  readonly poll: boolean;
  readonly final: boolean;
  /** C: Control Plane Independent. */
  readonly cpi: boolean;
  /** A: Authentication Present. */
  readonly auth: boolean;
  /** D: Demand. */
  readonly demand: boolean;
  /** M: Multipoint (must be zero). */
  readonly multipoint: boolean;
  readonly detectMult: number;
  readonly myDiscr: number;
  readonly yourDiscr: number;
  /** Microseconds, as on the wire. */
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
}

export type BfdDecodeRule =
  | "short"
  | "version"
  | "length"
  | "detect-mult"
  | "multipoint"
  | "my-discriminator"
  | "your-discriminator"
  | "authentication";

/** A packet §6.8.6 says to discard: which rule, and the byte offset of the field that broke it. */
export class BfdDecodeError extends Error {
  readonly [brand] = true;
  override readonly name = "BfdDecodeError";
  readonly code = "BFD_DECODE";
  constructor(
    readonly rule: BfdDecodeRule,
    readonly offset: number,
    detail: string,
  ) {
    super(`${detail} (at byte ${offset})`);
  }
}

export function isBfdDecodeError(e: unknown): e is BfdDecodeError {
  return e instanceof Error && (e as { code?: unknown }).code === "BFD_DECODE";
}

/** The packet as sent; `version` defaults to 1 and the length is always 24 (no authentication). */
export function encodeControl(p: Omit<BfdControlPacket, "version"> & { version?: number }): Uint8Array {
  const out = new Uint8Array(BFD_PACKET_LEN);
  const dv = new DataView(out.buffer);
  const state = BFD_STATES.indexOf(p.state);
  if (state < 0) throw new Error(`unknown BFD state ${p.state}`);
  out[0] = (((p.version ?? BFD_VERSION) & 0x7) << 5) | (p.diag & 0x1f);
  out[1] =
    (state << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  out[2] = p.detectMult;
  out[3] = BFD_PACKET_LEN;
  dv.setUint32(4, p.myDiscr >>> 0);
  dv.setUint32(8, p.yourDiscr >>> 0);
  dv.setUint32(12, p.desiredMinTxUs >>> 0);
  dv.setUint32(16, p.requiredMinRxUs >>> 0);
  dv.setUint32(20, p.requiredMinEchoRxUs >>> 0);
  return out;
}

/**
 * Decodes and checks one received packet (the UDP payload, `buf` from `offset`), in the order of
 * §6.8.6. Throws BfdDecodeError for anything the RFC says to discard.
 */
export function decodeControl(buf: Uint8Array, offset = 0): BfdControlPacket {
  const avail = buf.length - offset;
  if (avail < BFD_PACKET_LEN)
    throw new BfdDecodeError("short", offset, `BFD packet of ${avail} bytes, need ${BFD_PACKET_LEN}`);
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, avail);
  const b0 = buf[offset]!;
  const b1 = buf[offset + 1]!;
  const version = b0 >> 5;
  if (version !== BFD_VERSION)
    throw new BfdDecodeError("version", offset, `BFD version ${version}, only version 1 is supported`);
  const auth = (b1 & 0x04) !== 0;
  const length = buf[offset + 3]!;
  // §6.8.6: less than the minimum (24, or 26 with the A bit), or more than the payload.
  const min = auth ? BFD_PACKET_LEN + 2 : BFD_PACKET_LEN;
  if (length < min)
    throw new BfdDecodeError("length", offset + 3, `BFD length ${length} is below the minimum ${min}`);
  if (length > avail)
    throw new BfdDecodeError(
      "length",
      offset + 3,
      `BFD length ${length} is more than the ${avail} bytes received`,
    );
  const detectMult = buf[offset + 2]!;
  if (detectMult === 0) throw new BfdDecodeError("detect-mult", offset + 2, "BFD Detect Mult is zero");
  if ((b1 & 0x01) !== 0) throw new BfdDecodeError("multipoint", offset + 1, "BFD Multipoint (M) bit is set");
  const myDiscr = dv.getUint32(4);
  if (myDiscr === 0) throw new BfdDecodeError("my-discriminator", offset + 4, "BFD My Discriminator is zero");
  const yourDiscr = dv.getUint32(8);
  const state = BFD_STATES[b1 >> 6]!;
  // A zero Your Discriminator is only valid from a peer that does not know ours yet.
  if (yourDiscr === 0 && state !== "Down" && state !== "AdminDown")
    throw new BfdDecodeError(
      "your-discriminator",
      offset + 8,
      `BFD Your Discriminator is zero in state ${state} (only Down or AdminDown may send zero)`,
    );
  // No authentication is configured here (bfd.AuthType 0): an authenticated packet is discarded.
  if (auth)
    throw new BfdDecodeError(
      "authentication",
      offset + 1,
      "BFD Authentication Present (A) bit set, but authentication is not supported",
    );
  return {
    version,
    diag: b0 & 0x1f,
    state,
    poll: (b1 & 0x20) !== 0,
    final: (b1 & 0x10) !== 0,
    cpi: (b1 & 0x08) !== 0,
    auth,
    demand: (b1 & 0x02) !== 0,
    multipoint: false,
    detectMult,
    myDiscr,
    yourDiscr,
    desiredMinTxUs: dv.getUint32(12),
    requiredMinRxUs: dv.getUint32(16),
    requiredMinEchoRxUs: dv.getUint32(20),
  };
}
