/**
 * `tabbyctl ipam show|check|release`: calicoctl's IPAM commands over tabby's datastore (chosen as
 * calicoctl chooses it). Flags as calicoctl has them (`--ip`, `--show-blocks`, `--show-borrowed`,
 * `--show-configuration`; `--show-all-ips`, `--show-problem-ips`, `-o FILE`; `release --ip`), plus
 * tabby's `check --fix` (repair what was found, ipam/repair.ts) and `--grace DURATION` (how old an
 * allocation must be to count as leaked; default 15m as kube-controllers). Parsing and I/O only; the
 * output is ipam-show.ts and ipam-check.ts.
 */
import { writeFile } from "node:fs/promises";
import { checkIpam, DEFAULT_LEAK_GRACE_MS } from "../../../ipam/check.js";
import { isIpamError } from "../../../ipam/errors.js";
import { normalizeAddr } from "../../../ipam/ip.js";
import type { BlockSpec } from "../../../ipam/model.js";
import { resolvePools } from "../../../ipam/pools.js";
import { repairIpam } from "../../../ipam/repair.js";
import { borrowedAddresses, computeUsage } from "../../../ipam/usage.js";
import { parseDuration } from "../../api/duration.js";
import { chooseDatastore } from "../../datastore/choose.js";
import type { Datastore } from "../../datastore/types.js";
import { readCheckInput } from "../../ipam/cluster-view.js";
import { DatastoreIpamInputs } from "../../ipam/inputs.js";
import { openIpam } from "../../ipam/open.js";
import { systemClock } from "../../util/clock.js";
import { isTabbyError } from "../../util/errors.js";
import type { CliIo } from "../io.js";
import { checkReportJson, renderCheck, renderRepair } from "./ipam-check.js";
import { renderAddress, renderBorrowed, renderConfiguration, renderPoolUsage } from "./ipam-show.js";
import type { CtlDeps } from "./resource-commands.js";

const USAGE = `Usage:
  tabbyctl ipam show [--ip=<IP> | --show-blocks | --show-borrowed | --show-configuration]
  tabbyctl ipam check [--show-all-ips] [--show-problem-ips] [-o <FILE>] [--fix] [--grace=<DURATION>]
  tabbyctl ipam release --ip=<IP>

Options:
  --ip=<IP>               show: who holds the address; release: give it back
  --show-blocks           show: a row per block under its pool
  --show-borrowed         show: addresses nodes took from other nodes' blocks
  --show-configuration    show: the IPAMConfiguration in force
  --show-all-ips          check: print every address checked
  --show-problem-ips      check: print every address with a problem
  -o, --output <FILE>     check: write calicoctl's JSON report to FILE
  --fix                   check: repair what was found (leaks past the grace period, dangling affinities,
                          unconfirmed claims, handle counts)
  --grace=<DURATION>      check: how old an unused allocation must be to count as leaked (default 15m)
`;

interface IpamArgs {
  readonly sub: string;
  readonly ip?: string;
  readonly output?: string;
  readonly grace?: string;
  readonly flags: ReadonlySet<string>;
}

const VALUE_FLAGS: Record<string, "ip" | "output" | "grace"> = {
  "--ip": "ip",
  "-o": "output",
  "--output": "output",
  "--grace": "grace",
};
const BOOL_FLAGS: Record<string, readonly string[]> = {
  show: ["--show-blocks", "--show-borrowed", "--show-configuration"],
  check: ["--show-all-ips", "--show-problem-ips", "--fix"],
  release: [],
};
const VALUES_OF: Record<string, readonly string[]> = {
  show: ["ip"],
  check: ["output", "grace"],
  release: ["ip"],
};

function parse(argv: readonly string[]): IpamArgs | { error: string } | "help" {
  const sub = argv[0];
  if (sub === undefined || sub === "-h" || sub === "--help" || sub === "help") return "help";
  if (!(sub in BOOL_FLAGS)) return { error: `unknown ipam command ${JSON.stringify(sub)}` };
  const values: { ip?: string; output?: string; grace?: string } = {};
  const flags = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") return "help";
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const target = VALUE_FLAGS[name];
    if (target !== undefined) {
      if (!VALUES_OF[sub]!.includes(target)) return { error: `ipam ${sub} does not take ${name}` };
      const v = eq > 0 && a.startsWith("--") ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "") return { error: `flag ${name} needs a value` };
      values[target] = v;
      continue;
    }
    if (BOOL_FLAGS[sub]!.includes(a)) {
      flags.add(a);
      continue;
    }
    if (a === "--from-report" || a.startsWith("--from-report=")) {
      return { error: "release --from-report is not supported: use `tabbyctl ipam check --fix`" };
    }
    return {
      error: `unknown ${a.startsWith("-") ? "flag" : "argument"} ${JSON.stringify(a)} for ipam ${sub}`,
    };
  }
  return { sub, ...values, flags };
}

