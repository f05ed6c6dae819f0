import type { LiveFacts } from "./facts.js";

/** The first line of every .env dify-local renders; `-o` only overwrites files that start with it. */
export const ENV_MARKER = "# Dify community edition .env, infrastructure part, rendered by dify-local";

/**
 * The same facts as the Helm values, under the community edition's `.env` names (docker/.env.example
 * and the plugin daemon's), for running Dify CE against the same local services. Pure.
 */
export function renderEnv(facts: LiveFacts): string {
  const { host, postgres: pg, redis, minio, qdrant } = facts;
  const s3Endpoint = `http://${host}:${minio.port}`;
  // Celery's broker is Redis database 1, as in the community .env; the password is a URL part there.
  const broker = `redis://:${encodeURIComponent(redis.password)}@${host}:${redis.port}/1`;
  const sections: Array<[string, Array<[string, string]>]> = [
    [
      "PostgreSQL",
      [
        ["DB_TYPE", "postgresql"],
        ["DB_USERNAME", pg.user],
        ["DB_PASSWORD", pg.password],
        ["DB_HOST", host],
        ["DB_PORT", String(pg.port)],
        ["DB_DATABASE", pg.databases.dify],
        ["DB_PLUGIN_DATABASE", pg.databases.plugin_daemon],
      ],
    ],
    [
      "Redis",
      [
        ["REDIS_HOST", host],
        ["REDIS_PORT", String(redis.port)],
        ["REDIS_USERNAME", ""],
        ["REDIS_PASSWORD", redis.password],
        ["REDIS_USE_SSL", "false"],
        ["REDIS_DB", "0"],
        ["CELERY_BROKER_URL", broker],
      ],
    ],
    [
      "File storage: MinIO through the S3 API, path-style",
      [
        ["STORAGE_TYPE", "s3"],
        ["S3_ENDPOINT", s3Endpoint],
        ["S3_REGION", minio.region],
        ["S3_BUCKET_NAME", minio.bucket],
        ["S3_ACCESS_KEY", minio.accessKey],
        ["S3_SECRET_KEY", minio.secretKey],
        ["S3_USE_AWS_MANAGED_IAM", "false"],
        ["S3_ADDRESS_STYLE", "path"],
      ],
    ],
    [
      "Vector store",
      [
        ["VECTOR_STORE", "qdrant"],
        ["QDRANT_URL", `http://${host}:${qdrant.port}`],
        ["QDRANT_API_KEY", qdrant.apiKey],
      ],
    ],
    [
      "Plugin daemon storage: the same bucket",
      [
        ["PLUGIN_STORAGE_TYPE", "aws_s3"],
        ["PLUGIN_STORAGE_OSS_BUCKET", minio.bucket],
        ["PLUGIN_S3_USE_AWS", "false"],
        ["PLUGIN_S3_USE_AWS_MANAGED_IAM", "false"],
        ["PLUGIN_S3_ENDPOINT", s3Endpoint],
        ["PLUGIN_S3_USE_PATH_STYLE", "true"],
        ["PLUGIN_AWS_ACCESS_KEY", minio.accessKey],
        ["PLUGIN_AWS_SECRET_KEY", minio.secretKey],
        ["PLUGIN_AWS_REGION", minio.region],
      ],
    ],
  ];
  const lines = [
    `${ENV_MARKER} from the running stack.`,
    "# Holds passwords: keep it private. Containers reach the host as host.docker.internal (Docker Desktop;",
    '# on Linux give each service `extra_hosts: ["host.docker.internal:host-gateway"]`).',
  ];
  for (const [title, entries] of sections) {
    lines.push("", `# ${title}`, ...entries.map(([k, v]) => `${k}=${envValue(v)}`));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A value as both docker compose and python-dotenv read it back unchanged: bare when it holds
 * only safe characters, else single-quoted (literal in both, no `$` interpolation), else (a value
 * with a single quote or a backslash) double-quoted with `\` and `"` escaped.
 */
export function envValue(value: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]*$/.test(value)) return value;
  if (!/['\\\n]/.test(value)) return `'${value}'`;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
