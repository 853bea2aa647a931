/** Shared set-up for ipam's unit tests: the in-memory store and inputs, Calico selectors, a fake clock. */
import { Ipam, type IpamOptions } from "../../../ipam/client.js";
import { isBranded } from "../../../ipam/errors.js";
import { MemoryInputs, MemoryStore, type MemoryStoreOptions } from "../../../ipam/memory-store.js";
import type { Pool, PoolSpec } from "../../../ipam/model.js";
import type { SelectorMatcher } from "../../../ipam/pools.js";
import { compileSelector } from "../../../src/api/selector/selector.js";
import { FakeClock } from "../../harness/clock.js";

const compiled = new Map<string, ReturnType<typeof compileSelector>>();

export const match: SelectorMatcher = (selector, labels) => {
  let s = compiled.get(selector);
  if (s === undefined) {
    s = compileSelector(selector);
    compiled.set(selector, s);
  }
  return s.matches(labels);
};

export function pool(name: string, cidr: string, spec: Partial<PoolSpec> = {}): Pool {
  return { name, spec: { cidr, ...spec } };
}

export interface World {
  readonly store: MemoryStore;
  readonly inputs: MemoryInputs;
  readonly clock: FakeClock;
  readonly ipam: Ipam;
  client(extra?: Partial<IpamOptions>): Ipam;
}

export function world(
  pools: Pool[],
  nodes: Record<string, Record<string, string>> = { n1: {}, n2: {} },
  storeOptions: MemoryStoreOptions = {},
): World {
  const clock = new FakeClock();
  const store = new MemoryStore({ wallTime: () => clock.wallTime(), ...storeOptions });
  const inputs = new MemoryInputs();
  inputs.poolList = pools;
  for (const [n, labels] of Object.entries(nodes)) inputs.nodes.set(n, labels);
  // The fake clock does not move by itself: retry lost CAS at once.
  const client = (extra: Partial<IpamOptions> = {}) =>
    new Ipam({ store, inputs, match, clock, backoffMs: 0, ...extra });
  return { store, inputs, clock, ipam: client(), client };
}

export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isBranded(e)) return e.code;
    throw e;
  }
  return "no error";
}

export async function caught(
  p: Promise<unknown>,
): Promise<Error & { code: string; context?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (isBranded(e)) return e as Error & { code: string };
    throw e;
  }
  throw new Error("expected an error");
}

/** Object names in the store by kind: what a test expects to be left behind. */
export function contents(store: MemoryStore): {
  IPAMBlock: string[];
  BlockAffinity: string[];
  IPAMHandle: string[];
} {
  const out = { IPAMBlock: [] as string[], BlockAffinity: [] as string[], IPAMHandle: [] as string[] };
  for (const k of [...store.objects.keys()].sort()) {
    const [kind, name] = k.split("/") as [keyof typeof out, string];
    out[kind].push(name);
  }
  return out;
}
