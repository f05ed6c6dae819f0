/**
 * The CI gate for the Docker tiers, exercised for real: a child vitest runs the miniature suite in
 * gate-fixture/ with the real summary reporter and global setup, and a dead DOCKER_HOST so no
 * engine ever answers (and no fixture image is built).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const FIXTURE = fileURLToPath(new URL("./gate-fixture", import.meta.url));
const VITEST = fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url));

interface Run {
  code: number | null;
  out: string;
}

function childVitest(projects: string[], env: Record<string, string>): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  // The parent's CI/gate settings and vitest's own worker variables must not leak into the child.
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VITEST|CI$|DIFY_LOCAL_|DOCKER_HOST$|NODE_ENV$|TEST$)/.test(k)) continue;
    base[k] = v;
  }
  const args = [VITEST, "run", "--root", FIXTURE, ...projects.flatMap((p) => ["--project", p])];
  return new Promise((done) => {
    const child = spawn(process.execPath, args, {
      cwd: FIXTURE,
      env: { ...base, DOCKER_HOST: "unix:///nonexistent/dify-local-gate-test.sock", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => done({ code, out }));
  });
}

describe("the Docker tiers' gate", () => {
  it("without an engine and not required: the engine tier is skipped with a notice and counted, the run passes", async () => {
    const run = await childVitest(["unit", "integration"], { DIFY_LOCAL_ENGINE_WAIT: "0" });
    expect(run.out).toContain("*** integration tests SKIPPED: no Docker engine is reachable");
    expect(run.out).toContain("integration: 0 passed, 0 failed, 1 skipped");
    expect(run.out).toContain("unit: 1 passed, 0 failed, 1 skipped");
    expect(run.out).not.toContain("FAILED");
    expect(run.code).toBe(0);
  });

  it("required: an unreachable engine fails the global setup after pinging more than once", async () => {
    const run = await childVitest(["unit", "integration"], { DIFY_LOCAL_REQUIRE_ENGINE: "1", DIFY_LOCAL_ENGINE_WAIT: "2" });
    expect(run.code).not.toBe(0);
    const m =
      /integration tests cannot run: no Docker engine is reachable after 2s \((\d+) tries; last: .*\); DIFY_LOCAL_REQUIRE_ENGINE=1 declares them required/.exec(
        run.out,
      );
    expect(m, run.out).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThan(1);
  });

  it("required: a skipped test in a required tier fails the run and is named; CI=true means the same", async () => {
    for (const env of [{ DIFY_LOCAL_REQUIRE_ENGINE: "1" }, { CI: "true" }] as Array<Record<string, string>>) {
      const run = await childVitest(["unit", "e2e"], env);
      expect(run.out).toContain("e2e: 0 passed, 0 failed, 1 skipped");
      expect(run.out).toMatch(
        /vitest: FAILED: 1 test\(s\) of the required tiers \(integration, e2e\) were skipped; (DIFY_LOCAL_REQUIRE_ENGINE=1|CI=true) declares them required/,
      );
      expect(run.out).toContain("  - skipped.test.ts > a required test that did not run");
      expect(run.code).toBe(1);
    }
  });

  it("the same skip passes when nothing declares the tiers required, and a skip in the unit tier never fails the gate", async () => {
    expect((await childVitest(["unit", "e2e"], {})).code).toBe(0);
    const unitOnly = await childVitest(["unit"], { DIFY_LOCAL_REQUIRE_ENGINE: "1" });
    expect(unitOnly.out).toContain("unit: 1 passed, 0 failed, 1 skipped");
    expect(unitOnly.code).toBe(0);
  });
});
