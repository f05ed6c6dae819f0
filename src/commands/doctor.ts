import { runDoctor, type DoctorOptions, type DoctorResult } from "../doctor/index.js";

export type { DoctorResult } from "../doctor/index.js";

/**
 * Diagnoses the machine with the seed's troubleshooting knowledge: prerequisites, ports,
 * containers, each service's own rules, the cluster, and optionally a values.yaml against the live
 * stack. Each finding carries what, why, and the exact fix.
 */
export function doctor(options: DoctorOptions = {}): Promise<DoctorResult> {
  return runDoctor(options);
}
