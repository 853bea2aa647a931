import { describe, expect, it } from "vitest";
import { defaultServiceSpec } from "../../../src/kube/service-ips.js";

describe("Service defaults and cluster IP allocation (the API server's Service storage)", () => {
  it("allocates the next free address after the reserved first one, with the defaults", () => {
    const spec: Record<string, unknown> = { ports: [{ port: 80 }] };
    expect(defaultServiceSpec(spec, new Set(["10.96.0.2"]))).toEqual([]);
    expect(spec).toMatchObject({
      type: "ClusterIP",
      clusterIP: "10.96.0.3",
      clusterIPs: ["10.96.0.3"],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
    });
    expect(spec.externalTrafficPolicy).toBeUndefined();
  });

  it("NodePort and LoadBalancer get externalTrafficPolicy Cluster unless given", () => {
    const lb: Record<string, unknown> = { type: "LoadBalancer" };
    defaultServiceSpec(lb, new Set());
    expect(lb.externalTrafficPolicy).toBe("Cluster");
    const local: Record<string, unknown> = { type: "NodePort", externalTrafficPolicy: "Local" };
    defaultServiceSpec(local, new Set());
    expect(local.externalTrafficPolicy).toBe("Local");
  });

  it("headless and ExternalName Services get no address", () => {
    const headless: Record<string, unknown> = { clusterIP: "None" };
    expect(defaultServiceSpec(headless, new Set())).toEqual([]);
    expect(headless.clusterIPs).toEqual(["None"]);
    const ext: Record<string, unknown> = { type: "ExternalName", externalName: "db.example" };
    defaultServiceSpec(ext, new Set());
    expect(ext.clusterIP).toBeUndefined();
  });

  it("refuses a taken address, one outside the range, and a full range, naming spec.clusterIPs", () => {
    expect(defaultServiceSpec({ clusterIP: "10.96.0.9" }, new Set(["10.96.0.9"]))[0]).toMatchObject({
      field: "spec.clusterIPs",
      message: expect.stringContaining("provided IP is already allocated"),
    });
    expect(defaultServiceSpec({ clusterIP: "172.16.0.1" }, new Set())[0]?.message).toContain(
      "The range of valid IPs is 10.96.0.0/12",
    );
    const all = new Set(["10.0.0.2", "10.0.0.3"]);
    expect(defaultServiceSpec({}, all, "10.0.0.0/29")[0]).toBeUndefined();
    const full = new Set(["10.0.0.2"]);
    expect(defaultServiceSpec({}, full, "10.0.0.0/30")[0]?.message).toContain("range is full");
  });
});
