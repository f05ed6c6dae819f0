import pg from "pg";
import type { Config } from "../../config/index.js";
import { CLUSTER_HOST, FatalProbeError, PROBE_TIMEOUT_MS, check, probeHost, type Component, type ServiceContext } from "../component.js";

/** SQLSTATE of a rejected password (invalid_password) and of a rejected role (invalid_authorization_specification). */
const AUTH_FAILED = new Set(["28P01", "28000"]);

/** True when PostgreSQL refused the credentials (as opposed to not answering yet). */
export function isAuthFailure(err: unknown): boolean {
  return AUTH_FAILED.has(String((err as { code?: unknown }).code));
}

/**
 * Why PostgreSQL refuses a password although its container runs, and the fixes. The official
 * image applies POSTGRES_PASSWORD only when it initialises an empty data directory.
 */
export function passwordMismatchAdvice(config: Config): { why: string; fix: string } {
  const c = config.postgres;
  return {
    why:
      `the volume ${c.volume} was initialised with another password: POSTGRES_PASSWORD is applied only to an empty data directory, ` +
      "so changing it later (or reusing an old volume) leaves the old password in force",
    fix:
      `either set postgres.password in dify-local.yaml to the password the volume was made with, ` +
      `or reset it in place: docker exec -u postgres ${c.container} psql -U ${c.user} -c "ALTER USER ${c.user} WITH PASSWORD '<postgres.password>'" ` +
      `(or start over, deleting the data: dify-local down --purge)`,
  };
}

/** A connected client to the `postgres` maintenance database with the configured password. */
async function connect(ctx: ServiceContext, password = ctx.config.postgres.password): Promise<pg.Client> {
  const client = new pg.Client({
    host: ctx.host,
    port: ctx.config.postgres.port,
    user: ctx.config.postgres.user,
    password,
    database: "postgres",
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  // An error after connect (server restart) must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

async function withClient<T>(ctx: ServiceContext, body: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(ctx);
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Databases among `wanted` that do not exist. */
export async function missingDatabases(client: pg.Client, wanted: readonly string[]): Promise<string[]> {
  const res = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", [wanted]);
  const have = new Set(res.rows.map((r) => r.datname));
  return wanted.filter((d) => !have.has(d));
}

export const postgres: Component = {
  name: "postgres",
  title: "PostgreSQL",
  spec(config: Config) {
    const c = config.postgres;
    return {
      component: "postgres",
      name: c.container,
      image: c.image,
      env: { POSTGRES_USER: c.user, POSTGRES_PASSWORD: c.password },
      ports: [{ containerPort: 5432, hostPort: c.port, hostIp: config.bind, key: "postgres.port" }],
      volumes: [{ volume: c.volume, target: "/var/lib/postgresql/data" }],
      restart: c.restart,
    };
  },
  async probe(ctx) {
    try {
      await withClient(ctx, (c) => c.query("SELECT 1"));
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      const advice = passwordMismatchAdvice(ctx.config);
      throw new FatalProbeError(`PostgreSQL rejects the configured password for ${ctx.config.postgres.user}: ${advice.why}`, advice.fix);
    }
  },
  async init(ctx) {
    return withClient(ctx, async (client) => {
      const missing = await missingDatabases(client, ctx.config.postgres.databases);
      for (const db of missing) {
        // CREATE DATABASE cannot take a bind parameter; the name is a validated identifier, quoted anyway.
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(db)}`);
      }
      return missing.map((db) => `created database ${db}`);
    });
  },
  async checks(ctx) {
    const c = ctx.config.postgres;
    const auth = await check(
      "postgres.auth",
      `PostgreSQL on ${ctx.host}:${c.port} accepts user ${c.user} with the configured password`,
      passwordMismatchAdvice(ctx.config).fix,
      async () => {
        await withClient(ctx, (cl) => cl.query("SELECT 1"));
      },
    );
    const dbs = await check(
      "postgres.databases",
      `databases ${c.databases.join(", ")} exist`,
      "run `dify-local up` to create the missing databases",
      async () => {
        const missing = await withClient(ctx, (cl) => missingDatabases(cl, c.databases));
        if (missing.length > 0) throw new Error(`missing: ${missing.join(", ")}`);
      },
    );
    return [auth, dbs];
  },
  endpoints(config) {
    const c = config.postgres;
    return [
      {
        label: "PostgreSQL",
        host: `postgresql://${c.user}@${probeHost(config)}:${c.port}`,
        cluster: `postgresql://${c.user}@${CLUSTER_HOST}:${c.port}`,
      },
    ];
  },
  credentials(config) {
    return [
      { label: "user", value: config.postgres.user, secret: false },
      { label: "password", value: config.postgres.password, secret: true },
      { label: "databases", value: config.postgres.databases.join(", "), secret: false },
    ];
  },
};
