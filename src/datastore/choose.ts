/**
 * Which datastore a command talks to, decided from the environment the way calicoctl decides
 * (libcalico-go/lib/apiconfig/load.go applyConfigDefaults): DATASTORE_TYPE (or CALICO_DATASTORE_TYPE)
 * when set; otherwise etcdv3 when ETCD_ENDPOINTS is set and kubernetes when KUBECONFIG or
 * K8S_API_ENDPOINT is. Where calicoctl would fall back to kubernetes, tabby falls back to its embedded
 * store in TABBY_DATA_DIR (default /var/lib/tabby), so a fresh machine works without a cluster. Pure.
 */

export type DatastoreChoice =
  | { readonly type: "embedded"; readonly dir: string }
  | { readonly type: "kubernetes"; readonly kubeconfig?: string; readonly apiEndpoint?: string }
  | {
      readonly type: "etcdv3";
      readonly endpoints: readonly string[];
      /** ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, as calicoctl reads them. */
      readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
      readonly username?: string;
      readonly password?: string;
    };

export const DEFAULT_DATA_DIR = "/var/lib/tabby";

type Env = Readonly<Record<string, string | undefined>>;

function get(env: Env, name: string): string | undefined {
  const v = env[`CALICO_${name}`] ?? env[name];
  return v === undefined || v === "" ? undefined : v;
}

export function chooseDatastore(env: Env): DatastoreChoice | { readonly error: string } {
  const declared = get(env, "DATASTORE_TYPE");
  const etcd = get(env, "ETCD_ENDPOINTS");
  const kubeconfig = get(env, "KUBECONFIG");
  const apiEndpoint = get(env, "K8S_API_ENDPOINT");
  const type = declared ?? (etcd ? "etcdv3" : kubeconfig || apiEndpoint ? "kubernetes" : "embedded");
  switch (type) {
    case "embedded":
      return { type, dir: env.TABBY_DATA_DIR || DEFAULT_DATA_DIR };
    case "kubernetes":
      return {
        type,
        ...(kubeconfig !== undefined ? { kubeconfig } : {}),
        ...(apiEndpoint !== undefined ? { apiEndpoint } : {}),
      };
    case "etcdv3":
      if (etcd === undefined)
        return { error: "DATASTORE_TYPE=etcdv3 needs ETCD_ENDPOINTS (e.g. http://127.0.0.1:2379)" };
      {
        const ca = get(env, "ETCD_CA_CERT_FILE");
        const cert = get(env, "ETCD_CERT_FILE");
        const key = get(env, "ETCD_KEY_FILE");
        const username = get(env, "ETCD_USERNAME");
        const password = get(env, "ETCD_PASSWORD");
        const tls = {
          ...(ca !== undefined ? { caFile: ca } : {}),
          ...(cert !== undefined ? { certFile: cert } : {}),
          ...(key !== undefined ? { keyFile: key } : {}),
        };
        return {
          type,
          endpoints: etcd
            .split(",")
            .map((e) => e.trim())
            .filter((e) => e !== ""),
          ...(Object.keys(tls).length > 0 ? { tls } : {}),
          ...(username !== undefined ? { username } : {}),
          ...(password !== undefined ? { password } : {}),
        };
      }
    default:
      return { error: `DATASTORE_TYPE must be kubernetes, etcdv3 or embedded, not ${JSON.stringify(type)}` };
  }
}