async function withStore(
  io: CliIo,
  deps: CtlDeps,
  readOnly: boolean,
  use: (ds: Datastore) => Promise<number>,
): Promise<number> {
  const choice = chooseDatastore(io.env);
  if ("error" in choice) {
    io.stderr(`tabbyctl: ${choice.error}\n`);
    return 1;
  }
  let ds: Datastore;
  try {
    ds = await deps.openDatastore(choice, readOnly ? { readOnly: true } : {});
  } catch (e) {
    if (!isTabbyError(e)) throw e;
    io.stderr(`tabbyctl: ${e.message}\n`);
    return 1;
  }
  try {
    return await use(ds);
  } finally {
    await ds.close();
  }
}

async function show(args: IpamArgs, ds: Datastore, io: CliIo): Promise<number> {
  const ipam = openIpam(ds);
  const chosen = ["--show-blocks", "--show-borrowed", "--show-configuration"].filter((f) =>
    args.flags.has(f),
  );
  if (chosen.length + (args.ip !== undefined ? 1 : 0) > 1) {
    io.stderr(
      `tabbyctl ipam show: --ip, --show-blocks, --show-borrowed and --show-configuration exclude each other\n`,
    );
    return 2;
  }
  if (args.ip !== undefined) {
    const address = normalizeAddr(args.ip);
    if (address === undefined) {
      io.stderr(`tabbyctl ipam show: invalid IP address ${JSON.stringify(args.ip)}\n`);
      return 1;
    }
    io.stdout(renderAddress(address, await ipam.addressInfo(address)));
    return 0;
  }
  if (args.flags.has("--show-configuration")) {
    io.stdout(renderConfiguration(await ipam.config()));
    return 0;
  }
  const blocks = (await ds.list("IPAMBlock")).items.map((r) => r.spec as BlockSpec);
  if (args.flags.has("--show-borrowed")) {
    const b = borrowedAddresses(blocks);
    io.stdout(renderBorrowed(b.borrowed, b.unclassified));
    return 0;
  }
  const pools = resolvePools(await new DatastoreIpamInputs(ds).pools());
  io.stdout(renderPoolUsage(computeUsage(pools, blocks), args.flags.has("--show-blocks")));
  return 0;
}

function graceOf(args: IpamArgs): { ms: number; text: string } | { error: string } {
  if (args.grace === undefined) return { ms: DEFAULT_LEAK_GRACE_MS, text: "15m0s" };
  if (args.grace === "0") return { ms: 0, text: "0s" };
  const ns = parseDuration(args.grace);
  if (ns === undefined || ns < 0n) {
    return { error: `--grace: ${JSON.stringify(args.grace)} is not a duration (e.g. 15m, 90s, 1h)` };
  }
  return { ms: Number(ns / 1_000_000n), text: args.grace };
}

async function check(args: IpamArgs, ds: Datastore, io: CliIo): Promise<number> {
  const grace = graceOf(args);
  if ("error" in grace) {
    io.stderr(`tabbyctl ipam check: ${grace.error}\n`);
    return 2;
  }
  const snapshot = () => readCheckInput(ds, { nowMs: systemClock.wallTime(), graceMs: grace.ms });
  const report = checkIpam(await snapshot());
  io.stdout(
    renderCheck(report, {
      showAllIps: args.flags.has("--show-all-ips"),
      showProblemIps: args.flags.has("--show-problem-ips"),
    }),
  );
  if (args.output !== undefined) await writeFile(args.output, checkReportJson(report, "tabby"));
  if (args.flags.has("--fix")) io.stdout(renderRepair(await repairIpam(openIpam(ds), snapshot), grace.text));
  return 0;
}

async function release(args: IpamArgs, ds: Datastore, io: CliIo): Promise<number> {
  if (args.ip === undefined) {
    io.stderr(`tabbyctl ipam release: --ip=<IP> is required\n\n${USAGE}`);
    return 2;
  }
  const address = normalizeAddr(args.ip);
  if (address === undefined) {
    io.stderr(`tabbyctl ipam release: invalid IP address ${JSON.stringify(args.ip)}\n`);
    return 1;
  }
  const r = await openIpam(ds).releaseIPs([{ address }]);
  if (r.released.length === 0) {
    io.stderr(`tabbyctl ipam release: IP address ${address} is not assigned\n`);
    return 1;
  }
  io.stdout(`Successfully released IP address ${address}\n`);
  return 0;
}

/** `argv` after `ipam`. */
export async function runIpam(argv: readonly string[], io: CliIo, deps: CtlDeps): Promise<number> {
  const args = parse(argv);
  if (args === "help") {
    io.stdout(USAGE);
    return 0;
  }
  if ("error" in args) {
    io.stderr(`tabbyctl ipam: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  const writes = args.sub === "release" || args.flags.has("--fix");
  return withStore(io, deps, !writes, async (ds) => {
    try {
      if (args.sub === "show") return await show(args, ds, io);
      if (args.sub === "check") return await check(args, ds, io);
      return await release(args, ds, io);
    } catch (e) {
      if (!isIpamError(e) && !isTabbyError(e)) throw e;
      io.stderr(`tabbyctl ipam ${args.sub}: ${e.message}\n`);
      return 1;
    }
  });
}
