/**
 * `tabby cni install`: what calico/node's install-cni init container does, for tabby. It copies the
 * native plugin into the CNI bin dir under Calico's and tabby's names, writes the Node fallback wrapper,
 * the plugin's kubeconfig (from the service account when run in a pod) and the network config rendered
 * from CNI_NETWORK_CONFIG (Calico's template language), each by write-then-rename so a runtime that is
 * starting a pod meanwhile sees the old file or the new one, never half of one.
 *
 * `--host-root` is where the host's filesystem is mounted (a DaemonSet mounts it at /host); paths
 * written into the config are the host's.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  configFileName,
  DEFAULT_NETWORK_CONFIG,
  FALLBACK_NAME,
  fallbackScript,
  installValues,
  KUBECONFIG_NAME,
  PLUGIN_NAMES,
  renderNetworkConfig,
  serviceAccountKubeconfig,
} from "../cni/install-config.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { CliIo } from "./io.js";

export const cniInstallUsage = `Usage: tabby cni install [--host-root DIR] [--no-fallback]

Installs the CNI plugin on this node, as Calico's install-cni does:
  <CNI_BIN_DIR>/calico, calico-ipam, tabby-cni, tabby-ipam   the plugin
  <CNI_BIN_DIR>/${FALLBACK_NAME}   runs the plugin in Node while the agent is down
  <CNI_NET_DIR>/<CNI_CONF_NAME>     the network config (default 10-calico.conflist)
  <CNI_NET_DIR>/${KUBECONFIG_NAME}     the plugin's kubeconfig, when run in a pod

Options:
  --host-root DIR   where the host's / is mounted (default /); paths in the config stay the host's
  --no-fallback     no Node fallback: while the agent is down the plugin answers "try again later"
                    (the default when --host-root is not /, as this Node is not on the host)
  -h, --help        show this help

Environment (Calico's names): CNI_BIN_DIR (/opt/cni/bin), CNI_NET_DIR (/etc/cni/net.d),
CNI_CONF_NAME, CNI_NETWORK_CONFIG or CNI_NETWORK_CONFIG_FILE (template; default Calico's manifest
config), KUBERNETES_NODE_NAME, CNI_MTU (1500), LOG_LEVEL, LOG_FILE_PATH, DATASTORE_TYPE, ETCD_*,
KUBECONFIG (used in the config when there is no service account).
`;

const SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The built shim and plugin entry, relative to this file in dist/. */
function builtArtifacts(): { shim: string; entry: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/cli/cni-install.js, or src/cli/cni-install.ts run through tsx.
  const root = resolve(here, here.includes("/dist/") ? "../../.." : "../..");
  return { shim: join(root, "dist/bin/tabby-cni"), entry: join(root, "dist/src/cli/tabby-cni.js") };
}

export async function runCniInstall(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { "host-root"?: string; "no-fallback"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        "host-root": { type: "string" },
        "no-fallback": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    io.stderr(`tabby cni install: ${(e as Error).message}\n\n${cniInstallUsage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(cniInstallUsage);
    return 0;
  }
  const env = io.env;
  const hostRoot = resolve(values["host-root"] ?? "/");
  const onHost = (p: string) => join(hostRoot, p);
  const binDir = env.CNI_BIN_DIR || "/opt/cni/bin";
  const netDir = env.CNI_NET_DIR || "/etc/cni/net.d";
  const say = (t: string) => io.stdout(`${t}\n`);
  const fail = (t: string) => {
    io.stderr(`tabby cni install: ${t}\n`);
    return 1;
  };

  const { shim, entry } = builtArtifacts();
  if (!existsSync(shim)) return fail(`${shim} is missing: build tabby first (npm run build)`);

  let template = DEFAULT_NETWORK_CONFIG;
  if (env.CNI_NETWORK_CONFIG_FILE) {
    try {
      template = await readFile(env.CNI_NETWORK_CONFIG_FILE, "utf8");
    } catch (e) {
      return fail(`CNI_NETWORK_CONFIG_FILE: ${(e as Error).message}`);
    }
  } else if (env.CNI_NETWORK_CONFIG) template = env.CNI_NETWORK_CONFIG;

  // In a pod: a kubeconfig from the service account, as calico/node writes calico-kubeconfig.
  let kubeconfig: { path: string; text: string } | undefined;
  const saToken = await readFile(join(SERVICE_ACCOUNT, "token"), "utf8").catch(() => undefined);
  if (saToken !== undefined && env.KUBERNETES_SERVICE_HOST) {
    const caCertPem = await readFile(join(SERVICE_ACCOUNT, "ca.crt"), "utf8").catch(() => "");
    kubeconfig = {
      path: join(netDir, KUBECONFIG_NAME),
      text: serviceAccountKubeconfig({
        host: env.KUBERNETES_SERVICE_HOST,
        port: env.KUBERNETES_SERVICE_PORT || "443",
        token: saToken,
        caCertPem,
      }),
    };
  }
  const kubeconfigPath = kubeconfig?.path ?? env.KUBECONFIG ?? join(netDir, KUBECONFIG_NAME);

  // Everything is computed before anything is written: a bad template leaves the node as it was.
  let rendered: ReturnType<typeof renderNetworkConfig>;
  let confName: string;
  try {
    const v = installValues(env, hostname(), kubeconfigPath);
    rendered = renderNetworkConfig(template, v, { addPortmap: existsSync(onHost(join(binDir, "portmap"))) });
    confName = configFileName(env, rendered.isList);
  } catch (e) {
    return fail((e as Error).message);
  }
  const withFallback = !values["no-fallback"] && hostRoot === "/";

  try {
    await mkdir(onHost(binDir), { recursive: true });
    await mkdir(onHost(netDir), { recursive: true });
    const shimBytes = await readFile(shim);
    for (const name of PLUGIN_NAMES) await writeFileAtomic(onHost(join(binDir, name)), shimBytes, 0o755);
    say(`wrote ${PLUGIN_NAMES.map((n) => join(binDir, n)).join(", ")}`);
    const fallbackPath = onHost(join(binDir, FALLBACK_NAME));
    if (withFallback) {
      await writeFileAtomic(fallbackPath, fallbackScript(process.execPath, entry), 0o755);
      say(`wrote ${join(binDir, FALLBACK_NAME)} (runs ${entry} while the agent is down)`);
    } else {
      await rm(fallbackPath, { force: true });
      say("no fallback: while the agent is down the plugin answers try-again-later (code 11)");
    }
    if (kubeconfig !== undefined) {
      await writeFileAtomic(onHost(kubeconfig.path), kubeconfig.text, 0o600);
      say(`wrote ${kubeconfig.path}`);
    }
    await writeFileAtomic(onHost(join(netDir, confName)), rendered.text, 0o644);
    say(`wrote ${join(netDir, confName)}`);
  } catch (e) {
    return fail((e as Error).message);
  }
  return 0;
}
