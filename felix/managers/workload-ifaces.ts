/**
 * Host side of each local workload interface (calico.md §2.3, §2.6): the cali* sysctls that make the
 * host answer ARP for the pod's gateway (proxy_arp, proxy_delay=0) and forward its traffic. They are
 * written once per interface instance (name + ifindex): a recreated veth with the same name is configured
 * again. Routes and static ARP entries are the route table's and neighbours.ts's business.
 */
import type { Logger } from "pino";
import type { DataplaneError } from "../errors.js";
import type { DesiredWorkloadIface } from "../model/desired.js";
import type { Link } from "../netlink/link-codec.js";
import { type Sysctls, workloadSysctls } from "./sysctl.js";

export class WorkloadIfaces {
  private readonly configured = new Map<string, number>();

  constructor(
    private readonly sysctls: Sysctls,
    private readonly logger: Logger,
  ) {}

  /** Configures interfaces not configured yet; missing interfaces are skipped (and retried next time). */
  async apply(desired: readonly DesiredWorkloadIface[], links: readonly Link[]): Promise<DataplaneError[]> {
    const byName = new Map(links.map((l) => [l.name, l]));
    const errors: DataplaneError[] = [];
    const wanted = new Set<string>();
    for (const w of desired) {
      wanted.add(w.ifName);
      const link = byName.get(w.ifName);
      if (link === undefined || this.configured.get(w.ifName) === link.index) continue;
      try {
        for (const [path, value] of workloadSysctls(w.ifName, w)) await this.sysctls.set(path, value);
        this.configured.set(w.ifName, link.index);
        this.logger.info({ iface: w.ifName, workload: w.name }, "workload interface configured");
      } catch (e) {
        errors.push(e as DataplaneError);
      }
    }
    for (const name of [...this.configured.keys()]) {
      if (!wanted.has(name) || !byName.has(name)) this.configured.delete(name);
    }
    return errors;
  }
}
