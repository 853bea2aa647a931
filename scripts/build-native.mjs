#!/usr/bin/env node
// Builds tabby's native addons (felix/native: netlink socket; bgp/native: TCP socket options) from
// source with the node-gyp that npm bundles; nothing is downloaded. Headers come from the installed
// Node (<prefix>/include/node, as Debian's nodejs and the official tarballs lay them out), or from
// npm's `nodedir` setting when one is configured. Usage: build-native.mjs [DIR...] (default: both).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ["felix/native", "bgp/native"];
const prefix = dirname(dirname(process.execPath));
const configured = process.env.npm_config_nodedir;
const hasHeaders = (d) => existsSync(join(d, "include", "node", "node_api.h"));
const nodedir = configured && hasHeaders(configured) ? configured : hasHeaders(prefix) ? prefix : undefined;
if (nodedir === undefined) {
  console.error(
    `build-native: no Node headers under ${prefix}/include/node; set npm's nodedir to a Node source or header tree`,
  );
  process.exit(1);
}
// npm puts its bundled node-gyp on PATH for scripts; fall back to the copy inside npm itself.
const npmGyp = join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const argv = existsSync(npmGyp) ? [process.execPath, npmGyp] : ["node-gyp"];
for (const d of dirs) {
  const r = spawnSync(argv[0], [...argv.slice(1), "rebuild", `--nodedir=${nodedir}`], {
    cwd: resolve(root, d),
    stdio: "inherit",
  });
  if (r.status !== 0) {
    console.error(`build-native: building ${d} failed`);
    process.exit(r.status ?? 1);
  }
}
