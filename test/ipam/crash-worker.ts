/**
 * An allocator that stops dead in the middle of a block claim, for crash-etcd.test.ts: it assigns one
 * address for node `n1` through a store that, at the chosen step, prints `stopped` and never returns, so
 * that the test can SIGKILL it there. Steps: `block` (after the pending affinity, before the block is
 * created) and `confirm` (after the block, before the affinity is confirmed). Arguments: <endpoint> <step>.
 */
import { Ipam } from "../../ipam/client.js";
import type { IpamStore } from "../../ipam/store.js";
import { EtcdDatastore } from "../../src/datastore/etcd/etcd-datastore.js";
import { DatastoreIpamStore } from "../../src/ipam/datastore-store.js";
import { DatastoreIpamInputs } from "../../src/ipam/inputs.js";
import { selectorMatcher } from "../../src/ipam/open.js";

const [endpoint, step] = process.argv.slice(2);
const ds = new EtcdDatastore({ endpoints: [endpoint!] });
const inner = new DatastoreIpamStore(ds);
const stop = (): Promise<never> => {
  process.stdout.write("stopped\n");
  return new Promise<never>(() => {});
};
const store: IpamStore = {
  get: (k, n) => inner.get(k, n),
  list: (k, f) => inner.list(k, f),
  create: (kind, name, spec, labels) =>
    step === "block" && kind === "IPAMBlock" ? stop() : inner.create(kind, name, spec, labels),
  update: (kind, name, spec, revision, labels) =>
    step === "confirm" && kind === "BlockAffinity" && (spec as { state?: string }).state === "confirmed"
      ? stop()
      : inner.update(kind, name, spec, revision, labels),
  delete: (k, n, r) => inner.delete(k, n, r),
  ...(inner.commit !== undefined ? { commit: inner.commit } : {}),
};
const ipam = new Ipam({ store, inputs: new DatastoreIpamInputs(ds), match: selectorMatcher() });
await ipam.autoAssign({ handleId: "k8s-pod-network.killed", node: "n1", num4: 1 });
process.stdout.write("finished\n");
