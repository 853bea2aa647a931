/**
 * Wire constants of BGP-4 with their RFC names: message types (RFC 4271 §4.1), path attribute type
 * codes (IANA "BGP Path Attributes"), capability codes (IANA "Capability Codes"), AFI/SAFI, and the
 * NOTIFICATION error codes and subcodes with the words operators read (RFC 4271 §4.5, RFC 4486,
 * RFC 7313, RFC 8203/9003, RFC 9234). Data only.
 */

export const MARKER_LEN = 16;
export const HEADER_LEN = 19;
/** RFC 4271 §4.1. */
export const MAX_MESSAGE_LEN = 4096;
/** RFC 8654, after both sides advertised the Extended Message capability. */
export const MAX_EXTENDED_MESSAGE_LEN = 65535;

export const MsgType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MsgTypeCode = (typeof MsgType)[keyof typeof MsgType];

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunity: 32,
  /** Only to Customer (RFC 9234 §5). */
  OnlyToCustomer: 35,
} as const;

/** Attribute flag bits (RFC 4271 §4.3). */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

export const CapCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  Role: 9,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
  Fqdn: 73,
  /** Pre-RFC 2918 Cisco route refresh, still advertised by FRR. */
  RouteRefreshOld: 128,
} as const;

export const Afi = { Ipv4: 1, Ipv6: 2 } as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];
export const Safi = { Unicast: 1, Multicast: 2 } as const;

/** RFC 6793: the 2-octet AS that stands in for a 4-octet one. */
export const AS_TRANS = 23456;

/** Optional parameter types in OPEN (RFC 5492; 255 marks RFC 9072 extended parameters). */
export const OptParamType = { Capabilities: 2, ExtendedLength: 255 } as const;

export const ErrorCode = {
  MessageHeader: 1,
  Open: 2,
  Update: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
  RouteRefresh: 7,
} as const;

export const HeaderSub = { ConnectionNotSynchronized: 1, BadMessageLength: 2, BadMessageType: 3 } as const;
export const OpenSub = {
  Unspecific: 0,
  UnsupportedVersion: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;
export const UpdateSub = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOrigin: 6,
  InvalidNextHop: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;
export const CeaseSub = {
  MaxPrefixes: 1,
  AdministrativeShutdown: 2,
  PeerDeConfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

const CODE_NAMES: Record<number, string> = {
  1: "Message Header Error",
  2: "OPEN Message Error",
  3: "UPDATE Message Error",
  4: "Hold Timer Expired",
  5: "Finite State Machine Error",
  6: "Cease",
  7: "ROUTE-REFRESH Message Error",
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  1: { 1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type" },
  2: {
    0: "Unspecific",
    1: "Unsupported Version Number",
    2: "Bad Peer AS",
    3: "Bad BGP Identifier",
    4: "Unsupported Optional Parameter",
    6: "Unacceptable Hold Time",
    7: "Unsupported Capability",
    11: "Role Mismatch",
  },
  3: {
    1: "Malformed Attribute List",
    2: "Unrecognized Well-known Attribute",
    3: "Missing Well-known Attribute",
    4: "Attribute Flags Error",
    5: "Attribute Length Error",
    6: "Invalid ORIGIN Attribute",
    8: "Invalid NEXT_HOP Attribute",
    9: "Optional Attribute Error",
    10: "Invalid Network Field",
    11: "Malformed AS_PATH",
  },
  // RFC 6608
  5: {
    0: "Unspecified Error",
    1: "Receive Unexpected Message in OpenSent State",
    2: "Receive Unexpected Message in OpenConfirm State",
    3: "Receive Unexpected Message in Established State",
  },
  // RFC 4486, RFC 8538 (Hard Reset), RFC 9384 (BFD Down)
  6: {
    1: "Maximum Number of Prefixes Reached",
    2: "Administrative Shutdown",
    3: "Peer De-configured",
    4: "Administrative Reset",
    5: "Connection Rejected",
    6: "Other Configuration Change",
    7: "Connection Collision Resolution",
    8: "Out of Resources",
    9: "Hard Reset",
    10: "BFD Down",
  },
  // RFC 7313
  7: { 1: "Invalid Message Length" },
};

export function errorCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Unknown error code ${code}`;
}

export function errorSubcodeName(code: number, subcode: number): string {
  return SUBCODE_NAMES[code]?.[subcode] ?? (subcode === 0 ? "Unspecific" : `subcode ${subcode}`);
}

/** RFC 1997 and later well-known communities, by value. */
export const WELL_KNOWN_COMMUNITIES: ReadonlyMap<number, string> = new Map([
  [0xffff0000, "GRACEFUL_SHUTDOWN"],
  [0xffff0001, "ACCEPT_OWN"],
  [0xffff0006, "LLGR_STALE"],
  [0xffff0007, "NO_LLGR"],
  [0xffff029a, "BLACKHOLE"],
  [0xffffff01, "NO_EXPORT"],
  [0xffffff02, "NO_ADVERTISE"],
  [0xffffff03, "NO_EXPORT_SUBCONFED"],
  [0xffffff04, "NOPEER"],
]);
