/**
 * The read-only state an allocation consults (ipam/store.ts IpamInputs), read from a src/datastore
 * backend: IPPools, the IPAMConfiguration singleton `default`, every IPReservation's reservedCIDRs, and
 * a Node's labels. With `maxAgeMs` > 0 each answer is reused for that long (on the injected clock), which
 * a long-running allocator wants: a stale pool list can only delay a pool change's effect on which pool is
 * chosen, never hand an address out twice (the block CAS decides that). 0, the default, reads every time,
 * as Calico's library does.
 */

import type { IpamConfigSpec, Pool } from "../../ipam/model.js";
import type { IpamInputs, NodeInfo } from "../../ipam/store.js";
import type { IPReservationSpec } from "../api/ip-reservation.js";
import type { IPAMConfigurationSpec } from "../api/ipam-config.js";
import type { IPPoolSpec } from "../api/ippool.js";
import type { Datastore } from "../datastore/types.js";
import { type Clock, systemClock } from "../util/clock.js";

export interface InputsOptions {
  readonly maxAgeMs?: number;
  readonly clock?: Clock;
}

const isNotFound = (e: unknown) => (e as { code?: string }).code === "DATASTORE_NOT_FOUND";

export class DatastoreIpamInputs implements IpamInputs {
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  private readonly maxAgeMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly ds: Datastore,
    options: InputsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 0;
    this.clock = options.clock ?? systemClock;
  }

  private cached<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (this.maxAgeMs <= 0) return read();
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit !== undefined && now - hit.at < this.maxAgeMs) return hit.value as Promise<T>;
    const value = read();
    this.cache.set(key, { at: now, value });
    value.catch(() => this.cache.delete(key));
    return value;
  }

  /** Forgets cached answers (after a change this process made itself). */
  invalidate(): void {
    this.cache.clear();
  }

  pools(): Promise<readonly Pool[]> {
    return this.cached("pools", async () =>
      (await this.ds.list("IPPool")).items.map((r) => ({
        name: r.metadata.name,
        spec: r.spec as IPPoolSpec,
      })),
    );
  }

  config(): Promise<Partial<IpamConfigSpec> | undefined> {
    return this.cached("config", async () => {
      try {
        return (await this.ds.get({ kind: "IPAMConfiguration", name: "default" }))
          .spec as IPAMConfigurationSpec;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
  }

  reservedCidrs(): Promise<readonly string[]> {
    return this.cached("reservations", async () =>
      (await this.ds.list("IPReservation")).items.flatMap(
        (r) => (r.spec as IPReservationSpec).reservedCIDRs ?? [],
      ),
    );
  }

  node(name: string): Promise<NodeInfo | undefined> {
    return this.cached(`node/${name}`, async () => {
      try {
        const r = await this.ds.get({ kind: "Node", name });
        return { name, labels: r.metadata.labels ?? {} };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
  }
}
