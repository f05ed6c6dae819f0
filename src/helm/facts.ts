import type { Context } from "../commands/context.js";
import type { Config } from "../config/index.js";
import type { ObservedContainer } from "../runtime/index.js";
import { CLUSTER_HOST, liveMinioCredentials } from "../services/index.js";

/** Where a credential was read: the live container (the truth), or the config (no container to read). */
export type FactSource = "container" | "config";

/** The container a service's facts were read from, as Docker reports it now. */
export type ContainerState = "running" | "stopped" | "missing";

/** The four databases Dify EE uses, by role; each database is named after its role. */
export const DATABASE_ROLES = ["dify", "plugin_daemon", "enterprise", "audit"] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

/** The services whose credentials the Helm values carry. */
export type CredentialService = "postgres" | "redis" | "minio" | "qdrant";

interface ServiceFacts {
  /** Host port, from the config (the container publishes exactly the configured port). */
  port: number;
  source: FactSource;
  container: ContainerState;
}

/**
 * What the Helm values (and the community .env) are rendered from: the running stack's real
 * credentials, the configured ports, and the name pods use for the host.
 */
export interface LiveFacts {
  /** How pods in the cluster (and other containers) reach the host services. */
  host: string;
  postgres: ServiceFacts & { user: string; password: string; databases: Record<DatabaseRole, string> };
  redis: ServiceFacts & { password: string };
  minio: ServiceFacts & { accessKey: string; secretKey: string; bucket: string; region: string };
  qdrant: ServiceFacts & { apiKey: string };
  registry: { port: number };
}

/**
 * Reads the live facts: one `observe` call for the service containers, then each credential from
 * its container (MinIO's and PostgreSQL's environment, Redis's `--requirepass`, Qdrant's api-key
 * variable), falling back to the config when there is no container to read.
 */
export async function readLiveFacts(ctx: Context): Promise<LiveFacts> {
  const c = ctx.config;
  const observed = await ctx.runtime.observe([c.registry.container, c.postgres.container, c.redis.container, c.minio.container, c.qdrant.container]);
  return factsFrom(c, observed);
}

/** The pure half of {@link readLiveFacts}: facts from a config and the containers observed. */
export function factsFrom(config: Config, observed: ReadonlyMap<string, ObservedContainer>): LiveFacts {
  const pg = observed.get(config.postgres.container);
  const rd = observed.get(config.redis.container);
  const mn = observed.get(config.minio.container);
  const qd = observed.get(config.qdrant.container);

  // POSTGRES_PASSWORD is what the data directory was initialised with when dify-local made the
  // volume; for a volume initialised earlier with another password only a login can tell (verify).
  const pgPassword = pg?.env.POSTGRES_PASSWORD;
  // The image's default superuser is "postgres" when POSTGRES_USER is not set.
  const pgUser = pgPassword === undefined ? config.postgres.user : (pg?.env.POSTGRES_USER ?? "postgres");
  const redisPassword = rd ? requirepass(rd.cmd) : undefined;
  const qdrantKey = qd?.env.QDRANT__SERVICE__API_KEY;
  const minio = liveMinioCredentials(config, mn);

  return {
    host: CLUSTER_HOST,
    postgres: {
      ...service(config.postgres.port, pg, pgPassword),
      user: pgUser,
      password: pgPassword ?? config.postgres.password,
      databases: { dify: "dify", plugin_daemon: "plugin_daemon", enterprise: "enterprise", audit: "audit" },
    },
    redis: { ...service(config.redis.port, rd, redisPassword), password: redisPassword ?? config.redis.password },
    minio: {
      port: config.minio.port,
      source: minio.source,
      container: stateOf(mn),
      accessKey: minio.accessKey,
      secretKey: minio.secretKey,
      bucket: config.minio.bucket,
      region: config.minio.region,
    },
    qdrant: { ...service(config.qdrant.port, qd, qdrantKey), apiKey: qdrantKey ?? config.qdrant.apiKey },
    registry: { port: config.registry.port },
  };
}

/** Where each credential came from, for the result and for warnings. */
export function factSources(facts: LiveFacts): Record<CredentialService, FactSource> {
  return { postgres: facts.postgres.source, redis: facts.redis.source, minio: facts.minio.source, qdrant: facts.qdrant.source };
}

/** The password in a redis-server command line: `--requirepass X` (as dify-local runs it) or `--requirepass=X`. */
export function requirepass(cmd: readonly string[]): string | undefined {
  for (let i = 0; i < cmd.length; i++) {
    const arg = cmd[i] ?? "";
    if (arg === "--requirepass") return cmd[i + 1];
    if (arg.startsWith("--requirepass=")) return arg.slice("--requirepass=".length);
  }
  return undefined;
}

/** Port, and where the credential came from: `live` is what the container showed, undefined when nothing. */
function service(port: number, c: ObservedContainer | undefined, live: string | undefined): ServiceFacts {
  return { port, source: live === undefined ? "config" : "container", container: stateOf(c) };
}

function stateOf(c: ObservedContainer | undefined): ContainerState {
  if (!c) return "missing";
  return c.running ? "running" : "stopped";
}
