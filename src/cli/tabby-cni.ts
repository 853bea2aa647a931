#!/usr/bin/env node
/**
 * `tabby-cni` (and, by the name it is called under, `tabby-ipam` / `calico-ipam`): the CNI plugin a
 * container runtime execs with CNI_COMMAND set and the network config on stdin. Whatever happens, stdout
 * holds exactly one JSON document, the result or a CNI error, and never a stack trace: the runtime
 * parses it and shows `msg` to the user. Logs go to `log_file_path` if the config names one, else to
 * stderr, which runtimes keep for diagnostics.
 */
import { basename } from "node:path";
import { cniCall } from "../cni/call.js";
import { CNI_CODE, CniError, errorResult } from "../cni/errors.js";
import { type CliIo, processIo } from "./io.js";

const usage = `tabby-cni: the CNI plugin of tabby (CNI spec 0.3.0 to 1.1.0)

A container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|STATUS|GC|VERSION, CNI_CONTAINERID,
CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH set and the network configuration on stdin; it prints
the result, or a CNI error, as JSON on stdout. Called as tabby-ipam (or calico-ipam) it is the IPAM
plugin alone. See docs/cni.md for the configuration keys and pod annotations.
`;

export async function main(argv: readonly string[], io: CliIo, invokedAs = "tabby-cni"): Promise<number> {
  const command = io.env.CNI_COMMAND;
  if (command === undefined || command === "") {
    if (argv[0] === "--help" || argv[0] === "-h") {
      io.stdout(usage);
      return 0;
    }
    io.stderr(usage);
    return 2;
  }
  let stdin: Uint8Array;
  try {
    stdin = (await io.readStdin?.()) ?? new Uint8Array();
  } catch (e) {
    io.stdout(
      `${JSON.stringify(errorResult(new CniError(CNI_CODE.io, "cannot read stdin", (e as Error).message), "1.0.0"))}\n`,
    );
    return 1;
  }
  // Runtimes pass no arguments; `--as NAME` is how the shim and wrapper scripts name the role.
  const role = argv[0] === "--as" && argv[1] !== undefined ? argv[1] : invokedAs;
  const out = await cniCall({ role, env: io.env, stdin });
  if (out.stdout !== "") io.stdout(out.stdout);
  return out.code;
}

if (
  import.meta.url === `file://${process.argv[1]}` ||
  /(tabby|calico)-(cni|ipam)$/.test(process.argv[1] ?? "")
) {
  const invokedAs = basename(process.argv[1] ?? "tabby-cni").replace(/\.[cm]?[jt]s$/, "");
  main(process.argv.slice(2), processIo, invokedAs).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // Unreachable in practice (main catches everything); still, stdout must stay valid JSON.
      process.stdout.write(`${JSON.stringify(errorResult(e, "1.0.0"))}\n`);
      process.exitCode = 1;
    },
  );
}
