// Runs after the main suite (test/run-tests.mjs): only the check that nothing was left behind.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/final/**/*.test.ts"],
    pool: "forks",
    testTimeout: 30_000,
  },
});
