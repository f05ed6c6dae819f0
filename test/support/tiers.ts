/**
 * Which test tiers need a Docker engine, and whether this run declares them required.
 *
 * The integration and e2e tiers skip (visibly) on a machine without an engine, so a developer can
 * still run the unit tier. A run that must prove the product on a real engine (CI) declares the
 * Docker tiers required: then an unreachable engine fails the global setup, and any skipped test in
 * those tiers fails the run (the summary reporter checks the counts at the end). `.ci/run` sets
 * DIFY_LOCAL_REQUIRE_ENGINE=1 itself, because `sudo bash .ci/run` drops the caller's environment;
 * CI=true is honoured too, as hosted CI services set it.
 */
export const ENGINE_TIERS = ["integration", "e2e"] as const;

export function engineRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DIFY_LOCAL_REQUIRE_ENGINE === "1" || env.CI === "true";
}

/** Why the Docker tiers are required, for messages ("DIFY_LOCAL_REQUIRE_ENGINE=1"). */
export function requiredBy(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIFY_LOCAL_REQUIRE_ENGINE === "1" ? "DIFY_LOCAL_REQUIRE_ENGINE=1" : "CI=true";
}

/**
 * How long the global setup keeps pinging the engine before deciding it is not there: a CI machine
 * may still be starting dockerd. DIFY_LOCAL_ENGINE_WAIT (seconds) overrides it.
 */
export function engineWaitSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const given = Number(env.DIFY_LOCAL_ENGINE_WAIT);
  if (env.DIFY_LOCAL_ENGINE_WAIT !== undefined && Number.isFinite(given) && given >= 0) return given;
  return engineRequired(env) ? 60 : 5;
}
