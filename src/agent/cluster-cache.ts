/**
 * The agent's view of the datastore: one reflector per kind it reads (reflector.ts: list, watch,
 * resume, relist on GONE, retry on I/O errors forever), each kept as a map by namespace/name. The
 * initial sync lists every kind first, so the agent computes nothing from half a cluster. A datastore
 * that goes away leaves the maps as they were (nothing is flushed: routes and sessions stay); when it
 * is back the reflectors relist and deliver only the difference. Changes are reported per kind.
 */
import type { Resource } from "../api/meta.js";
import { reflect } from "../datastore/reflector.js";
import type { Datastore, Watch } from "../datastore/types.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";

export const AGENT_KINDS = [
  "Node",
  "IPPool",
  "BGPPeer",
  "BGPConfiguration",
  "BGPFilter",
  "BlockAffinity",
  "IPAMBlock",
  "WorkloadEndpoint",
  "CalicoNodeStatus",
] as const;
/** Read on the Kubernetes datastore only, for per-service routes (service-routes.ts). */
export const SERVICE_KINDS = ["Service", "EndpointSlice"] as const;
export type AgentKind = (typeof AGENT_KINDS)[number] | (typeof SERVICE_KINDS)[number];

const id = (r: Resource): string => `${r.metadata.namespace ?? ""}/${r.metadata.name}`;

export interface ClusterCacheOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onChange: (kind: AgentKind) => void;
  /** Pause before a reflector retries after an I/O error (default 1 s). */
  readonly retryMs?: number;
  /** Also follow Services and EndpointSlices (the datastore must be the Kubernetes API). */
  readonly services?: boolean;
}

export class ClusterCache {
  private readonly kinds: readonly AgentKind[];
  private readonly maps: Map<AgentKind, Map<string, Resource>>;
  private readonly watches: Watch[] = [];
  private closed = false;
  /** Events applied since start, for metrics (datastore churn). */
  events = 0;
  /** Watch errors seen (each followed by a retry or relist), for status and metrics. */
  errors = 0;

  constructor(
    private readonly ds: Datastore,
    private readonly opts: ClusterCacheOptions,
  ) {
    this.kinds = [...AGENT_KINDS, ...(opts.services === true ? SERVICE_KINDS : [])];
    this.maps = new Map([...AGENT_KINDS, ...SERVICE_KINDS].map((k) => [k, new Map()]));
  }

  /** Lists every kind once (throws if the datastore cannot answer); then follows changes. */
  async sync(): Promise<void> {
    const lists = await Promise.all(this.kinds.map((k) => this.ds.list(k)));
    this.kinds.forEach((k, i) => {
      const m = this.maps.get(k)!;
      m.clear();
      for (const r of lists[i]!.items) m.set(id(r), r);
    });
    for (const kind of this.kinds) this.follow(kind);
  }

  private follow(kind: AgentKind): void {
    const w = reflect(this.ds, {
      kind,
      clock: this.opts.clock,
      logger: this.opts.logger,
      ...(this.opts.retryMs !== undefined ? { retryMs: this.opts.retryMs } : {}),
    });
    this.watches.push(w);
    const m = this.maps.get(kind)!;
    void (async () => {
      try {
        for await (const ev of w) {
          this.events++;
          const k = id(ev.resource);
          const had = m.get(k);
          if (ev.type === "deleted") {
            if (!m.delete(k)) continue;
          } else {
            if (had?.metadata.resourceVersion === ev.resource.metadata.resourceVersion) continue;
            m.set(k, ev.resource);
          }
          this.opts.onChange(kind);
        }
      } catch (e) {
        // reflect() retries I/O errors itself; reaching here means it gave up, which is a bug to see.
        if (!this.closed) {
          this.errors++;
          this.opts.logger.error({ err: e, kind }, "datastore watch ended");
        }
      }
    })();
  }

  list(kind: AgentKind): Resource[] {
    return [...this.maps.get(kind)!.values()];
  }

  get(kind: AgentKind, name: string, namespace = ""): Resource | undefined {
    return this.maps.get(kind)!.get(`${namespace}/${name}`);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w.close();
  }
}
