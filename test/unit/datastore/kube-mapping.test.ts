/**
 * The pure KDD mappings: v3 ⇄ crd.projectcalico.org/v1 (Calico's metadata annotation, IPAMConfig,
 * BlockAffinity.deleted as a string), WorkloadEndpoint names with doubled dashes, and field selectors.
 */
import { describe, expect, it } from "vitest";
import { findKind } from "../../../src/api/registry.js";
import { parseFieldSelector } from "../../../src/datastore/field-selector.js";
import { fromCrd, METADATA_ANNOTATION, toCrd } from "../../../src/datastore/kubernetes/crd-convert.js";
import {
  hostInterfaceName,
  parseWorkloadEndpointName,
  workloadEndpointName,
} from "../../../src/datastore/kubernetes/workload-mapping.js";

describe("KDD mappings", () => {
  it("round-trips a v3 resource through its v1 custom resource, as Calico stores it", () => {
    const v3 = {
      apiVersion: "projectcalico.org/v3",
      kind: "IPAMConfiguration",
      metadata: {
        name: "default",
        uid: "u1",
        resourceVersion: "7",
        labels: { a: "b" },
        annotations: { c: "d" },
      },
      spec: { strictAffinity: false, autoAllocateBlocks: true },
    };
    const v1 = toCrd(v3, findKind("IPAMConfiguration")!);
    expect(v1.kind).toBe("IPAMConfig");
    expect(v1.metadata.labels).toBeUndefined();
    expect(JSON.parse(v1.metadata.annotations![METADATA_ANNOTATION]!)).toEqual({
      creationTimestamp: null,
      labels: { a: "b" },
      annotations: { c: "d" },
    });
    const back = fromCrd({ ...v1, metadata: { ...v1.metadata, creationTimestamp: "2026-01-01T00:00:00Z" } });
    expect(back).toEqual({ ...v3, metadata: { ...v3.metadata, creationTimestamp: "2026-01-01T00:00:00Z" } });
    const affinity = toCrd(
      {
        apiVersion: "projectcalico.org/v3",
        kind: "BlockAffinity",
        metadata: { name: "x" },
        spec: { deleted: false },
      },
      findKind("BlockAffinity")!,
    );
    expect(affinity.spec).toEqual({ deleted: "false" });
    expect(fromCrd(affinity).spec).toEqual({ deleted: false });
  });

  it("names WorkloadEndpoints as Calico does and parses the names back", () => {
    expect(workloadEndpointName("n1", "web-abc")).toBe("n1-k8s-web--abc-eth0");
    expect(parseWorkloadEndpointName("node--a-k8s-web--abc-eth0")).toEqual({
      node: "node-a",
      pod: "web-abc",
      endpoint: "eth0",
    });
    expect(parseWorkloadEndpointName("n1-cni-abc-eth0")).toBeUndefined();
    expect(hostInterfaceName("default", "web-abc")).toMatch(/^cali[0-9a-f]{11}$/);
  });

  it("parses Kubernetes field selectors on name and namespace only", () => {
    expect(parseFieldSelector("metadata.name=a,metadata.namespace!=b")).toEqual([
      { field: "metadata.name", op: "=", value: "a" },
      { field: "metadata.namespace", op: "!=", value: "b" },
    ]);
    expect(() => parseFieldSelector("spec.cidr=x")).toThrow(/not supported/);
  });
});
