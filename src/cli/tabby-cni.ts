#!/usr/bin/env node
/**
 * `tabby-cni`: the CNI plugin (spec 1.0/1.1) that container runtimes exec with CNI_COMMAND set.
 * Planned, not implemented yet: a runtime that calls it gets a CNI error result on stdout (so the pod fails with a
 * clear reason instead of a parse error), a human gets the usage.
 */
import { type CliIo, runMain } from "./io.js";

const usage = `tabby-cni: CNI plugin for tabby (planned; not implemented yet)

It is executed by a container runtime with CNI_COMMAND=ADD|DEL|CHECK|VERSION|STATUS and the network
configuration on stdin, as the CNI specification describes; it is not meant to be run by hand.
`;

export function main(argv: readonly string[], io: CliIo): number {
  const command = io.env.CNI_COMMAND;
  if (command !== undefined && command !== "") {
    // CNI spec "Error": code 999+ is plugin-specific; the runtime shows msg to the user.
    io.stdout(
      `${JSON.stringify({ cniVersion: "1.0.0", code: 999, msg: `tabby-cni: ${command} not implemented yet` })}\n`,
    );
    return 1;
  }
  if (argv[0] === "--help" || argv[0] === "-h") {
    io.stdout(usage);
    return 0;
  }
  io.stderr(usage);
  return 2;
}

if (import.meta.url === `file://${process.argv[1]}`) runMain(main);
