/**
 * Writes crds/crd.projectcalico.org_<plural>.yaml from tabby's resource schemas (src/api/crd.ts).
 * Run `npx tsx crds/generate.ts` after changing a schema; test/unit/api/crd-sync.test.ts fails until then.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderCrdFiles } from "../src/api/crd-files.js";

for (const { file, text } of renderCrdFiles()) writeFileSync(join(import.meta.dirname, file), text);
