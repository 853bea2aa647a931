/**
 * The names IPAM objects are stored under, as Calico's Kubernetes backend builds them, so that a
 * cluster's IPAM state reads the same in tabby and in Calico: blocks by their CIDR
 * (libcalico-go/lib/names/cidr.go: `10.244.1.0/26` -> `10-244-1-0-26`), affinities as `<host>-<cidrname>`
 * shortened with a sha256 suffix past 253 characters (k8s/resources/ipam_affinity_v1.go), handles in
 * lower case (ipam_handle.go), and the labels that make a host's affinities listable
 * (model/block_affinity.go EnsureBlockAffinityLabelsV3: sha3-256 of the host, base32 without padding).
 */
import { createHash } from "node:crypto";

export function blockName(cidr: string): string {
  return cidr.replace(/[.:/]/g, "-");
}

export function affinityName(host: string, cidr: string): string {
  const cidrName = blockName(cidr);
  const name = `${host}-${cidrName}`;
  if (name.length < 253) return name;
  // Room for the CIDR, an 11-character hash and two separators.
  const short = `${host.slice(0, 252 - cidrName.length - 13)}-${cidrName}`;
  const hash = createHash("sha256").update(`${host}+${cidrName}`).digest("hex").slice(0, 11);
  return `${short}-${hash}`;
}

export function handleName(handleId: string): string {
  return handleId.toLowerCase();
}

export const LABEL_HOSTNAME_HASH = "projectcalico.org/hostname-hash";
export const LABEL_AFFINITY_TYPE = "projectcalico.org/affinity-type";
export const LABEL_IP_VERSION = "projectcalico.org/ip-version";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32NoPad(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Label value for a host: label values are at most 63 characters, host names may be longer. */
export function hostnameHash(host: string): string {
  return base32NoPad(createHash("sha3-256").update(host).digest());
}

export function affinityLabels(host: string, type: "host" | "virtual", cidr: string): Record<string, string> {
  return {
    [LABEL_HOSTNAME_HASH]: hostnameHash(host),
    [LABEL_AFFINITY_TYPE]: type,
    [LABEL_IP_VERSION]: cidr.includes(":") ? "6" : "4",
  };
}
