import { defineConfig } from "vitest/config";

// A miniature of the repository's vitest setup, run by test/support/tier-gate.test.ts in a child
// vitest: the real summary reporter and global setup, with tiers named like the real ones.
export default defineConfig({
  test: {
    reporters: ["default", "../summary-reporter.ts"],
    projects: [
      { test: { name: "unit", include: ["unit.test.ts"] } },
      { test: { name: "integration", include: ["engine.test.ts"], globalSetup: ["../global-setup.ts"] } },
      { test: { name: "e2e", include: ["skipped.test.ts"] } },
    ],
  },
});
