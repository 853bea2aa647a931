/**
 * Calico's etcd IPAM layout (src/datastore/etcd/ipam-keys.ts): keys from resources and from names, the
 * model JSON Calico's Go structs write (field order, nulls, omitempty), and values as Calico left them
 * (nulls, the deprecated hostAffinity, empty affinity values) read back as v3 resources.
 */
import { describe, expect, it } from "vitest";
import type { Resource } from "../../../src/api/meta.js";
import {
  candidatePaths,
  decodeModel,
  encodeModel,
  modelKindOf,
  pathOfResource,
} from "../../../src/datastore/etcd/ipam-keys.js";
import { isTabbyError } from "../../../src/util/errors.js";

const res = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: "projectcalico.org/v3",
  kind,
  metadata: { name },
  spec,
});

const block = (spec: Record<string, unknown> = {}) =>
  res("IPAMBlock", "10-65-0-0-26", {
    cidr: "10.65.0.0/26",
    affinity: "host:n1",
    allocations: [0, null],
    unallocated: [1],
    attributes: [{ handle_id: "k8s-pod-network.c1", secondary: { node: "n1", pod: "web" } }],
    sequenceNumber: 7,
    sequenceNumberForAllocation: { "0": 6 },
    deleted: false,
    strictAffinity: false,
    ...spec,
  });

