/**
 * What the API server's Service REST storage does on create, so Services made with `kubectl create
 * service` or `kubectl expose` look as they would in a cluster: spec.type defaults to ClusterIP,
 * sessionAffinity to None, internalTrafficPolicy to Cluster, externalTrafficPolicy to Cluster for
 * NodePort and LoadBalancer; a cluster IP is allocated from the service range (kubeadm's default
 * 10.96.0.0/12, the first address skipped as the API server reserves it for `kubernetes`) unless one
 * is given or it is headless ("None"); a given one must be inside the range and free. IPv4 single
 * stack only; NodePorts are not allocated (no kube-proxy here uses them). Errors are the API server's
 * 422 causes. Pure: the caller passes the cluster IPs in use.
 */

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export const DEFAULT_SERVICE_RANGE = "10.96.0.0/12";

function parseRange(cidr: string): { base: number; size: number } {
  const [addr, len] = cidr.split("/");
  const base = ipToInt(addr!);
  const bits = Number(len);
  if (base === undefined || !(bits >= 8 && bits <= 30)) throw new Error(`bad service range ${cidr}`);
  return { base, size: 2 ** (32 - bits) };
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = v * 256 + Number(p);
  }
  return v;
}

const intToIp = (v: number) => [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".");

type ServiceSpec = {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  sessionAffinity?: string;
  internalTrafficPolicy?: string;
  externalTrafficPolicy?: string;
};

/** Fills the defaults into `spec` (mutated) and returns the 422 causes, if any. */
export function defaultServiceSpec(
  spec: ServiceSpec,
  inUse: ReadonlySet<string>,
  range = DEFAULT_SERVICE_RANGE,
): StatusCause[] {
  const r = parseRange(range);
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (spec.type === "ExternalName") return [];
  spec.internalTrafficPolicy ??= "Cluster";
  if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
  const given = spec.clusterIP ?? spec.clusterIPs?.[0] ?? "";
  if (given === "None") {
    spec.clusterIP = "None";
    spec.clusterIPs = ["None"];
  } else if (given !== "") {
    const v = ipToInt(given);
    if (v === undefined || v < r.base || v >= r.base + r.size) {
      return [
        {
          reason: "FieldValueInvalid",
          message: `Invalid value: "${given}": failed to allocate IP ${given}: the provided IP (${given}) is not in the valid range. The range of valid IPs is ${range}`,
          field: "spec.clusterIPs",
        },
      ];
    }
    if (inUse.has(given)) {
      return [
        {
          reason: "FieldValueInvalid",
          message: `Invalid value: []string{"${given}"}: failed to allocate IP ${given}: provided IP is already allocated`,
          field: "spec.clusterIPs",
        },
      ];
    }
    spec.clusterIP = given;
    spec.clusterIPs = [given];
  } else {
    let found: string | undefined;
    // The network address and the first host (the `kubernetes` Service's) are never handed out.
    for (let i = 2; i < r.size - 1 && found === undefined; i++) {
      const ip = intToIp(r.base + i);
      if (!inUse.has(ip)) found = ip;
    }
    if (found === undefined) {
      return [
        {
          reason: "FieldValueInvalid",
          message: `Invalid value: "": failed to allocate a serviceIP: range is full`,
          field: "spec.clusterIPs",
        },
      ];
    }
    spec.clusterIP = found;
    spec.clusterIPs = [found];
  }
  spec.ipFamilies ??= ["IPv4"];
  spec.ipFamilyPolicy ??= "SingleStack";
  return [];
}
