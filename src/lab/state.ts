/**
 * Where a lab lives and what it wrote down about itself. The state file is written before anything is
 * created and rewritten as parts come up, so `tabby lab down` can remove a lab whose `up` died at any
 * point; `down` also finds parts by name and by the TABBY_LAB mark, in case the file is behind.
 *
 * TABBY_LAB_DIR (default /run/tabby-lab, gone after a reboot like the namespaces it describes) and
 * TABBY_LAB_PREFIX (default "tabbylab", the namespaces' name prefix) are for running a lab somewhere
 * other than the default, as the tests do.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { LabPlan } from "./plan.js";
import type { PodAddress } from "./report.js";

export interface LabPlace {
  readonly dir: string;
  readonly prefix: string;
}

export function labPlace(env: Readonly<Record<string, string | undefined>>): LabPlace {
  return { dir: env.TABBY_LAB_DIR || "/run/tabby-lab", prefix: env.TABBY_LAB_PREFIX || "tabbylab" };
}

export interface LabDaemon {
  readonly what: string;
  readonly pid: number;
  /** The network namespace it runs in; undefined for the host's. */
  readonly netns?: string;
}

export interface LabState {
  readonly version: 1;
  /** The `tabby lab up` process. */
  readonly pid: number;
  readonly startedAt: string;
  readonly phase: "starting" | "up" | "stopping";
  readonly plan?: LabPlan;
  /** The datastore variables every node (and tabbyctl, through `lab exec`) gets. */
  readonly datastoreEnv?: Readonly<Record<string, string>>;
  readonly daemons: readonly LabDaemon[];
  readonly pods: readonly PodAddress[];
  /** The topology page. */
  readonly webUrl?: string;
}

export const stateFile = (place: LabPlace): string => join(place.dir, "state.json");
export const kubeconfigFile = (place: LabPlace): string => join(place.dir, "kubeconfig");
export const nodeDir = (place: LabPlace, node: string): string => join(place.dir, "nodes", node);

export function readState(place: LabPlace): LabState | undefined {
  const f = stateFile(place);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, "utf8")) as LabState;
  } catch {
    // Cut short by a crash mid-write is not possible (atomic), but a hand-edited file is.
    return undefined;
  }
}

export async function writeState(place: LabPlace, state: LabState): Promise<void> {
  await writeFileAtomic(stateFile(place), `${JSON.stringify(state, null, 2)}\n`, 0o644);
}
