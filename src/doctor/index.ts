import { gatherFacts, type DoctorOptions } from "./facts.js";
import { cluster, containers, exposure, keyPairs, ports, prerequisites, services, volumes, type Rule } from "./rules.js";
import type { DoctorFacts, Finding } from "./types.js";
import { valuesRule } from "./values-rule.js";
import { externalValuesRule } from "./external-values-rule.js";
import { ingressRule } from "./ingress.js";

export type { DoctorFacts, ExposureFact, Finding, Severity, ValuesFacts } from "./types.js";
export type { DoctorOptions } from "./facts.js";
export type { Rule } from "./rules.js";
export { gatherFacts } from "./facts.js";

/** Every rule, in the order findings are shown. */
export const RULES: readonly Rule[] = [
  prerequisites,
  ports,
  containers,
  volumes,
  exposure,
  services,
  keyPairs,
  cluster,
  ingressRule,
  valuesRule,
  externalValuesRule,
];

/** Runs every rule over gathered facts. */
export function diagnose(facts: DoctorFacts): Finding[] {
  return RULES.flatMap((rule) => rule(facts));
}

export interface DoctorResult {
  findings: Finding[];
  /** True when no finding is an error (warnings allowed). */
  ok: boolean;
  errors: number;
  warnings: number;
}

/**
 * Diagnoses the machine with the seed's troubleshooting knowledge: prerequisites, ports,
 * containers, each service's own rules, the cluster, and optionally a values.yaml against the
 * live stack. Each finding carries what, why, and the exact fix.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorResult> {
  const diagnosed = diagnose(await gatherFacts(options));
  // Findings quote log lines and messages: every secret the facts showed is masked.
  const findings = options.redactor ? options.redactor.redactValue(diagnosed) : diagnosed;
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  return { findings, ok: errors === 0, errors, warnings };
}
