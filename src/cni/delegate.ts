/**
 * Execs another IPAM plugin (host-local, dhcp, ...) found in CNI_PATH, as libcni's delegation does:
 * the same environment and the same config on stdin, its stdout the result. Only used when `ipam.type`
 * is not tabby's own.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import type { CniRequest } from "./env.js";
import { CNI_CODE, CniError } from "./errors.js";
import type { NetConf } from "./netconf.js";

function findPlugin(type: string, path: readonly string[]): string {
  if (type.includes("/"))
    throw new CniError(
      CNI_CODE.invalidConfig,
      `ipam.type ${JSON.stringify(type)} must be a plugin name, not a path`,
    );
  for (const dir of path) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not in this directory.
    }
  }
  throw new CniError(
    CNI_CODE.invalidConfig,
    `IPAM plugin ${type} not found in CNI_PATH (${path.join(":") || "empty"})`,
  );
}

export async function execIpamPlugin(
  type: string,
  command: "ADD" | "DEL" | "CHECK",
  req: CniRequest,
  conf: NetConf,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const bin = findPlugin(type, req.path);
  const child = spawn(bin, [], { env: { ...env, CNI_COMMAND: command }, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.end(JSON.stringify(conf.raw));
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    let parsed: { code?: number; msg?: string; details?: string } | undefined;
    try {
      parsed = JSON.parse(out);
    } catch {
      parsed = undefined;
    }
    throw new CniError(
      typeof parsed?.code === "number" ? parsed.code : CNI_CODE.internal,
      `IPAM plugin ${type} ${command} failed: ${parsed?.msg ?? (err.trim() || `exit ${code}`)}`,
      parsed?.details,
    );
  }
  return out;
}
