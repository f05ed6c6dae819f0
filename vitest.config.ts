import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// The Docker tiers keep dify-local's record of used volumes (see src/stack/volumes.ts) in the
// temporary directory, never in the user's ~/.local/state.
const env = { DIFY_LOCAL_STATE_DIR: join(tmpdir(), "dify-local-tests-state") };

// Three tiers, runnable alone with --project: unit (pure, co-located), integration (a real Docker
// engine, files run one after another because they share it), e2e (the built CLI).
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          // Pure logic next to the code, and the test support's own checks (the tier gate).
          include: ["src/**/*.test.ts", "test/support/*.test.ts"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "integration",
          env,
          include: ["test/integration/**/*.test.ts"],
          sequence: { groupOrder: 1 },
          globalSetup: ["test/support/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: "e2e",
          env,
          include: ["test/e2e/**/*.test.ts"],
          sequence: { groupOrder: 2 },
          globalSetup: ["test/support/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
