/**
 * An embedded API server in this process with tabby's CRDs installed, and a kubeconfig for it: what the
 * kubernetes backend's tests run against. `request` talks to it as plain HTTP for setting up Pods and
 * Namespaces the way kubectl or a kubelet would.
 */
import { crdFor } from "../../../src/api/crd.js";
import { KINDS } from "../../../src/api/registry.js";
import { renderKubeconfig } from "../../../src/kube/kubeconfig.js";
import { ObjectStore } from "../../../src/kube/object-store.js";
import { ApiServer, type ApiServerOptions } from "../../../src/kube/server.js";

export interface KubeFixture {
  readonly server: ApiServer;
  readonly url: string;
  readonly kubeconfig: string;
  request(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export const TOKEN = "test-token";

export async function startKube(options: Partial<ApiServerOptions> = {}): Promise<KubeFixture> {
  const store = options.store ?? (await ObjectStore.open());
  const server = new ApiServer({ token: TOKEN, ...options, store });
  const url = await server.listen(0);
  const request = async (method: string, path: string, body?: unknown, contentType = "application/json") => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": contentType },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Watch streams and errors in text stay text.
    }
    return { status: res.status, body: parsed as any };
  };
  for (const def of KINDS) {
    const crd = crdFor(def);
    if (crd === undefined) continue;
    const r = await request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    if (r.status !== 201) throw new Error(`cannot install CRD: ${JSON.stringify(r.body)}`);
  }
  return {
    server,
    url,
    kubeconfig: renderKubeconfig(url, TOKEN),
    request,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}
