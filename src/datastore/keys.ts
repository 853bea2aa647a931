/**
 * Storage paths in Calico's etcd v3 layout for projectcalico.org/v3 resources
 * (libcalico-go/lib/backend/model/resource.go: `/calico/resources/v3/projectcalico.org/<plural>/
 * [<namespace>/]<name>`). The embedded store keys its snapshot by these paths so that its file reads like
 * Calico's keyspace; the etcd backend keeps the IPAM kinds under Calico's model keys instead
 * (etcd/ipam-keys.ts, calico.md §1.13). Pure.
 */
import { findKind } from "../api/registry.js";
import type { ResourceKey } from "./types.js";

export const RESOURCE_PREFIX = "/calico/resources/v3/projectcalico.org/";

export function storagePath(key: ResourceKey): string {
  const def = findKind(key.kind);
  if (def === undefined) throw new Error(`no kind ${key.kind}`);
  const ns = def.namespaced ? `${key.namespace ?? "default"}/` : "";
  return `${RESOURCE_PREFIX}${def.plural}/${ns}${key.name}`;
}

/** The path prefix under which all resources of a kind (in a namespace) live. */
export function kindPrefix(kind: string, namespace?: string): string {
  const def = findKind(kind);
  if (def === undefined) throw new Error(`no kind ${kind}`);
  return `${RESOURCE_PREFIX}${def.plural}/${def.namespaced && namespace !== undefined ? `${namespace}/` : ""}`;
}
