/**
 * The test's hands inside the cluster network: run with `ip netns exec <api ns>` (the datastore is
 * reachable only there), it applies resources, places "pods" (an IPAM address for the node, then the
 * WorkloadEndpoint, as the CNI plugin would) and reads resources back, printing JSON on stdout.
 *   cluster-ctl apply FILE.json           create or replace each resource in the JSON array
 *   cluster-ctl delete KIND NAME [NAMESPACE]
 *   cluster-ctl pod NODE NAMESPACE NAME   assign an address on NODE and write the endpoint; prints {ip, ifName}
 *   cluster-ctl list KIND
 *   cluster-ctl kube METHOD PATH [FILE]  a raw Kubernetes API request (Pods, Namespaces); prints the body
 * The datastore is chosen from the environment as the agent chooses it (DATASTORE_TYPE, KUBECONFIG, ...).
 */
import { readFile } from "node:fs/promises";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { API_VERSION, type Resource } from "../../src/api/meta.js";
import { chooseDatastore } from "../../src/datastore/choose.js";
import { hostInterfaceName, workloadEndpointName } from "../../src/datastore/kubernetes/workload-mapping.js";
import { openDatastore } from "../../src/datastore/open.js";
import { openIpam } from "../../src/ipam/open.js";

async function main(args: string[]): Promise<unknown> {
  const choice = chooseDatastore(process.env);
  if ("error" in choice) throw new Error(choice.error);
  const ds = await openDatastore(choice);
  try {
    switch (args[0]) {
      case "apply": {
        const items = JSON.parse(await readFile(args[1]!, "utf8")) as Resource[];
        const out: string[] = [];
        for (const r of items) {
          try {
            const cur = await ds.get({
              kind: r.kind,
              name: r.metadata.name,
              ...(r.metadata.namespace ? { namespace: r.metadata.namespace } : {}),
            });
            await ds.update({
              ...r,
              metadata: { ...cur.metadata, ...r.metadata, resourceVersion: cur.metadata.resourceVersion },
            });
          } catch (e) {
            if ((e as { code?: string }).code !== "DATASTORE_NOT_FOUND") throw e;
            await ds.create(r);
          }
          out.push(`${r.kind}/${r.metadata.name}`);
        }
        return out;
      }
      case "delete":
        await ds.delete({ kind: args[1]!, name: args[2]!, ...(args[3] ? { namespace: args[3] } : {}) });
        return "deleted";
      case "list":
        return (await ds.list(args[1]!)).items;
      case "pod": {
        const [, node, namespace, name] = args as [string, string, string, string];
        const ipam = openIpam(ds);
        const handle = `k8s-pod-network.${namespace}-${name}`;
        const r = await ipam.autoAssign({
          handleId: handle,
          node,
          num4: 1,
          attrs: { node, pod: name, namespace },
        });
        const ip = r.ipv4[0]!.address.split("/")[0]!;
        if (ds.type === "kubernetes") {
          // In Kubernetes mode the endpoint is the Pod: it must exist (scheduled to the node) first.
          const kc = new KubeConfig();
          kc.loadFromFile(process.env.KUBECONFIG!);
          await kc.makeApiClient(CoreV1Api).createNamespacedPod({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: { nodeName: node, containers: [{ name: "c", image: "none" }] },
            },
          });
        }
        const ifName = hostInterfaceName(namespace, name);
        const wep: Resource = {
          apiVersion: API_VERSION,
          kind: "WorkloadEndpoint",
          metadata: { name: workloadEndpointName(node, name), namespace },
          spec: {
            orchestrator: "k8s",
            node,
            pod: name,
            endpoint: "eth0",
            containerID: `c-${name}`,
            interfaceName: ifName,
            ipNetworks: [`${ip}/32`],
            profiles: [`kns.${namespace}`],
          },
        };
        await ds.create(wep);
        return { ip, ifName };
      }
      case "kube": {
        // kubectl sends no token over plain HTTP to a non-loopback server; client-node's config does.
        const kc = new KubeConfig();
        kc.loadFromFile(process.env.KUBECONFIG!);
        const headers: Record<string, string> = { "content-type": "application/json" };
        const token = kc.getCurrentUser()?.token;
        if (token) headers.authorization = `Bearer ${token}`;
        const res = await fetch(`${kc.getCurrentCluster()!.server}${args[2]}`, {
          method: args[1]!,
          headers,
          ...(args[3] ? { body: await readFile(args[3], "utf8") } : {}),
        });
        const body = await res.json();
        if (!res.ok) throw new Error(`${args[1]} ${args[2]}: HTTP ${res.status} ${JSON.stringify(body)}`);
        return body;
      }
      default:
        throw new Error(`unknown command ${args[0]}`);
    }
  } finally {
    await ds.close();
  }
}

main(process.argv.slice(2)).then(
  (out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
