/**
 * Writes crds/crd.projectcalico.org_<plural>.yaml and the field tables of docs/resources.md from tabby's
 * resource schemas (src/api/crd.ts, src/api/reference-tables.ts). Run `npx tsx crds/generate.ts` after
 * changing a schema; test/unit/api/crd-sync.test.ts fails until then.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderCrdFiles } from "../src/api/crd-files.js";
import { updateReferenceDoc } from "../src/api/reference-tables.js";

for (const { file, text } of renderCrdFiles()) writeFileSync(join(import.meta.dirname, file), text);
const doc = join(import.meta.dirname, "../docs/resources.md");
writeFileSync(doc, updateReferenceDoc(readFileSync(doc, "utf8")));
