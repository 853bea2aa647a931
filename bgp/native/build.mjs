#!/usr/bin/env node
// Builds the BGP transport's TCP socket-option addon from source with the node-gyp that npm bundles (no
// downloads), exactly as felix/native/build.mjs does: headers from the installed Node
// (<prefix>/include/node) or from npm's `nodedir` setting.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const prefix = dirname(dirname(process.execPath));
const configured = process.env.npm_config_nodedir;
const nodedir =
  configured && existsSync(join(configured, "include", "node", "node_api.h"))
    ? configured
    : existsSync(join(prefix, "include", "node", "node_api.h"))
      ? prefix
      : undefined;
if (nodedir === undefined) {
  console.error(
    `bgp/native: no Node headers under ${prefix}/include/node; set npm's nodedir to a Node source or header tree`,
  );
  process.exit(1);
}
// npm puts its bundled node-gyp on PATH for scripts; fall back to the copy inside npm itself.
const npmGyp = join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const argv = existsSync(npmGyp) ? [process.execPath, npmGyp] : ["node-gyp"];
const r = spawnSync(argv[0], [...argv.slice(1), "rebuild", `--nodedir=${nodedir}`], {
  cwd: here,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
