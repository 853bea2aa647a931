/**
 * The kubeconfig `tabby datastore serve` writes for kubectl, tabbyctl and the agents: one cluster (the
 * embedded API server's URL), one user with the bearer token, one context, current. Written with mode
 * 0600 and atomically (temporary file, fsync, rename), because it holds the token and readers may be
 * polling for it. Format: clientcmd's v1 Config. For an http:// server the cluster says
 * insecure-skip-tls-verify, without which @kubernetes/client-node refuses plain HTTP.
 */
import { stringify } from "yaml";
import { writeFileAtomic } from "../util/atomic-file.js";

export function renderKubeconfig(server: string, token: string, name = "tabby"): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    // client-node refuses plain http unless told to skip TLS verification (there is no TLS to verify).
    clusters: [
      {
        name,
        cluster: { server, ...(server.startsWith("http:") ? { "insecure-skip-tls-verify": true } : {}) },
      },
    ],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    preferences: {},
  });
}

export async function writeKubeconfig(file: string, server: string, token: string): Promise<void> {
  await writeFileAtomic(file, renderKubeconfig(server, token), 0o600);
}
