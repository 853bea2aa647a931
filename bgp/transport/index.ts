/**
 * The BGP transport: active and passive TCP with RFC 2385 MD5 signatures, GTSM (RFC 5082) and multihop
 * TTL, for bgp/session. See docs/bgp-transport.md. Socket options need the small addon in bgp/native.
 */
export { BGP_PORT, type ConnectOptions, connectTcp } from "./connect.js";
export { describeErrno, TransportError, type TransportOperation } from "./errors.js";
export { type ConnectionHandler, type ConnectionInfo, type ListenOptions, TcpListener } from "./listener.js";
export { mapIpv4, unmapIpv4 } from "./sockaddr.js";
export { setMinTtl, setTtl } from "./socket-options.js";