describe("etcd IPAM keys", () => {
  it("keys each kind as Calico's model does", () => {
    expect(pathOfResource(block())).toBe("/calico/ipam/v2/assignment/ipv4/block/10.65.0.0-26");
    expect(pathOfResource(res("IPAMBlock", "fd00---122", { cidr: "fd00::/122" }))).toBe(
      "/calico/ipam/v2/assignment/ipv6/block/fd00::-122",
    );
    const aff = { state: "confirmed", node: "node-1", cidr: "10.65.0.64/26", deleted: false };
    expect(pathOfResource(res("BlockAffinity", "node-1-10-65-0-64-26", aff))).toBe(
      "/calico/ipam/v2/host/node-1/ipv4/block/10.65.0.64-26",
    );
    expect(
      pathOfResource(res("BlockAffinity", "lb-10-65-0-64-26", { ...aff, node: "lb", type: "virtual" })),
    ).toBe("/calico/ipam/v2/virtual/lb/ipv4/block/10.65.0.64-26");
    expect(
      pathOfResource(res("IPAMHandle", "k8s-pod-network.abc", { handleID: "k8s-pod-network.abc" })),
    ).toBe("/calico/ipam/v2/handle/k8s-pod-network.abc");
    expect(pathOfResource(res("IPAMConfiguration", "default", {}))).toBe("/calico/ipam/v2/config");
    expect(modelKindOf("/calico/ipam/v2/host/n1/ipv4/block/10.65.0.0-26")).toBe("BlockAffinity");
    expect(modelKindOf("/calico/ipam/v2/assignment/ipv6/block/fd00::-122")).toBe("IPAMBlock");
    expect(modelKindOf("/calico/ipam/v2/handle/x")).toBe("IPAMHandle");
    expect(modelKindOf("/calico/ipam/v2/config")).toBe("IPAMConfiguration");
    expect(modelKindOf("/calico/ipam/v2/other")).toBeUndefined();
  });

  it("refuses a name that is not the one Calico derives from the spec, naming the expected one", () => {
    let err: unknown;
    try {
      pathOfResource(block({ cidr: "10.65.0.64/26" }));
    } catch (e) {
      err = e;
    }
    expect(isTabbyError(err, "DATASTORE_INVALID")).toBe(true);
    expect(String(err)).toContain('"10-65-0-64-26"');
    expect(() => pathOfResource(block({ cidr: "10.65.0.1/26" }))).not.toThrow(); // masked like Calico
    expect(() => pathOfResource(block({ cidr: "not-a-cidr" }))).toThrow(
      /spec.cidr "not-a-cidr" is not a CIDR/,
    );
  });

  it("lists every key a name can denote: both affinity types, every way to split an IPv6 name", () => {
    expect(candidatePaths({ kind: "IPAMBlock", name: "10-65-0-0-26" })).toEqual([
      "/calico/ipam/v2/assignment/ipv4/block/10.65.0.0-26",
    ]);
    expect(candidatePaths({ kind: "IPAMBlock", name: "fd00---122" })).toEqual([
      "/calico/ipam/v2/assignment/ipv6/block/fd00::-122",
    ]);
    expect(candidatePaths({ kind: "IPAMBlock", name: "nonsense" })).toEqual([]);
    expect(candidatePaths({ kind: "BlockAffinity", name: "node-1-10-65-0-0-26" })).toEqual([
      "/calico/ipam/v2/host/node-1/ipv4/block/10.65.0.0-26",
      "/calico/ipam/v2/virtual/node-1/ipv4/block/10.65.0.0-26",
    ]);
    // `n-1` + fd00::/122, or `n` + 1:fd00::/122: both are real keys a name could mean.
    expect(candidatePaths({ kind: "BlockAffinity", name: "n-1-fd00---122" })).toEqual([
      "/calico/ipam/v2/host/n-1/ipv6/block/fd00::-122",
      "/calico/ipam/v2/virtual/n-1/ipv6/block/fd00::-122",
      "/calico/ipam/v2/host/n/ipv6/block/1:fd00::-122",
      "/calico/ipam/v2/virtual/n/ipv6/block/1:fd00::-122",
    ]);
    expect(candidatePaths({ kind: "IPAMConfiguration", name: "default" })).toEqual([
      "/calico/ipam/v2/config",
    ]);
    expect(candidatePaths({ kind: "IPAMConfiguration", name: "other" })).toEqual([]);
  });

  it("writes the model JSON Calico's structs marshal to, field for field", () => {
    expect(encodeModel(block())).toBe(
      '{"cidr":"10.65.0.0/26","affinity":"host:n1","allocations":[0,null],"unallocated":[1],' +
        '"attributes":[{"handle_id":"k8s-pod-network.c1","secondary":{"node":"n1","pod":"web"}}],' +
        '"sequenceNumber":7,"sequenceNumberForAllocation":{"0":6},"deleted":false}',
    );
    const unaffine = block({ affinity: undefined, attributes: [{}], sequenceNumberForAllocation: undefined });
    expect(JSON.parse(encodeModel(unaffine))).toMatchObject({
      affinity: null,
      attributes: [{ handle_id: null, secondary: null }],
      sequenceNumberForAllocation: null,
    });
    const aff = res("BlockAffinity", "n1-10-65-0-0-26", {
      state: "pending",
      node: "n1",
      cidr: "10.65.0.0/26",
    });
    expect(encodeModel(aff)).toBe('{"state":"pending","deleted":false}');
    const handle = res("IPAMHandle", "h", { handleID: "h", block: { "10.65.0.0/26": 2 }, deleted: false });
    expect(encodeModel(handle)).toBe('{"block":{"10.65.0.0/26":2},"deleted":false}');
    const config = (spec: Record<string, unknown>) => encodeModel(res("IPAMConfiguration", "default", spec));
    expect(config({ strictAffinity: true, autoAllocateBlocks: true, maxBlocksPerHost: 4 })).toBe(
      '{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":4}',
    );
    expect(config({ strictAffinity: false, autoAllocateBlocks: false })).toBe("{}");
    expect(config({ strictAffinity: false })).toBe('{"auto_allocate_blocks":true}');
  });

  it("reads values as Calico leaves them into the v3 shapes", () => {
    const b = decodeModel(
      "IPAMBlock",
      "/calico/ipam/v2/assignment/ipv4/block/10.65.0.0-26",
      Buffer.from(
        '{"cidr":"10.65.0.0/26","affinity":null,"hostAffinity":"old-node","allocations":[null,0],' +
          '"unallocated":null,"attributes":[{"handle_id":null,"secondary":null}],"sequenceNumber":3,' +
          '"sequenceNumberForAllocation":null,"deleted":false}',
      ),
      "42",
    )!;
    expect(b.metadata).toEqual({ name: "10-65-0-0-26", resourceVersion: "42" });
    expect(b.spec).toEqual({
      cidr: "10.65.0.0/26",
      affinity: "host:old-node",
      allocations: [null, 0],
      unallocated: [],
      attributes: [{}],
      sequenceNumber: 3,
      deleted: false,
      strictAffinity: false,
    });
    const a = decodeModel(
      "BlockAffinity",
      "/calico/ipam/v2/host/n-1/ipv6/block/fd00::-122",
      Buffer.alloc(0),
      "5",
    )!;
    expect(a.metadata.name).toBe("n-1-fd00---122");
    expect(a.metadata.labels?.["projectcalico.org/ip-version"]).toBe("6");
    expect(a.spec).toEqual({
      state: "confirmed",
      node: "n-1",
      type: "host",
      cidr: "fd00::/122",
      deleted: false,
    });
    const h = decodeModel(
      "IPAMHandle",
      "/calico/ipam/v2/handle/K8s-Net.ABC",
      Buffer.from('{"block":null}'),
      "6",
    )!;
    expect(h.metadata.name).toBe("k8s-net.abc");
    expect(h.spec).toEqual({ handleID: "K8s-Net.ABC", block: {}, deleted: false });
    const c = decodeModel(
      "IPAMConfiguration",
      "/calico/ipam/v2/config",
      Buffer.from('{"strict_affinity":true}'),
      "7",
    )!;
    expect(c.spec).toEqual({ strictAffinity: true, autoAllocateBlocks: false, maxBlocksPerHost: 0 });
    expect(decodeModel("IPAMBlock", "/calico/ipam/v2/handle/x", Buffer.from("{}"), "1")).toBeUndefined();
    expect(() => decodeModel("IPAMHandle", "/calico/ipam/v2/handle/x", Buffer.from("[1]"), "8")).toThrow(
      /handle\/x@8: value is not a JSON object/,
    );
  });

  it("round-trips what tabby writes", () => {
    const b = block();
    const back = decodeModel("IPAMBlock", pathOfResource(b), Buffer.from(encodeModel(b)), "9")!;
    expect(back.spec).toEqual(b.spec);
    expect(back.metadata.name).toBe(b.metadata.name);
  });
});
