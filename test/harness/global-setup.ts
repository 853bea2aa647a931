/**
 * Runs once per `vitest run`, before any worker starts: removes leftovers of earlier crashed runs so that
 * they cannot collide with this one or be mistaken for its leftovers.
 */
import { sweep } from "./sweeper.js";

export default function setup(): void {
  if (process.getuid?.() !== 0) return;
  const removed = sweep();
  const n = removed.namespaces.length + removed.tempDirs.length + removed.processes.length;
  if (n > 0) {
    process.stderr.write(`harness sweeper removed leftovers of crashed runs: ${JSON.stringify(removed)}\n`);
  }
}
