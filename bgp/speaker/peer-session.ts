/**
 * From a peer's configuration to what its session needs: our OPEN (families, ADD-PATH receive and send, graceful
 * restart with the forwarding bit, extended messages and next hops, FQDN), the connection options
 * (source address, MD5 key, TTL 1 for directly connected eBGP, 64 for iBGP, 255 with GTSM and the
 * matching minimum TTL), and the FSM timers. Pure.
 */
import type { FsmConfig } from "../session/fsm.js";
import { FSM_DEFAULTS } from "../session/fsm.js";
import { buildOpen, FAMILIES } from "../session/negotiate.js";
import type { ConnectOptions } from "../transport/connect.js";
import { DEFAULT_HOLD_TIME_SEC, type PeerConfig, type SpeakerConfig } from "./config.js";

export function sessionConfig(
  speaker: SpeakerConfig,
  cfg: PeerConfig,
  netnsPath?: string,
): { fsm: FsmConfig; connect: ConnectOptions } {
  const localAs = cfg.localAsn ?? speaker.asn;
  const ebgp = cfg.asn !== localAs;
  const families = cfg.families ?? FAMILIES;
  const gr = speaker.gracefulRestart;
  const send = cfg.addPathSend !== undefined;
  const addPathMode = cfg.addPathReceive ? (send ? "both" : "receive") : send ? "send" : undefined;
  const localOpen = buildOpen({
    localAs,
    routerId: speaker.routerId,
    holdTimeSec: cfg.holdTimeSec ?? speaker.holdTimeSec ?? DEFAULT_HOLD_TIME_SEC,
    families,
    ...(addPathMode !== undefined
      ? { addPath: Object.fromEntries(families.map((f) => [f, addPathMode])) }
      : {}),
    // Forwarding preserved: the dataplane keeps its routes while the speaker restarts.
    ...(gr !== undefined && cfg.gracefulRestart !== false
      ? {
          gracefulRestart: {
            restartTimeSec: cfg.restartTimeSec ?? gr.restartTimeSec,
            restarting: false,
            forwardingPreserved: true,
          },
          ...(gr.longLivedStaleTimeSec !== undefined
            ? {
                longLivedGracefulRestart: {
                  staleTimeSec: gr.longLivedStaleTimeSec,
                  forwardingPreserved: true,
                },
              }
            : {}),
        }
      : {}),
    extendedMessage: true,
    extendedNextHop: true,
    ...(speaker.hostname !== undefined ? { hostname: speaker.hostname } : {}),
    // RFC 9234: roles belong to eBGP sessions only.
    ...(cfg.role !== undefined && ebgp ? { role: cfg.role } : {}),
  });
  const connect: ConnectOptions = {
    host: cfg.address,
    port: cfg.port ?? 179,
    ...(cfg.localAddress !== undefined ? { localAddress: cfg.localAddress } : {}),
    ...(cfg.password !== undefined ? { md5Key: cfg.password } : {}),
    // GTSM needs TTL 255 on what we send as well as the minimum on what we receive.
    ttl: cfg.ttlSecurityHops !== undefined ? 255 : (cfg.ttl ?? (ebgp ? 1 : 64)),
    ...(cfg.ttlSecurityHops !== undefined ? { minTtl: 256 - cfg.ttlSecurityHops } : {}),
    timeoutMs: 30_000,
    ...(netnsPath !== undefined ? { netnsPath } : {}),
  };
  const idle = speaker.idleHoldSec;
  const fsm: FsmConfig = {
    localOpen,
    expect: {
      peerAs: cfg.asn,
      localAs,
      routerId: speaker.routerId,
      ...(cfg.keepaliveSec !== undefined ? { keepaliveSec: cfg.keepaliveSec } : {}),
      ...(cfg.role !== undefined && ebgp
        ? { role: { local: cfg.role, strict: cfg.roleStrict === true } }
        : {}),
    },
    passive: cfg.passive === true,
    connectRetryMs:
      (cfg.connectRetrySec ?? speaker.connectRetrySec ?? FSM_DEFAULTS.connectRetryMs / 1000) * 1000,
    idleHoldInitialMs: (idle?.initial ?? FSM_DEFAULTS.idleHoldInitialMs / 1000) * 1000,
    idleHoldMaxMs: (idle?.max ?? FSM_DEFAULTS.idleHoldMaxMs / 1000) * 1000,
    stableMs: FSM_DEFAULTS.stableMs,
  };
  return { fsm, connect };
}
