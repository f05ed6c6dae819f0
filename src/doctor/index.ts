import { gatherFacts, type DoctorOptions } from "./facts.js";
import { containers, cluster, minio, ports, postgres, prerequisites, type Rule } from "./rules.js";
import type { DoctorFacts, Finding } from "./types.js";
import { valuesRule } from "./values-rule.js";

export type { DoctorFacts, Finding, Severity, ValuesFacts } from "./types.js";
export type { DoctorOptions } from "./facts.js";
export type { Rule } from "./rules.js";
export { gatherFacts } from "./facts.js";

/** Every rule, in the order findings are shown. */
export const RULES: readonly Rule[] = [prerequisites, ports, containers, postgres, minio, cluster, valuesRule];

/** Runs every rule over gathered facts. */
export function diagnose(facts: DoctorFacts): Finding[] {
  return RULES.flatMap((rule) => rule(facts));
}
