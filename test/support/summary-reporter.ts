import type { Reporter, TestModule } from "vitest/node";
import { ENGINE_TIERS, engineRequired, requiredBy } from "./tiers.js";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  skippedNames: string[];
}

/**
 * Ends the run with plain lines, "vitest: N passed, N failed, N skipped" and the same per tier, so
 * CI logs state the count (and how much was skipped) in a form any reader understands.
 *
 * When the Docker tiers are required (DIFY_LOCAL_REQUIRE_ENGINE=1, as .ci/run sets, or CI=true),
 * a skipped test in one of them fails the run: a green CI must mean those tests ran. No test in
 * those tiers is skipped on purpose; the only skips there are the "no engine" ones.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const tiers = new Map<string, Counts>();
    const total: Counts = { passed: 0, failed: 0, skipped: 0, skippedNames: [] };
    for (const m of modules) {
      const name = m.project.name;
      const tier = tiers.get(name) ?? { passed: 0, failed: 0, skipped: 0, skippedNames: [] };
      tiers.set(name, tier);
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        for (const c of [tier, total]) {
          if (state === "passed") c.passed++;
          else if (state === "failed") c.failed++;
          else c.skipped++;
        }
        if (state !== "passed" && state !== "failed")
          tier.skippedNames.push(`${m.moduleId.replace(`${process.cwd()}/`, "")} > ${t.fullName}`);
      }
    }
    const line = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
    let out = `\nvitest: ${line(total)}\n`;
    for (const [name, c] of [...tiers].sort(([a], [b]) => a.localeCompare(b))) out += `  ${name}: ${line(c)}\n`;

    if (engineRequired()) {
      const skippedRequired = ENGINE_TIERS.flatMap((name) => tiers.get(name)?.skippedNames ?? []);
      if (skippedRequired.length > 0) {
        const shown = skippedRequired
          .slice(0, 20)
          .map((n) => `  - ${n}\n`)
          .join("");
        const more = skippedRequired.length > 20 ? `  ... and ${skippedRequired.length - 20} more\n` : "";
        out +=
          `\nvitest: FAILED: ${skippedRequired.length} test(s) of the required tiers (${ENGINE_TIERS.join(", ")}) were skipped; ` +
          `${requiredBy()} declares them required:\n${shown}${more}`;
        process.exitCode = 1;
      }
    }
    process.stdout.write(out);
  }
}
