/**
 * Calico's etcd layout for IPAM (calico.md §1.13; libcalico-go model/{block,block_affinity,ipam_handle,
 * ipam_config}.go): in etcd mode Calico's IPAM does not read projectcalico.org/v3 objects but model
 * values under /calico/ipam/v2/, keyed by what they describe rather than by name:
 *
 *   IPAMBlock          /calico/ipam/v2/assignment/ipv4/block/10.0.0.0-26      AllocationBlock JSON
 *   BlockAffinity      /calico/ipam/v2/host/<node>/ipv4/block/10.0.0.0-26      {"state","deleted"}
 *                      (/calico/ipam/v2/virtual/<name>/... for virtual affinities)
 *   IPAMHandle         /calico/ipam/v2/handle/<handleID>                      {"block","deleted"}
 *   IPAMConfiguration  /calico/ipam/v2/config                                 {"strict_affinity",...}
 *
 * so tabby and calico-ipam can share one etcd. This module maps those keys and values to and from the
 * v3 resources the rest of tabby uses (name, spec, and the labels Calico stamps on affinities), purely.
 * What the model has no room for (uid, creationTimestamp, annotations, an affinity's v3-only fields,
 * IPAMConfiguration's fields other than the three above) is not stored in etcd mode, as in Calico.
 *
 * A v3 name does not always say which key it is: an affinity's name is `<node>-<cidr with dashes>`, where
 * an IPv6 CIDR's dashes can be split more than one way and a long name is shortened with a hash. So
 * `candidatePaths` lists every key a name can denote (usually one; the backend reads them and takes the
 * one that exists) and `mayBeHashedAffinity` says when only a scan of the affinities can tell.
 */

import { normalizeCidr } from "../../../ipam/ip.js";
import { affinityLabels, affinityName, blockName, handleName } from "../../../ipam/names.js";
import type { Resource } from "../../api/meta.js";
import { API_VERSION } from "../../api/meta.js";
import { DatastoreError } from "../errors.js";
import type { ResourceKey } from "../types.js";

export const IPAM_ROOT = "/calico/ipam/v2/";
const BLOCKS = `${IPAM_ROOT}assignment/`;
const HANDLES = `${IPAM_ROOT}handle/`;
const CONFIG = `${IPAM_ROOT}config`;
const AFFINITY_TYPES = ["host", "virtual"] as const;

const MODEL_KINDS = new Set(["IPAMBlock", "BlockAffinity", "IPAMHandle", "IPAMConfiguration"]);

const BLOCK_PATH = /^\/calico\/ipam\/v2\/assignment\/ipv([46])\/block\/([^/]+)$/;
const AFFINITY_PATH = /^\/calico\/ipam\/v2\/(host|virtual)\/([^/]+)\/ipv([46])\/block\/([^/]+)$/;
const HANDLE_PATH = /^\/calico\/ipam\/v2\/handle\/([^/]+)$/;

/** Which model kind a key under /calico/ipam/v2/ holds, if any. */
export function modelKindOf(path: string): string | undefined {
  if (BLOCK_PATH.test(path)) return "IPAMBlock";
  if (AFFINITY_PATH.test(path)) return "BlockAffinity";
  if (HANDLE_PATH.test(path)) return "IPAMHandle";
  return path === CONFIG ? "IPAMConfiguration" : undefined;
}

/** Whether a kind lives under Calico's IPAM model keys in etcd rather than under /calico/resources/v3. */
export function isModelKind(kind: string): boolean {
  return MODEL_KINDS.has(kind);
}

/** The prefixes a list of the kind reads (an affinity can be of either type). */
export function listPrefixes(kind: string): string[] {
  switch (kind) {
    case "IPAMBlock":
      return [BLOCKS];
    case "BlockAffinity":
      return AFFINITY_TYPES.map((t) => `${IPAM_ROOT}${t}/`);
    case "IPAMHandle":
      return [HANDLES];
    default:
      return [CONFIG];
  }
}

/** One prefix covering the kind, for a watch (events of other kinds under it are decoded as undefined). */
export function watchPrefix(kind: string): string {
  const prefixes = listPrefixes(kind);
  return prefixes.length === 1 ? prefixes[0]! : IPAM_ROOT;
}

/** `10.0.0.0/26` -> `10.0.0.0-26`, as Calico writes a CIDR into a key. */
function keyCidr(cidr: string): string {
  return cidr.replace("/", "-");
}

function version(cidr: string): 4 | 6 {
  return cidr.includes(":") ? 6 : 4;
}

function canonical(cidr: unknown, field: string, key: ResourceKey): string {
  const c = typeof cidr === "string" ? normalizeCidr(cidr) : undefined;
  if (c === undefined) {
    throw new DatastoreError(
      "DATASTORE_INVALID",
      `${key.kind}(${key.name}): ${field} ${JSON.stringify(cidr)} is not a CIDR; its etcd key is made from it`,
      key,
    );
  }
  return c;
}

function spec(r: Resource): Record<string, unknown> {
  return (r.spec ?? {}) as Record<string, unknown>;
}

