/**
 * `tabby datastore serve --listen ADDR --data-dir DIR --kubeconfig-out FILE`: the embedded datastore
 * served as the Kubernetes API subset (src/kube/server.ts) that kubectl, tabbyctl
 * (DATASTORE_TYPE=kubernetes) and the agents use, so the lab and production share the kubernetes
 * backend's code path. Objects are kept durably in DIR/apiserver (atomic snapshot, fsync, one owner);
 * tabby's crd.projectcalico.org CRDs are installed at start when missing, as a cluster set up for
 * Calico has them. Writes a kubeconfig with a fresh bearer token (or --token) and runs until SIGTERM
 * or SIGINT.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { crdFor } from "../api/crd.js";
import { KINDS } from "../api/registry.js";
import { DEFAULT_DATA_DIR } from "../datastore/choose.js";
import { writeKubeconfig } from "../kube/kubeconfig.js";
import { ObjectStore } from "../kube/object-store.js";
import { CRDS, storeKey } from "../kube/resource-types.js";
import { ApiServer } from "../kube/server.js";
import { isTabbyError } from "../util/errors.js";
import { createLogger } from "../util/logger.js";
import type { CliIo } from "./io.js";

const USAGE = `Usage: tabby datastore serve [--listen ADDR] [--data-dir DIR] [--kubeconfig-out FILE] [--token TOKEN]

  --listen ADDR          host:port to serve on (default 127.0.0.1:6443; port 0 picks one); may be
                         given again to serve on several addresses (the kubeconfig names the first)
  --data-dir DIR         where objects are kept, in DIR/apiserver (default $TABBY_DATA_DIR or ${DEFAULT_DATA_DIR})
  --kubeconfig-out FILE  write a kubeconfig for this server there (mode 0600)
  --token TOKEN          the bearer token clients must present (default: a random one)

Plain HTTP: clients that send no credentials are let in only on a loopback address (kubectl never
sends a token over HTTP); kubectl must use apply/create -f (JSON), not protobuf-only imperative commands.
`;

interface ServeArgs {
  listen: string[];
  dataDir: string;
  kubeconfigOut?: string;
  token?: string;
}

function parseArgs(argv: readonly string[], env: CliIo["env"]): ServeArgs | { error: string } | "help" {
  const args: ServeArgs = { listen: [], dataDir: env.TABBY_DATA_DIR || DEFAULT_DATA_DIR };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") return "help";
    const [flag, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--listen":
        args.listen.push(value() ?? "");
        break;
      case "--data-dir":
        args.dataDir = value() ?? "";
        break;
      case "--kubeconfig-out":
        args.kubeconfigOut = value() ?? "";
        break;
      case "--token":
        args.token = value() ?? "";
        break;
      default:
        return { error: `unknown option ${JSON.stringify(a)}` };
    }
  }
  if (args.listen.length === 0) args.listen.push("127.0.0.1:6443");
  for (const l of args.listen)
    if (!/^(\[[0-9a-fA-F:]+\]|[^:]+):\d+$/.test(l))
      return { error: `--listen must be host:port, not ${JSON.stringify(l)}` };
  if (args.dataDir === "") return { error: "--data-dir must not be empty" };
  return args;
}

/** Installs tabby's CRDs that are not there yet. */
async function installCrds(store: ObjectStore, server: ApiServer): Promise<void> {
  for (const def of KINDS) {
    const crd = crdFor(def) as { metadata: { name: string } } | undefined;
    if (crd === undefined || store.get(storeKey(CRDS, crd.metadata.name)) !== undefined) continue;
    await server.createObject(CRDS, undefined, crd);
  }
}

export async function runDatastoreServe(
  argv: readonly string[],
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const args = parseArgs(argv, io.env);
  if (args === "help") {
    io.stdout(USAGE);
    return 0;
  }
  if ("error" in args) {
    io.stderr(`tabby datastore serve: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  const logger = createLogger({ name: "tabby-datastore" });
  let store: ObjectStore;
  try {
    store = await ObjectStore.open({ dir: join(args.dataDir, "apiserver") });
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabby datastore serve: ${e.message}\n`);
    return 1;
  }
  const token = args.token ?? randomBytes(24).toString("base64url");
  const server = new ApiServer({ store, token, logger: logger.child({ component: "apiserver" }) });
  const urls: string[] = [];
  let listen = "";
  try {
    for (listen of args.listen) {
      const colon = listen.lastIndexOf(":");
      const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
      urls.push(await server.listen(Number(listen.slice(colon + 1)), host));
    }
    await installCrds(store, server);
    if (args.kubeconfigOut !== undefined) await writeKubeconfig(args.kubeconfigOut, urls[0]!, token);
  } catch (e) {
    await server.close();
    await store.close();
    io.stderr(`tabby datastore serve: cannot serve on ${listen}: ${(e as Error).message}\n`);
    return 1;
  }
  const url = urls.join(" ");
  logger.info(
    { url, dataDir: args.dataDir, kubeconfig: args.kubeconfigOut },
    "serving the embedded datastore",
  );
  io.stdout(`serving on ${url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    signal?.addEventListener("abort", stop);
  });
  await server.close();
  await store.close();
  logger.info("stopped");
  return 0;
}
