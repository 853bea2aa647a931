import { randomBytes } from "node:crypto";
import { defineConfig } from "vitest/config";

// One id per run, inherited by the workers, so harness artifacts of this run can be told apart (naming.ts).
process.env.TABBY_TEST_RUN ??= randomBytes(3).toString("hex");

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "bgp/**/*.test.ts",
      "felix/**/*.test.ts",
      "ipam/**/*.test.ts",
      "src/**/*.test.ts",
    ],
    exclude: ["test/final/**", "node_modules/**", "dist/**"],
    globalSetup: ["test/harness/global-setup.ts"],
    pool: "forks",
    // Two cores: daemons and namespaces are heavier than the tests themselves.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