/** The key a resource is written under; its name must be the one Calico derives from that key. */
export function pathOfResource(r: Resource): string {
  const key: ResourceKey = { kind: r.kind, name: r.metadata.name };
  const s = spec(r);
  let path: string;
  let expected: string;
  switch (r.kind) {
    case "IPAMBlock": {
      const cidr = canonical(s.cidr, "spec.cidr", key);
      path = `${BLOCKS}ipv${version(cidr)}/block/${keyCidr(cidr)}`;
      expected = blockName(cidr);
      break;
    }
    case "BlockAffinity": {
      const cidr = canonical(s.cidr, "spec.cidr", key);
      const node = typeof s.node === "string" ? s.node : "";
      if (node === "" || node.includes("/")) {
        throw new DatastoreError(
          "DATASTORE_INVALID",
          `BlockAffinity(${r.metadata.name}): spec.node ${JSON.stringify(s.node)} cannot be part of an etcd key`,
          key,
        );
      }
      const type = s.type === "virtual" ? "virtual" : "host";
      path = `${IPAM_ROOT}${type}/${node}/ipv${version(cidr)}/block/${keyCidr(cidr)}`;
      expected = affinityName(node, cidr);
      break;
    }
    case "IPAMHandle": {
      const id = typeof s.handleID === "string" && s.handleID !== "" ? s.handleID : r.metadata.name;
      path = `${HANDLES}${id}`;
      expected = handleName(id);
      break;
    }
    default:
      path = CONFIG;
      expected = "default";
  }
  if (r.metadata.name !== expected) {
    throw new DatastoreError(
      "DATASTORE_INVALID",
      `${r.kind}(${r.metadata.name}): in etcd its name is derived from its spec and must be ${JSON.stringify(expected)}`,
      key,
    );
  }
  return path;
}

/** `10-0-0-0-26` -> `10.0.0.0/26`, `fd00--1-0-122` -> `fd00::1:0/122`; undefined unless canonical. */
function cidrOfName(name: string): string | undefined {
  const dash = name.lastIndexOf("-");
  if (dash <= 0) return undefined;
  const body = name.slice(0, dash);
  const addr = /^\d{1,3}(-\d{1,3}){3}$/.test(body) ? body.replace(/-/g, ".") : body.replace(/-/g, ":");
  const cidr = `${addr}/${name.slice(dash + 1)}`;
  const c = normalizeCidr(cidr);
  return c !== undefined && blockName(c) === name ? c : undefined;
}

/** Every key `key` may denote, most likely first; empty when the name cannot be one of the kind's. */
export function candidatePaths(key: ResourceKey): string[] {
  switch (key.kind) {
    case "IPAMBlock": {
      const cidr = cidrOfName(key.name);
      return cidr === undefined ? [] : [`${BLOCKS}ipv${version(cidr)}/block/${keyCidr(cidr)}`];
    }
    case "BlockAffinity": {
      const splits: string[][] = [];
      for (let i = key.name.indexOf("-"); i > 0; i = key.name.indexOf("-", i + 1)) {
        const node = key.name.slice(0, i);
        const cidr = cidrOfName(key.name.slice(i + 1));
        if (cidr === undefined || node.includes("/") || affinityName(node, cidr) !== key.name) continue;
        splits.push(
          AFFINITY_TYPES.map((t) => `${IPAM_ROOT}${t}/${node}/ipv${version(cidr)}/block/${keyCidr(cidr)}`),
        );
      }
      // The longest node name first: a node named like a CIDR fragment is rarer than one with dashes.
      return splits.reverse().flat();
    }
    case "IPAMHandle":
      return key.name === "" || key.name.includes("/") ? [] : [`${HANDLES}${key.name}`];
    default:
      return key.name === "default" ? [CONFIG] : [];
  }
}

/** True when an affinity name may have been shortened with a hash, so only a scan can find its key. */
export function mayBeHashedAffinity(key: ResourceKey): boolean {
  return key.kind === "BlockAffinity" && key.name.length >= 253 - 13;
}

function parseJson(path: string, value: Buffer, modRevision: string): Record<string, unknown> {
  // Calico once stored affinities with an empty value.
  if (value.length === 0) return {};
  try {
    const v = JSON.parse(value.toString("utf8")) as unknown;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new DatastoreError("DATASTORE_IO", `${path}@${modRevision}: value is not a JSON object`);
}

function resource(
  kind: string,
  name: string,
  modRevision: string,
  body: Record<string, unknown>,
  labels?: Record<string, string>,
): Resource {
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: { name, resourceVersion: modRevision, ...(labels !== undefined ? { labels } : {}) },
    spec: body,
  };
}

