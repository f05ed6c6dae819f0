import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { connectDocker } from "../../src/runtime/index.js";
import { FIXTURE_IMAGES } from "./fixtures.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** True when a Docker engine answered; the suites that need it skip (visibly) otherwise. */
    engine: boolean;
  }
}

const BUILD = fileURLToPath(new URL("../fixtures/images/build.sh", import.meta.url));

/**
 * Finds the engine and makes sure the fixture images exist (the build is cached by a hash of its
 * recipe, so this is a no-op when they are current). Outside CI a missing engine skips the
 * integration tests with a notice; under CI=true it fails the run.
 */
export default async function setup(project: TestProject): Promise<void> {
  let reachable = false;
  try {
    const { docker } = await connectDocker();
    reachable = true;
    const missing: string[] = [];
    for (const ref of Object.values(FIXTURE_IMAGES)) {
      try {
        await docker.getImage(ref).inspect();
      } catch {
        missing.push(ref);
      }
    }
    // Always run the (cached) build: it also rebuilds images whose recipe changed.
    const build = spawnSync("bash", [BUILD], { stdio: "inherit" });
    if (build.status !== 0) {
      throw new Error(`building the fixture images failed (bash ${BUILD}); missing before the build: ${missing.join(", ") || "none"}`);
    }
  } catch (err) {
    if (reachable || process.env.CI === "true") throw err;
    process.stderr.write(
      `\n*** ${project.name} tests SKIPPED: no Docker engine is reachable (${(err as Error).message}).\n` +
        "*** Start one (see README, 'Running the tests') to run them; under CI=true this is a failure. ***\n\n",
    );
  }
  project.provide("engine", reachable);
}
