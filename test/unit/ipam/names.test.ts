import { describe, expect, it } from "vitest";
import { affinityLabels, affinityName, blockName, handleName, hostnameHash } from "../../../ipam/names.js";

describe("ipam/names", () => {
  it("names blocks and affinities as Calico's Kubernetes backend does", () => {
    expect(blockName("10.244.1.0/26")).toBe("10-244-1-0-26");
    expect(blockName("fd00::40/122")).toBe("fd00--40-122");
    expect(affinityName("node-1", "10.244.1.0/26")).toBe("node-1-10-244-1-0-26");
  });

  it("shortens affinity names of long hosts to under 253 characters with a hash suffix", () => {
    const host = "h".repeat(250);
    const name = affinityName(host, "10.244.1.0/26");
    expect(name.length).toBeLessThan(253);
    expect(name).toMatch(/^h+-10-244-1-0-26-[0-9a-f]{11}$/);
    expect(affinityName(`${host}x`, "10.244.1.0/26")).not.toBe(name);
  });

  it("stores handles under their lower-case ID", () => {
    expect(handleName("k8s-pod-network.ABC")).toBe("k8s-pod-network.abc");
  });

  it("labels affinities with a 52-character base32 sha3-256 of the host", () => {
    expect(hostnameHash("n1")).toMatch(/^[A-Z2-7]{52}$/);
    expect(hostnameHash("n1")).not.toBe(hostnameHash("n2"));
    expect(affinityLabels("n1", "host", "fd00::/122")).toEqual({
      "projectcalico.org/hostname-hash": hostnameHash("n1"),
      "projectcalico.org/affinity-type": "host",
      "projectcalico.org/ip-version": "6",
    });
  });
});
