import { isIPv4 } from "node:net";
import { z } from "zod";

/**
 * The configuration schema. Every default is the seed's table (shared/seed/infrastructure-layer.md),
 * so `dify-local up` with no file reproduces it exactly. Objects are strict: an unknown key is an
 * error naming its path, never silently ignored.
 */

const port = z
  .number({ invalid_type_error: "must be a port number" })
  .int("must be a whole number")
  .min(1, "must be between 1 and 65535")
  .max(65535, "must be between 1 and 65535");

// Docker's own rule for container and volume names.
const dockerName = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/, "must be a Docker name: letters, digits, _ . - (not starting with a symbol)");

const image = z
  .string({ invalid_type_error: "must be an image reference" })
  .min(1, "must not be empty")
  .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "must be an image reference like redis:7 or host:5000/name:tag");

const secret = z.string({ invalid_type_error: "must be a string" }).min(1, "must not be empty");

const restart = z.enum(["no", "always", "unless-stopped", "on-failure"]);

const identifier = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier (letters, digits, _)")
  .max(63, "must be at most 63 characters");

const bucket = z
  .string({ invalid_type_error: "must be a string" })
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lower-case letters, digits, . or -");

const service = <T extends z.ZodRawShape>(shape: T, defaults: { container: string; image: string; volume: string; restart: z.infer<typeof restart> }) =>
  z
    .object({
      enabled: z.boolean().default(true),
      container: dockerName.default(defaults.container),
      image: image.default(defaults.image),
      volume: dockerName.default(defaults.volume),
      restart: restart.default(defaults.restart),
      ...shape,
    })
    .strict();

export const registrySchema = service(
  { port: port.default(5050) },
  { container: "local-registry", image: "registry:2", volume: "local-registry-data", restart: "always" },
);

export const postgresSchema = service(
  {
    port: port.default(55432),
    user: identifier.default("postgres"),
    password: secret.default("devpassword"),
    databases: z
      .array(identifier)
      .min(1, "must list at least one database")
      .refine((dbs) => new Set(dbs).size === dbs.length, "must not list a database twice")
      .default(["dify", "plugin_daemon", "enterprise", "audit"]),
  },
  { container: "dev-postgres", image: "postgres:17", volume: "dev-postgres-data", restart: "unless-stopped" },
);

export const redisSchema = service(
  {
    port: port.default(6379),
    password: secret.default("devpassword"),
    appendonly: z.boolean().default(true),
  },
  { container: "dev-redis", image: "redis:7", volume: "dev-redis-data", restart: "unless-stopped" },
);

export const minioSchema = service(
  {
    port: port.default(9000),
    consolePort: port.default(9001),
    rootUser: z.string().min(3, "must be at least 3 characters (MinIO's rule)").default("minioadmin"),
    rootPassword: z.string().min(8, "must be at least 8 characters (MinIO's rule)").default("minioadmin123"),
    bucket: bucket.default("dify"),
    anonymous: z.enum(["none", "download", "public"]).default("public"),
    region: z.string().min(1).default("us-east-1"),
  },
  { container: "dev-minio", image: "minio/minio", volume: "dev-minio-data", restart: "unless-stopped" },
);

export const qdrantSchema = service(
  {
    port: port.default(6333),
    grpcPort: port.default(6334),
    apiKey: secret.default("devpassword"),
  },
  { container: "dev-qdrant", image: "qdrant/qdrant", volume: "dev-qdrant-data", restart: "unless-stopped" },
);

export const clusterSchema = z
  .object({
    enabled: z.boolean().default(true),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, "must be a kind cluster name: lower-case letters, digits and -")
      .default("dify-ee-kind"),
    workers: z.number().int("must be a whole number").min(0).max(10).default(1),
    /** kind node image; empty means kind's own default for the installed kind version. */
    nodeImage: image.optional(),
    httpPort: port.default(80),
    httpsPort: port.default(443),
    /** How long to wait for every node to be Ready, in seconds. */
    readyTimeout: z.number().int().min(1).default(300),
  })
  .strict();

export const configSchema = z
  .object({
    /** Host address the published ports bind to. */
    bind: z
      .string()
      .refine((v) => isIPv4(v), "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0")
      .default("127.0.0.1"),
    /** How long to wait for each service to answer, in seconds. */
    readyTimeout: z.number().int("must be a whole number").min(1).max(3600).default(120),
    registry: registrySchema.default({}),
    postgres: postgresSchema.default({}),
    redis: redisSchema.default({}),
    minio: minioSchema.default({}),
    qdrant: qdrantSchema.default({}),
    cluster: clusterSchema.default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // Two services on one host port, or one container/volume name twice, can never converge.
    const seen = new Map<string, string>();
    for (const [path, value] of hostPortEntries(cfg)) {
      const key = `port ${value}`;
      const other = seen.get(key);
      if (other) ctx.addIssue({ code: z.ZodIssueCode.custom, path: path.split("."), message: `uses port ${value}, already used by ${other}` });
      else seen.set(key, path);
    }
    for (const field of ["container", "volume"] as const) {
      const names = new Map<string, string>();
      for (const svc of SERVICE_NAMES) {
        const name = cfg[svc][field];
        const other = names.get(name);
        if (other) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [svc, field], message: `"${name}" is already used by ${other}` });
        else names.set(name, `${svc}.${field}`);
      }
    }
  });

export const SERVICE_NAMES = ["registry", "postgres", "redis", "minio", "qdrant"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The validated configuration: what `up` converges to. */
export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

function hostPortEntries(cfg: Config): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (cfg.registry.enabled) out.push(["registry.port", cfg.registry.port]);
  if (cfg.postgres.enabled) out.push(["postgres.port", cfg.postgres.port]);
  if (cfg.redis.enabled) out.push(["redis.port", cfg.redis.port]);
  if (cfg.minio.enabled) out.push(["minio.port", cfg.minio.port], ["minio.consolePort", cfg.minio.consolePort]);
  if (cfg.qdrant.enabled) out.push(["qdrant.port", cfg.qdrant.port], ["qdrant.grpcPort", cfg.qdrant.grpcPort]);
  if (cfg.cluster.enabled) out.push(["cluster.httpPort", cfg.cluster.httpPort], ["cluster.httpsPort", cfg.cluster.httpsPort]);
  return out;
}
