/**
 * The convergence benchmark's hand in the datastore (bench/agent.ts): run inside the lab's datastore
 * namespace with the lab's datastore environment, it reads `add NODE CIDR` / `del NODE CIDR` lines on
 * stdin, creates or deletes that node's confirmed BlockAffinity (as IPAM does when it claims a block),
 * and prints `<t0> <t1>`: wall-clock milliseconds just before the write and when it returned.
 */
import { createInterface } from "node:readline";
import { API_VERSION } from "../src/api/meta.js";
import { chooseDatastore } from "../src/datastore/choose.js";
import { openDatastore } from "../src/datastore/open.js";

const now = () => performance.timeOrigin + performance.now();

const choice = chooseDatastore(process.env);
if ("error" in choice) throw new Error(choice.error);
const ds = await openDatastore(choice);
process.stdout.write("ready\n");
for await (const line of createInterface({ input: process.stdin })) {
  const [op, node, cidr] = line.trim().split(" ");
  if (op === undefined || node === undefined || cidr === undefined) continue;
  const name = `${node}-${cidr.replace(/[./:]/g, "-")}`;
  const t0 = now();
  if (op === "add") {
    await ds.create({
      apiVersion: API_VERSION,
      kind: "BlockAffinity",
      metadata: { name },
      spec: { state: "confirmed", node, cidr, deleted: false },
    });
  } else {
    await ds.delete({ kind: "BlockAffinity", name });
  }
  process.stdout.write(`${t0} ${now()}\n`);
}
await ds.close();
