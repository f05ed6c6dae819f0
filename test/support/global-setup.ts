import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import type { TestProject } from "vitest/node";
import { connectDocker } from "../../src/runtime/index.js";
import { FIXTURE_IMAGES } from "./fixtures.js";
import { engineRequired, engineWaitSeconds, requiredBy } from "./tiers.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** True when a Docker engine answered; the suites that need it skip (visibly) otherwise. */
    engine: boolean;
  }
}

const BUILD = fileURLToPath(new URL("../fixtures/images/build.sh", import.meta.url));

/**
 * Pings the engine until it answers or `seconds` have passed (backoff from 250 ms to 5 s): a CI
 * machine may still be starting dockerd, and one failed ping must not decide a whole tier.
 */
async function waitForEngine(seconds: number): Promise<{ docker: Docker } | { error: Error; tries: number }> {
  const deadline = Date.now() + seconds * 1000;
  let delay = 250;
  let tries = 0;
  for (;;) {
    tries++;
    try {
      return await connectDocker();
    } catch (err) {
      if (Date.now() + delay > deadline) return { error: err instanceof Error ? err : new Error(String(err)), tries };
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

/**
 * Finds the engine and makes sure the fixture images exist (the build is cached by a hash of its
 * recipe, so this is a no-op when they are current). Without an engine the tier is skipped with a
 * notice, unless the run declares the Docker tiers required (see tiers.ts): then it fails.
 */
export default async function setup(project: TestProject): Promise<void> {
  const required = engineRequired();
  const seconds = engineWaitSeconds();
  const found = await waitForEngine(seconds);
  if ("error" in found) {
    const why = `no Docker engine is reachable after ${seconds}s (${found.tries} tries; last: ${found.error.message})`;
    if (required) throw new Error(`${project.name} tests cannot run: ${why}; ${requiredBy()} declares them required`);
    process.stderr.write(
      `\n*** ${project.name} tests SKIPPED: ${why}.\n` +
        "*** Start one (see README, 'Running the tests') to run them; with DIFY_LOCAL_REQUIRE_ENGINE=1 (as .ci/run sets) this is a failure. ***\n\n",
    );
    project.provide("engine", false);
    return;
  }
  const missing: string[] = [];
  for (const ref of Object.values(FIXTURE_IMAGES)) {
    try {
      await found.docker.getImage(ref).inspect();
    } catch {
      missing.push(ref);
    }
  }
  // Always run the (cached) build: it also rebuilds images whose recipe changed.
  const build = spawnSync("bash", [BUILD], { stdio: "inherit" });
  if (build.status !== 0) {
    throw new Error(`building the fixture images failed (bash ${BUILD}); missing before the build: ${missing.join(", ") || "none"}`);
  }
  project.provide("engine", true);
}
