import { diagnose, gatherFacts, type DoctorOptions, type Finding } from "../doctor/index.js";
import { readValuesFacts } from "./doctor-values.js";

export interface DoctorResult {
  findings: Finding[];
  /** True when no finding is an error (warnings allowed). */
  ok: boolean;
  errors: number;
  warnings: number;
}

/**
 * Diagnoses the machine with the seed's troubleshooting knowledge: prerequisites, ports,
 * containers, PostgreSQL, MinIO, the cluster, and optionally a values.yaml against the live stack.
 * Each finding carries what, why, and the exact fix.
 */
export async function doctor(options: DoctorOptions = {}): Promise<DoctorResult> {
  const facts = await gatherFacts(options, readValuesFacts);
  const findings = diagnose(facts);
  const errors = findings.filter((f) => f.severity === "error").length;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  return { findings, ok: errors === 0, errors, warnings };
}
