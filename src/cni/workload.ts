/**
 * Who the CNI call is for and the WorkloadEndpoint that records it. Kubelet sends K8S_POD_NAMESPACE and
 * K8S_POD_NAME in CNI_ARGS: the endpoint is `<node>-k8s-<pod>-eth0` (in KDD the pod's annotations);
 * podman and other runtimes send neither: the endpoint is `<node>-cni-<containerID>-eth0` with
 * orchestrator `cni`, and the host interface is `cali` + the container ID's first 11 characters, as
 * Calico's plugin names it outside Kubernetes. Pure.
 */
import { API_VERSION, type Resource } from "../api/meta.js";
import { hostInterfaceName, workloadEndpointName } from "../datastore/kubernetes/workload-mapping.js";

export interface Workload {
  readonly orchestrator: "k8s" | "cni";
  readonly node: string;
  readonly namespace: string;
  /** The pod name, or the container ID outside Kubernetes. */
  readonly workload: string;
  readonly containerId: string;
  readonly endpoint: string;
  readonly hostIfName: string;
  readonly endpointName: string;
}

export function workloadFor(
  node: string,
  containerId: string,
  ifName: string,
  args: ReadonlyMap<string, string>,
): Workload {
  const pod = args.get("K8S_POD_NAME") ?? "";
  const ns = args.get("K8S_POD_NAMESPACE") ?? "";
  // Calico names the endpoint after the container's interface only for non-default ones.
  const endpoint = ifName;
  // Calico: a Kubernetes pod only when the runtime names both; anything else is a plain CNI container.
  if (pod !== "" && ns !== "") {
    const namespace = ns;
    return {
      orchestrator: "k8s",
      node,
      namespace,
      workload: pod,
      containerId,
      endpoint,
      hostIfName: hostInterfaceName(namespace, pod),
      endpointName: workloadEndpointName(node, pod, endpoint),
    };
  }
  return {
    orchestrator: "cni",
    node,
    namespace: "default",
    workload: containerId,
    containerId,
    endpoint,
    hostIfName: `cali${containerId.slice(0, 11)}`,
    endpointName: [node, "cni", containerId, endpoint].map((s) => s.replaceAll("-", "--")).join("-"),
  };
}

export function workloadEndpoint(
  w: Workload,
  ipNetworks: readonly string[],
  mac: string,
  labels: Readonly<Record<string, string>> = {},
): Resource {
  return {
    apiVersion: API_VERSION,
    kind: "WorkloadEndpoint",
    metadata: {
      name: w.endpointName,
      namespace: w.namespace,
      labels: {
        ...labels,
        "projectcalico.org/namespace": w.namespace,
        "projectcalico.org/orchestrator": w.orchestrator,
      },
    },
    spec: {
      orchestrator: w.orchestrator,
      node: w.node,
      ...(w.orchestrator === "k8s" ? { pod: w.workload } : { workload: w.workload }),
      endpoint: w.endpoint,
      containerID: w.containerId,
      ipNetworks: [...ipNetworks],
      interfaceName: w.hostIfName,
      ...(mac !== "" ? { mac } : {}),
      profiles: w.orchestrator === "k8s" ? [`kns.${w.namespace}`] : [],
    },
  };
}
