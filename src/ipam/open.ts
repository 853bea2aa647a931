/**
 * An IPAM client over a src/datastore backend: the store adapter, the inputs (optionally cached), Calico
 * selectors from src/api/selector for pool node and namespace selectors, and the clock. What the agent,
 * the CNI plugin, tabbyctl ipam and the tests use to get an `Ipam`.
 */

import { Ipam } from "../../ipam/client.js";
import type { SelectorMatcher } from "../../ipam/pools.js";
import { compileSelector, type Selector } from "../api/selector/selector.js";
import type { Datastore } from "../datastore/types.js";
import { type Clock, systemClock } from "../util/clock.js";
import { DatastoreIpamStore } from "./datastore-store.js";
import { DatastoreIpamInputs } from "./inputs.js";

export interface OpenIpamOptions {
  readonly clock?: Clock;
  /** How long pools, IPAMConfiguration, reservations and node labels may be reused (default 0: always read). */
  readonly inputsMaxAgeMs?: number;
  readonly retries?: number;
}

/** A matcher that parses each distinct selector once. */
export function selectorMatcher(): SelectorMatcher {
  const compiled = new Map<string, Selector>();
  return (text, labels) => {
    let s = compiled.get(text);
    if (s === undefined) {
      s = compileSelector(text);
      compiled.set(text, s);
    }
    return s.matches(labels);
  };
}

export function openIpam(ds: Datastore, options: OpenIpamOptions = {}): Ipam {
  const clock = options.clock ?? systemClock;
  return new Ipam({
    store: new DatastoreIpamStore(ds),
    inputs: new DatastoreIpamInputs(ds, {
      clock,
      ...(options.inputsMaxAgeMs !== undefined ? { maxAgeMs: options.inputsMaxAgeMs } : {}),
    }),
    match: selectorMatcher(),
    clock,
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
  });
}