/** Go writes nil slices and maps as null; the v3 shapes want them empty or absent. */
function blockSpec(v: Record<string, unknown>, cidr: string): Record<string, unknown> {
  const { hostAffinity, strictAffinity: _s, ...rest } = v;
  const out: Record<string, unknown> = { ...rest, cidr };
  if (out.affinity === null || out.affinity === undefined) {
    delete out.affinity;
    // The deprecated field of old deployments, upgraded as Calico upgrades it.
    if (typeof hostAffinity === "string") out.affinity = `host:${hostAffinity}`;
  }
  if (out.affinityClaimTime === null) delete out.affinityClaimTime;
  out.allocations = Array.isArray(v.allocations) ? v.allocations : [];
  out.unallocated = Array.isArray(v.unallocated) ? v.unallocated : [];
  out.attributes = (Array.isArray(v.attributes) ? v.attributes : []).map((a: Record<string, unknown>) => {
    const attr: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(a ?? {})) if (x !== null) attr[k] = x;
    return attr;
  });
  out.sequenceNumber = typeof v.sequenceNumber === "number" ? v.sequenceNumber : 0;
  if (out.sequenceNumberForAllocation === null) delete out.sequenceNumberForAllocation;
  out.deleted = v.deleted === true;
  out.strictAffinity = false;
  return out;
}

/**
 * The resource stored at `path`, or undefined when the key is not one of `kind`'s (a watch on the
 * IPAM root sees every kind's keys; a malformed key Calico itself would skip is skipped too).
 */
export function decodeModel(
  kind: string,
  path: string,
  value: Buffer,
  modRevision: string,
): Resource | undefined {
  switch (kind) {
    case "IPAMBlock": {
      const m = BLOCK_PATH.exec(path);
      const cidr = m === null ? undefined : normalizeCidr(m[2]!.replace(/-(\d+)$/, "/$1"));
      if (cidr === undefined) return undefined;
      return resource(
        kind,
        blockName(cidr),
        modRevision,
        blockSpec(parseJson(path, value, modRevision), cidr),
      );
    }
    case "BlockAffinity": {
      const m = AFFINITY_PATH.exec(path);
      const cidr = m === null ? undefined : normalizeCidr(m[4]!.replace(/-(\d+)$/, "/$1"));
      if (m === null || cidr === undefined) return undefined;
      const type = m[1] as "host" | "virtual";
      const node = m[2]!;
      const v = parseJson(path, value, modRevision);
      const state = typeof v.state === "string" && v.state !== "" ? v.state : "confirmed";
      return resource(
        kind,
        affinityName(node, cidr),
        modRevision,
        { state, node, type, cidr, deleted: v.deleted === true },
        affinityLabels(node, type, cidr),
      );
    }
    case "IPAMHandle": {
      const m = HANDLE_PATH.exec(path);
      if (m === null) return undefined;
      const v = parseJson(path, value, modRevision);
      const block = v.block !== null && typeof v.block === "object" ? v.block : {};
      return resource(kind, handleName(m[1]!), modRevision, {
        handleID: m[1]!,
        block,
        deleted: v.deleted === true,
      });
    }
    default: {
      if (path !== CONFIG) return undefined;
      const v = parseJson(path, value, modRevision);
      return resource(kind, "default", modRevision, {
        strictAffinity: v.strict_affinity === true,
        autoAllocateBlocks: v.auto_allocate_blocks === true,
        maxBlocksPerHost: typeof v.maxBlocksPerHost === "number" ? v.maxBlocksPerHost : 0,
      });
    }
  }
}

/** The model value Calico stores for a resource, field for field (Go's field order and null/omitempty). */
export function encodeModel(r: Resource): string {
  const s = spec(r);
  switch (r.kind) {
    case "IPAMBlock": {
      const {
        cidr,
        affinity,
        affinityClaimTime,
        allocations,
        unallocated,
        attributes,
        strictAffinity: _s,
        ...rest
      } = s;
      const { sequenceNumber, sequenceNumberForAllocation, deleted, ...extra } = rest;
      return JSON.stringify({
        cidr,
        affinity: affinity ?? null,
        ...(affinityClaimTime !== undefined ? { affinityClaimTime } : {}),
        allocations: allocations ?? [],
        unallocated: unallocated ?? [],
        attributes: ((attributes ?? []) as Record<string, unknown>[]).map((a) => {
          const { handle_id, secondary, ...more } = a;
          return { handle_id: handle_id ?? null, secondary: secondary ?? null, ...more };
        }),
        sequenceNumber: sequenceNumber ?? 0,
        sequenceNumberForAllocation: sequenceNumberForAllocation ?? null,
        deleted: deleted === true,
        ...extra,
      });
    }
    case "BlockAffinity":
      return JSON.stringify({ state: s.state ?? "confirmed", deleted: s.deleted === true });
    case "IPAMHandle":
      return JSON.stringify({ block: s.block ?? {}, deleted: s.deleted === true });
    default:
      return JSON.stringify({
        ...(s.strictAffinity === true ? { strict_affinity: true } : {}),
        // Absent in a v3 object means the CRD default (true); absent in the model means false.
        ...(s.autoAllocateBlocks !== false ? { auto_allocate_blocks: true } : {}),
        ...(typeof s.maxBlocksPerHost === "number" && s.maxBlocksPerHost !== 0
          ? { maxBlocksPerHost: s.maxBlocksPerHost }
          : {}),
      });
  }
}
