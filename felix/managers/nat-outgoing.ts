/**
 * natOutgoing (calico.md §2.15) in nftables: traffic from a pool with natOutgoing to a destination in no
 * pool is masqueraded; traffic between pools (including disabled ones) never is. tabby keeps it all in one
 * table of its own (`inet tabby-nat`: the two pool sets per family and one masquerade rule each) and
 * replaces that table in a single `nft -f -` transaction (add, delete, define: atomic, as Kubernetes'
 * knftables does), so a half-written ruleset never exists and other tables are never touched.
 * renderNatRuleset is pure; NatOutgoing applies it through an injectable runner.
 */
import { execFile } from "node:child_process";
import { DataplaneError } from "../errors.js";
import type { DesiredNat } from "../model/desired.js";

export const NAT_TABLE = "tabby-nat";

function set(name: string, type: string, cidrs: readonly string[]): string[] {
  const lines = [`  set ${name} {`, `    type ${type}`, "    flags interval"];
  if (cidrs.length > 0) lines.push(`    elements = { ${cidrs.join(", ")} }`);
  lines.push("  }");
  return lines;
}

/** The whole transaction for `nat`; with nothing to masquerade it only removes tabby's table. */
export function renderNatRuleset(nat: DesiredNat, table = NAT_TABLE): string {
  const out = [`add table inet ${table}`, `delete table inet ${table}`];
  const v4 = nat.masqPools4.length > 0;
  const v6 = nat.masqPools6.length > 0;
  if (v4 || v6) {
    out.push(
      `table inet ${table} {`,
      ...set("masq-ipam-pools4", "ipv4_addr", nat.masqPools4),
      ...set("all-ipam-pools4", "ipv4_addr", nat.allPools4),
      ...set("masq-ipam-pools6", "ipv6_addr", nat.masqPools6),
      ...set("all-ipam-pools6", "ipv6_addr", nat.allPools6),
      "  chain nat-outgoing {",
      "    type nat hook postrouting priority srcnat; policy accept;",
      ...(v4 ? ["    ip saddr @masq-ipam-pools4 ip daddr != @all-ipam-pools4 masquerade"] : []),
      ...(v6 ? ["    ip6 saddr @masq-ipam-pools6 ip6 daddr != @all-ipam-pools6 masquerade"] : []),
      "  }",
      "}",
    );
  }
  return `${out.join("\n")}\n`;
}

/** Runs one nft transaction script. */
export type NftRunner = (script: string) => Promise<void>;

/** `nft -f -`, inside `netnsPath` (through nsenter) when given. */
export function nftRunner(netnsPath?: string, nft = "nft"): NftRunner {
  const argv = netnsPath ? ["nsenter", `--net=${netnsPath}`, nft, "-f", "-"] : [nft, "-f", "-"];
  return (script) =>
    new Promise((resolve, reject) => {
      const child = execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, _stdout, stderr) => {
        if (err) {
          reject(
            new DataplaneError(
              "FELIX_NFT",
              `nft transaction failed: ${String(stderr).trim() || err.message}`,
              {},
              {
                cause: err,
              },
            ),
          );
        } else resolve();
      });
      child.stdin?.end(script);
    });
}

export class NatOutgoing {
  private applied: string | undefined;

  constructor(private readonly run: NftRunner) {}

  /** Applies `nat` if it differs from what this process applied last (or always, with `force`). */
  async apply(nat: DesiredNat, force = false): Promise<boolean> {
    const script = renderNatRuleset(nat);
    if (!force && script === this.applied) return false;
    await this.run(script);
    this.applied = script;
    return true;
  }
}
