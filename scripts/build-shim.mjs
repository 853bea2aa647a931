#!/usr/bin/env node
// Compiles the native tabby-cni shim (src/cni/shim/tabby-cni.c) into dist/bin/tabby-cni with the
// system C compiler: a static-enough binary the CNI bin dir can hold, started in ~1 ms where Node
// needs 60-80. Why a shim at all: see the file's header.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, "dist", "bin", "tabby-cni");
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || "cc";
const r = spawnSync(
  cc,
  ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(root, "src/cni/shim/tabby-cni.c")],
  {
    stdio: "inherit",
  },
);
if (r.error !== undefined) {
  console.error(`build-shim: cannot run the C compiler ${cc}: ${r.error.message} (apt-get install gcc)`);
  process.exit(1);
}
process.exit(r.status ?? 1);
