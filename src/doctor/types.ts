import type { Config } from "../config/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import type { Check } from "../services/index.js";

/** How bad a finding is; only `error` makes `doctor` exit 1. */
export type Severity = "error" | "warning" | "info" | "ok";

/** One diagnosis: what is wrong (or fine), why it matters, and the exact command that fixes it. */
export interface Finding {
  id: string;
  severity: Severity;
  what: string;
  why?: string;
  fix?: string;
}

/** Everything the rules look at, gathered once (all I/O happens before the rules run). */
export interface DoctorFacts {
  platform: NodeJS.Platform;
  config: Config;
  engine: { reachable: true; address: string; version: string } | { reachable: false; address: string; error: string; hint: string | undefined };
  tools: {
    kind: { version: string } | { missing: true } | { error: string };
    helm: boolean;
    kubectl: boolean;
  };
  /** Per enabled service: its container as Docker has it and, when not running, its last log lines. */
  containers: Array<{ service: string; name: string; observed: ObservedContainer | undefined; logs: string }>;
  ports: Array<{ service: string; key: string; hostIp: string; port: number; status: "free" | "ours" | "taken"; holder?: string }>;
  postgres?: { authFailed: boolean; error?: string; missingDatabases: string[] };
  minio?: { error?: string; bucketExists: boolean; access: string; strayFiles: string[] };
  /** The cluster's verify checks, when the cluster is enabled and exists. */
  cluster?: Check[];
  values?: ValuesFacts;
}

/** A user's values.yaml next to what the live stack says it must contain. */
export interface ValuesFacts {
  file: string;
  /** The parsed file (plain data). */
  data: unknown;
  /** Leaf paths and the live values they must have, from the values renderer. */
  expected: Array<{ path: string[]; value: unknown; secret: boolean }>;
}
