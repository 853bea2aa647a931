/**
 * What the plugin reads from the agent's files: the node name (Calico's precedence: the `nodename` key,
 * else the nodename file the agent writes at startup, else the hostname) and the pod MTU when the
 * config's `mtu` is 0. A missing nodename file means the agent has not started on this node, and
 * Calico's message for it is what operators search for, so ours says the same.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { CNI_CODE, CniError } from "./errors.js";
import type { NetConf } from "./netconf.js";

export function nodeName(conf: NetConf): string {
  if (conf.nodename !== undefined) return conf.nodename;
  let text: string | undefined;
  try {
    text = readFileSync(conf.nodenameFile, "utf8").trim();
  } catch (e) {
    if (!conf.nodenameFileOptional) {
      throw new CniError(
        CNI_CODE.tryAgainLater,
        `stat ${conf.nodenameFile}: no such file or directory: check that the calico/node container is running and has mounted /var/lib/calico/`,
        (e as Error).message,
      );
    }
  }
  if (text !== undefined && text !== "") return text;
  return hostname().toLowerCase();
}

/** Calico's default when neither the config nor the agent says. */
const FALLBACK_MTU = 1500;

export function podMtu(conf: NetConf): number {
  if (conf.mtu !== 0) return conf.mtu;
  let text: string;
  try {
    text = readFileSync(conf.mtuFile, "utf8").trim();
  } catch (e) {
    if (conf.requireMtuFile) {
      throw new CniError(
        CNI_CODE.tryAgainLater,
        `require_mtu_file is set and ${conf.mtuFile} cannot be read: is the node agent running?`,
        (e as Error).message,
      );
    }
    return FALLBACK_MTU;
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 68 || n > 65535) {
    throw new CniError(CNI_CODE.invalidConfig, `${conf.mtuFile} holds ${JSON.stringify(text)}, not an MTU`);
  }
  return n;
}
