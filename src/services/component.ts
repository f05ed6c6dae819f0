import type { Config, ServiceName } from "../config/index.js";
import type { ContainerSpec, ObservedContainer, Runtime } from "../runtime/index.js";

/** A named verification with its outcome; `verify` and `doctor` both speak this shape. */
export interface Check {
  id: string;
  ok: boolean;
  /** What was checked, in words ("PostgreSQL accepts the password"). */
  what: string;
  /** What was seen, when it helps (especially on failure). */
  detail?: string;
  /** One line: how to fix it. Present on failures. */
  fix?: string;
}

/** One way to reach a service, as seen from the host and from pods in the cluster. */
export interface Endpoint {
  label: string;
  host: string;
  cluster: string;
}

/** A credential shown by `info`; masked unless asked. */
export interface Credential {
  label: string;
  value: string;
  secret: boolean;
}

/** What a component's probe, init and checks get. */
export interface ServiceContext {
  config: Config;
  runtime: Runtime;
  /** The address to reach published ports from this machine. */
  host: string;
  /** The container as Docker reports it now (for live credentials), when it exists. */
  container: ObservedContainer | undefined;
}

/**
 * One host service: its container spec, its readiness probe (a real protocol round trip), its
 * idempotent init and its verify checks, in one place (like testcontainers' modules).
 */
export interface Component {
  name: ServiceName;
  title: string;
  spec(config: Config): ContainerSpec;
  /** One readiness attempt; throws with the reason when the service does not answer yet. */
  probe(ctx: ServiceContext): Promise<void>;
  /** Idempotent setup after readiness; returns what it changed (empty when nothing). */
  init?(ctx: ServiceContext): Promise<string[]>;
  checks(ctx: ServiceContext): Promise<Check[]>;
  endpoints(config: Config): Endpoint[];
  credentials(config: Config, container: ObservedContainer | undefined): Credential[];
}

/** Where this machine reaches ports published on `bind`. */
export function probeHost(config: Config): string {
  return config.bind === "0.0.0.0" ? "127.0.0.1" : config.bind;
}

/** The name pods use for the host (Docker Desktop provides it; on Linux dify-local wires it). */
export const CLUSTER_HOST = "host.docker.internal";

/** Runs a check body, turning a throw into a failed check with the fix. */
export async function check(id: string, what: string, fix: string, body: () => Promise<string | void>): Promise<Check> {
  try {
    const detail = await body();
    return { id, ok: true, what, ...(detail ? { detail } : {}) };
  } catch (err) {
    return { id, ok: false, what, detail: err instanceof Error ? err.message : String(err), fix };
  }
}

/**
 * A probe failure that waiting will not cure (a wrong password on an initialised volume): the
 * readiness loop stops at once and reports it, with its fix.
 */
export class FatalProbeError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "FatalProbeError";
  }
}

/** Rejects after `ms` so a silent server cannot stall a probe. */
export async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

export const PROBE_TIMEOUT_MS = 3000;
