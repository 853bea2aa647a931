/**
 * Calico's WorkloadEndpoint in Kubernetes mode is the Pod (libcalico-go/lib/backend/k8s/conversion and
 * resources/workloadendpoint.go; calico.md §1.11): one endpoint `eth0` per pod scheduled to a node and
 * not on the host network, named `<node>-k8s-<pod>-eth0` with each segment's dashes doubled, its
 * addresses from the CNI plugin's annotations `cni.projectcalico.org/podIP(s)` (else the Pod's status),
 * its container from `cni.projectcalico.org/containerID`, profiles `kns.<ns>` and `ksa.<ns>.<sa>`, the
 * host-side interface `cali` + the first 11 hex digits of sha1("<ns>.<pod>"), and the pod's labels plus
 * Calico's `projectcalico.org/namespace|orchestrator|serviceaccount`. The CNI plugin "writes" an
 * endpoint by patching those annotations; deleting one clears them. A pod without addresses is not an
 * endpoint (Calico skips it). Pure.
 */
import { createHash } from "node:crypto";
import { API_VERSION, type Resource } from "../../api/meta.js";
import type { K8sObjectMeta } from "./node-mapping.js";

export interface K8sPod {
  metadata: K8sObjectMeta;
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    serviceAccountName?: string;
    containers?: {
      ports?: {
        name?: string;
        containerPort: number;
        protocol?: string;
        hostPort?: number;
        hostIP?: string;
      }[];
    }[];
  };
  status?: { podIP?: string; podIPs?: { ip: string }[]; phase?: string };
}

export const POD_IP = "cni.projectcalico.org/podIP";
export const POD_IPS = "cni.projectcalico.org/podIPs";
export const CONTAINER_ID = "cni.projectcalico.org/containerID";

const doubleDashes = (s: string) => s.replaceAll("-", "--");

export function workloadEndpointName(node: string, pod: string, endpoint = "eth0"): string {
  return [node, "k8s", pod, endpoint].map(doubleDashes).join("-");
}

/** `[node, orchestrator, pod, endpoint]` from a name, undoing the doubled dashes; undefined if malformed. */
export function parseWorkloadEndpointName(
  name: string,
): { node: string; pod: string; endpoint: string } | undefined {
  const parts: string[] = [];
  let cur = "";
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "-") {
      if (name[i + 1] === "-") {
        cur += "-";
        i++;
      } else {
        parts.push(cur);
        cur = "";
      }
    } else cur += name[i];
  }
  parts.push(cur);
  if (parts.length !== 4 || parts[1] !== "k8s") return undefined;
  return { node: parts[0]!, pod: parts[2]!, endpoint: parts[3]! };
}

export function hostInterfaceName(namespace: string, pod: string): string {
  return `cali${createHash("sha1").update(`${namespace}.${pod}`).digest("hex").slice(0, 11)}`;
}

const asCidr = (ip: string) => (ip.includes("/") ? ip : ip.includes(":") ? `${ip}/128` : `${ip}/32`);

/** The pod's addresses as Calico sees them: the CNI annotations first, then the Pod's status. */
export function podAddresses(pod: K8sPod): string[] {
  const a = pod.metadata.annotations ?? {};
  const ips = (a[POD_IPS] ?? "").split(",").filter((s) => s.trim() !== "");
  if (ips.length > 0) return ips.map((s) => asCidr(s.trim()));
  if ((a[POD_IP] ?? "") !== "") return [asCidr(a[POD_IP]!)];
  const status = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP ? [pod.status.podIP] : []);
  return status.map(asCidr);
}

/** The endpoint a pod is, or undefined; `requireAddresses: false` maps a pod that lost its addresses too. */
export function workloadEndpointFromPod(pod: K8sPod, requireAddresses = true): Resource | undefined {
  const node = pod.spec?.nodeName;
  const ns = pod.metadata.namespace ?? "default";
  if (node === undefined || node === "" || pod.spec?.hostNetwork) return undefined;
  const ipNetworks = podAddresses(pod);
  if (requireAddresses && ipNetworks.length === 0) return undefined;
  const name = pod.metadata.name;
  const sa = pod.spec?.serviceAccountName ?? "default";
  const ports = (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.name !== undefined && p.name !== "")
      .map((p) => ({
        name: p.name!,
        protocol: p.protocol ?? "TCP",
        port: p.containerPort,
        ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}),
        ...(p.hostIP !== undefined ? { hostIP: p.hostIP } : {}),
      })),
  );
  const a = pod.metadata.annotations ?? {};
  const m = pod.metadata;
  return {
    apiVersion: API_VERSION,
    kind: "WorkloadEndpoint",
    metadata: {
      name: workloadEndpointName(node, name),
      namespace: ns,
      ...(m.uid !== undefined ? { uid: m.uid } : {}),
      ...(m.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
      ...(m.creationTimestamp !== undefined ? { creationTimestamp: m.creationTimestamp } : {}),
      labels: {
        ...(m.labels ?? {}),
        "projectcalico.org/namespace": ns,
        "projectcalico.org/orchestrator": "k8s",
        "projectcalico.org/serviceaccount": sa,
      },
    },
    spec: {
      orchestrator: "k8s",
      node,
      pod: name,
      endpoint: "eth0",
      ...(a[CONTAINER_ID] ? { containerID: a[CONTAINER_ID] } : {}),
      serviceAccountName: sa,
      ipNetworks,
      profiles: [`kns.${ns}`, `ksa.${ns}.${sa}`],
      interfaceName: hostInterfaceName(ns, name),
      ...(ports.length > 0 ? { ports } : {}),
    },
  };
}

/** The merge patch by which the CNI plugin records endpoint `r` on its Pod (or clears it: `r` undefined). */
export function workloadEndpointPatch(
  r: Resource | undefined,
  resourceVersion?: string,
): Record<string, unknown> {
  const spec = (r?.spec ?? {}) as { ipNetworks?: string[]; containerID?: string };
  const ips = (spec.ipNetworks ?? []).map((n) => n);
  return {
    metadata: {
      annotations: {
        [POD_IP]: ips[0] ?? "",
        [POD_IPS]: ips.join(","),
        ...(r !== undefined && spec.containerID !== undefined ? { [CONTAINER_ID]: spec.containerID } : {}),
      },
      ...(resourceVersion !== undefined && resourceVersion !== "" ? { resourceVersion } : {}),
    },
  };
}
