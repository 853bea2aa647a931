/**
 * Opens the datastore `chooseDatastore` picked: the embedded store in TABBY_DATA_DIR, the Kubernetes API
 * through a kubeconfig (KUBECONFIG, else client-node's default rules: in-cluster, ~/.kube/config) or
 * K8S_API_ENDPOINT, or etcd v3 at ETCD_ENDPOINTS with calicoctl's TLS and auth variables.
 * Each backend is imported only when chosen: the Kubernetes client alone takes ~0.6 s to load, which
 * short-lived processes (the CNI plugin, tabbyctl against etcd) should not pay for the others.
 */
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { DatastoreChoice } from "./choose.js";
import { DatastoreError } from "./errors.js";
import type { Datastore } from "./types.js";

export interface OpenOptions {
  readonly readOnly?: boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** A kubeconfig for a bare API endpoint (K8S_API_ENDPOINT without KUBECONFIG), as calicoctl allows. */
function endpointKubeconfig(server: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "k8s",
        cluster: { server, ...(server.startsWith("http:") ? { "insecure-skip-tls-verify": true } : {}) },
      },
    ],
    users: [{ name: "k8s", user: {} }],
    contexts: [{ name: "k8s", context: { cluster: "k8s", user: "k8s" } }],
    "current-context": "k8s",
  });
}

export async function openDatastore(choice: DatastoreChoice, options: OpenOptions = {}): Promise<Datastore> {
  const common = {
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  switch (choice.type) {
    case "embedded": {
      const { EmbeddedDatastore } = await import("./embedded.js");
      return EmbeddedDatastore.open({
        dir: choice.dir,
        ...(options.readOnly ? { readOnly: true } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
    }
    case "kubernetes": {
      const { KubernetesDatastore } = await import("./kubernetes/kubernetes-datastore.js");
      try {
        return new KubernetesDatastore({
          ...common,
          ...(choice.kubeconfig !== undefined
            ? { kubeconfig: choice.kubeconfig }
            : choice.apiEndpoint !== undefined
              ? { kubeconfigText: endpointKubeconfig(choice.apiEndpoint) }
              : {}),
        });
      } catch (e) {
        throw new DatastoreError(
          "DATASTORE_IO",
          `cannot load the kubeconfig ${choice.kubeconfig ?? "(default)"}: ${(e as Error).message}`,
          undefined,
          { cause: e },
        );
      }
    }
    case "etcdv3": {
      const { EtcdDatastore } = await import("./etcd/etcd-datastore.js");
      return new EtcdDatastore({
        ...common,
        endpoints: choice.endpoints,
        ...(choice.tls !== undefined ? { tls: choice.tls } : {}),
        ...(choice.username !== undefined
          ? { username: choice.username, password: choice.password ?? "" }
          : {}),
      });
    }
  }
}
