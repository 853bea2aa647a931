/**
 * confd's part of Calico's convergence path, for bench/agent.ts: run inside a BIRD node's namespace
 * with the lab's datastore environment, it watches BlockAffinity (as confd watches the Calico
 * datastore), and on every change of NODE's affinities rewrites the static route file BIRD includes
 * (`route <block> blackhole;`, as bird_aggr.cfg has them) and runs `birdc configure`, as confd does
 * after rendering. The real confd also debounces and renders every template; none of that is here, so
 * this path is a lower bound for calico-node. Usage: confd-sim.ts NODE BLOCKS_FILE BIRD_SOCKET.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { BlockAffinitySpec } from "../src/api/block-affinity.js";
import { chooseDatastore } from "../src/datastore/choose.js";
import { openDatastore } from "../src/datastore/open.js";
import { reflect } from "../src/datastore/reflector.js";

const run = promisify(execFile);
const [node, blocksFile, socket] = process.argv.slice(2) as (string | undefined)[];
if (node === undefined || blocksFile === undefined || socket === undefined)
  throw new Error("usage: confd-sim.ts NODE BLOCKS_FILE BIRD_SOCKET");
const file: string = blocksFile;
const ctl: string = socket;

const choice = chooseDatastore(process.env);
if ("error" in choice) throw new Error(choice.error);
const ds = await openDatastore(choice);
const blocks = new Map<string, string>();
let rendered = "";
let busy = false;
let again = false;

/** One render and reload at a time; changes that arrive meanwhile are folded into the next one. */
async function render(): Promise<void> {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  do {
    again = false;
    const text = [...blocks.values()]
      .sort()
      .map((c) => `route ${c} blackhole;\n`)
      .join("");
    if (text === rendered) continue;
    rendered = text;
    await writeFile(file, text);
    await run("birdc", ["-s", ctl, "configure"]);
  } while (again);
  busy = false;
}

process.stdout.write("ready\n");
for await (const ev of reflect(ds, { kind: "BlockAffinity" })) {
  const spec = ev.resource.spec as BlockAffinitySpec;
  if (spec.node !== node) continue;
  if (ev.type === "deleted") blocks.delete(ev.resource.metadata.name);
  else blocks.set(ev.resource.metadata.name, spec.cidr);
  void render();
}
