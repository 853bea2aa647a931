/**
 * Replaces a file whole: written to a temporary name beside it, synced, then renamed over it, so a
 * reader (kubelet loading a CNI config, a runtime executing a plugin, a client polling a kubeconfig)
 * sees the old file or the new one, never half of one. Renaming also leaves a binary that is being
 * executed on its old inode, where writing over it would fail with ETXTBSY.
 */
import { chmod, open, rename, rm } from "node:fs/promises";

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, "w", mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // open()'s mode is filtered by the umask; the file must end up with exactly this one.
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
