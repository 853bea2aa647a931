/**
 * The CNI_* environment a runtime execs a plugin with, checked per verb as the spec requires (ADD and
 * CHECK need CONTAINERID, NETNS and IFNAME; DEL may come without a netns; GC needs PATH; VERSION and
 * STATUS need only the command). A bad or missing variable is code 4 naming it. Pure.
 */
import { CNI_CODE, CniError } from "./errors.js";

export type CniCommand = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION";
const COMMANDS: readonly CniCommand[] = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"];

export interface CniRequest {
  readonly command: CniCommand;
  readonly containerId: string;
  /** Empty on a DEL whose namespace is gone. */
  readonly netns: string;
  readonly ifName: string;
  /** CNI_ARGS as key/value pairs (`IgnoreUnknown`, `K8S_POD_NAMESPACE`, `IP`, ...). */
  readonly args: ReadonlyMap<string, string>;
  readonly path: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const IFNAME_MAX = 15; // IFNAMSIZ - 1

/** `K=V;K2=V2` into a map; a pair without `=` is an error naming it. */
export function parseCniArgs(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0)
      throw new CniError(
        CNI_CODE.invalidEnv,
        `CNI_ARGS: invalid pair ${JSON.stringify(part)} (want KEY=VALUE)`,
      );
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** A Linux interface name: 1-15 bytes, no `/`, whitespace or `:`, not `.` or `..`. */
export function checkIfName(name: string): string | undefined {
  if (name === "") return "is empty";
  if (Buffer.byteLength(name) > IFNAME_MAX)
    return `is ${Buffer.byteLength(name)} bytes; Linux allows at most ${IFNAME_MAX}`;
  if (name === "." || name === "..") return "is not a valid interface name";
  if (/[/:\s]/.test(name)) return "contains '/', ':' or whitespace";
  return undefined;
}

export function parseCniEnv(env: Env): CniRequest {
  const command = env.CNI_COMMAND ?? "";
  if (!COMMANDS.includes(command as CniCommand)) {
    throw new CniError(
      CNI_CODE.invalidEnv,
      command === ""
        ? "CNI_COMMAND is not set"
        : `CNI_COMMAND=${JSON.stringify(command)} is not one of ${COMMANDS.join(", ")}`,
    );
  }
  const cmd = command as CniCommand;
  const containerId = env.CNI_CONTAINERID ?? "";
  const netns = env.CNI_NETNS ?? "";
  const ifName = env.CNI_IFNAME ?? "";
  const needsAttachment = cmd === "ADD" || cmd === "CHECK" || cmd === "DEL";
  if (needsAttachment) {
    if (containerId === "") throw new CniError(CNI_CODE.invalidEnv, "CNI_CONTAINERID is not set");
    if (!CONTAINER_ID.test(containerId))
      throw new CniError(
        CNI_CODE.invalidEnv,
        `CNI_CONTAINERID=${JSON.stringify(containerId)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`,
      );
    if (ifName === "") throw new CniError(CNI_CODE.invalidEnv, "CNI_IFNAME is not set");
    const bad = checkIfName(ifName);
    if (bad) throw new CniError(CNI_CODE.invalidEnv, `CNI_IFNAME=${JSON.stringify(ifName)} ${bad}`);
    if (cmd !== "DEL" && netns === "") throw new CniError(CNI_CODE.invalidEnv, "CNI_NETNS is not set");
  }
  const pathText = env.CNI_PATH ?? "";
  if (cmd === "GC" && pathText === "") throw new CniError(CNI_CODE.invalidEnv, "CNI_PATH is not set");
  return {
    command: cmd,
    containerId,
    netns,
    ifName,
    // VERSION needs only the command; a stray CNI_ARGS must not stop it answering.
    args: cmd === "VERSION" ? new Map() : parseCniArgs(env.CNI_ARGS ?? ""),
    path: pathText.split(":").filter((p) => p !== ""),
  };
}
