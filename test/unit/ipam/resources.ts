/** projectcalico.org/v3 resources the IPAM tests seed a datastore with. */
import type { Resource } from "../../../src/api/meta.js";

export function poolResource(name: string, cidr: string, spec: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: "projectcalico.org/v3",
    kind: "IPPool",
    metadata: { name },
    spec: { cidr, blockSize: 26, nodeSelector: "all()", ipipMode: "Never", vxlanMode: "Never", ...spec },
  };
}

export function nodeResource(name: string, labels: Record<string, string> = {}): Resource {
  return { apiVersion: "projectcalico.org/v3", kind: "Node", metadata: { name, labels }, spec: {} };
}
