import type pg from "pg";
import { z } from "zod";
import { FatalProbeError, check, type Finding } from "../../engine/index.js";
import type { ValuesTree } from "../../helm/index.js";
import { ConflictError, messageOf } from "../../errors.js";
import { identifier, port, secret, serviceSchema } from "../fields.js";
import { defineService, type FactSource, type ServiceContext } from "../service.js";
import { withClient } from "./client.js";
import { postgresSnapshot } from "./snapshot.js";

export { parseCopy, tableFromDump } from "./snapshot.js";

export { withClient as withPostgres } from "./client.js";

/** The four databases Dify EE uses, by role; each database is named after its role. */
export const DATABASE_ROLES = ["dify", "plugin_daemon", "enterprise", "audit"] as const;

export const postgresSchema = serviceSchema(
  {
    port: port.default(55432),
    user: identifier.default("postgres"),
    password: secret.default("devpassword"),
    databases: z
      .array(identifier.refine((db) => db !== "template0" && db !== "template1", "is one of PostgreSQL's template databases"))
      .min(1, "must list at least one database")
      .refine((dbs) => new Set(dbs).size === dbs.length, "must not list a database twice")
      .default([...DATABASE_ROLES]),
  },
  { container: "dev-postgres", image: "postgres:17", volume: "dev-postgres-data", restart: "unless-stopped" },
);
export type PostgresSettings = z.infer<typeof postgresSchema>;

/** The superuser as the container was started with it. */
export interface PostgresLive {
  user: string;
  password: string;
  source: FactSource;
}

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
export function passwordMismatchAdvice(c: PostgresSettings): { why: string; fix: string } {
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

/**
 * The superuser the container runs with. POSTGRES_PASSWORD is what the data directory was
 * initialised with when dify-local made the volume; for a volume initialised earlier with another
 * password only a login can tell (verify). The image's default superuser is "postgres".
 */
export function livePostgres(c: PostgresSettings, container: { env: Record<string, string> } | undefined): PostgresLive {
  const password = container?.env.POSTGRES_PASSWORD;
  if (password === undefined) return { user: c.user, password: c.password, source: "config" };
  return { user: container?.env.POSTGRES_USER ?? "postgres", password, source: "container" };
}

type Ctx = ServiceContext<PostgresSettings, PostgresLive>;

/**
 * Changes the superuser's password in place to the configured one before its container is
 * recreated with it (POSTGRES_PASSWORD would not change a data directory already initialised):
 * logs in with the password the running container was started with and runs ALTER USER. Nothing to
 * do when the configured password already logs in (an earlier `up` changed it and stopped), when
 * there is no container, or when the user changes too. Refuses with the steps, changing nothing,
 * when the container is stopped or neither password logs in.
 */
export async function rotatePassword(ctx: Ctx): Promise<string[]> {
  const { settings: c, live, container } = ctx;
  if (!container || live.source !== "container" || live.password === c.password || live.user !== c.user) return [];
  if (!container.running) {
    throw new ConflictError(
      `${c.container} is ${container.state}: its volume ${c.volume} keeps the old password of ${c.user}, which dify-local changes in place (ALTER USER) only through the running server`,
      { hint: `start it (docker start ${c.container}) and run dify-local up again; nothing was changed` },
    );
  }
  try {
    await withClient(ctx, (cl) => cl.query("SELECT 1"));
    return [];
  } catch (err) {
    if (!isAuthFailure(err)) throw err;
  }
  try {
    await withClient({ host: ctx.host, settings: { ...c, password: live.password } }, (cl) =>
      cl.query(`ALTER USER ${cl.escapeIdentifier(c.user)} WITH PASSWORD ${cl.escapeLiteral(c.password)}`),
    );
  } catch (err) {
    if (!isAuthFailure(err)) throw err;
    const advice = passwordMismatchAdvice(c);
    throw new ConflictError(
      `PostgreSQL rejects both the configured password and the one ${c.container} was started with, so dify-local cannot change it in place: ${advice.why}`,
      { hint: `${advice.fix}; then run dify-local up again. Nothing was changed` },
    );
  }
  return [`changed the password of ${c.user} in place (ALTER USER; the data in ${c.volume} is kept)`];
}

/** Databases among `wanted` that do not exist. */
export async function missingDatabases(client: pg.Client, wanted: readonly string[]): Promise<string[]> {
  const res = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", [wanted]);
  const have = new Set(res.rows.map((r) => r.datname));
  return wanted.filter((d) => !have.has(d));
}

/** What the doctor learns from one login. */
export interface PostgresDoctorFacts {
  authFailed: boolean;
  error?: string;
  missingDatabases: string[];
}

/** The doctor's PostgreSQL rule: pure, over what one login showed. */
export function postgresFindings(c: PostgresSettings, f: PostgresDoctorFacts): Finding[] {
  if (f.authFailed) {
    const advice = passwordMismatchAdvice(c);
    return [
      {
        id: "postgres.auth",
        severity: "error",
        what: `PostgreSQL runs but rejects the password of postgres.password for ${c.user}`,
        why: advice.why,
        fix: advice.fix,
      },
    ];
  }
  if (f.error)
    return [
      {
        id: "postgres.auth",
        severity: "error",
        what: `PostgreSQL does not answer on ${c.port}`,
        why: f.error,
        fix: `docker logs ${c.container}`,
      },
    ];
  return [
    { id: "postgres.auth", severity: "ok", what: `PostgreSQL accepts ${c.user} with the configured password` },
    f.missingDatabases.length > 0
      ? {
          id: "postgres.databases",
          severity: "error",
          what: `databases missing: ${f.missingDatabases.join(", ")}`,
          why: "Dify's api, plugin daemon and enterprise services each need theirs",
          fix: "dify-local up",
        }
      : { id: "postgres.databases", severity: "ok", what: `databases ${c.databases.join(", ")} exist` },
  ];
}

async function doctorFacts(ctx: Ctx): Promise<PostgresDoctorFacts> {
  try {
    return { authFailed: false, missingDatabases: await withClient(ctx, (cl) => missingDatabases(cl, ctx.settings.databases)) };
  } catch (err) {
    return { authFailed: isAuthFailure(err), error: messageOf(err), missingDatabases: [] };
  }
}

/** Chart 3.7: `externalPostgres`, one credentials block per database. */
function externalPostgres37(c: PostgresSettings, live: PostgresLive, host: string): ValuesTree {
  const credentials: ValuesTree = {};
  for (const role of DATABASE_ROLES) {
    credentials[role] = {
      database: role,
      username: live.user,
      password: live.password,
      sslmode: "disable",
      extras: "",
      charset: "",
      uriScheme: "postgresql",
    };
  }
  return { enabled: true, address: host, port: c.port, credentials };
}

/** Chart 3.9: `externalDatabase`, one user and a map of databases. */
function externalDatabase39(c: PostgresSettings, live: PostgresLive, host: string): ValuesTree {
  const databases: ValuesTree = {};
  for (const role of DATABASE_ROLES) databases[role] = role;
  return {
    enabled: true,
    engine: "postgres",
    host,
    port: c.port,
    user: live.user,
    password: live.password,
    databases,
    dialectOptions: { postgres: { sslMode: "disable", uriScheme: "postgresql", extras: "" } },
  };
}

export const postgres = defineService<typeof postgresSchema, PostgresLive>({
  name: "postgres",
  title: "PostgreSQL",
  schema: postgresSchema,
  container: {
    dataDir: "/var/lib/postgresql/data",
    ports: (c) => [{ containerPort: 5432, hostPort: c.port, key: "port" }],
    env: (c) => ({ POSTGRES_USER: c.user, POSTGRES_PASSWORD: c.password }),
  },
  live: livePostgres,
  clients: () => import("pg"),
  // initdb makes it the slowest to answer by far: its start goes first, the others overlap it.
  startFirst: true,
  async probe(ctx) {
    try {
      await withClient(ctx, (c) => c.query("SELECT 1"));
    } catch (err) {
      if (!isAuthFailure(err)) throw err;
      const advice = passwordMismatchAdvice(ctx.settings);
      throw new FatalProbeError(`PostgreSQL rejects the configured password for ${ctx.settings.user}: ${advice.why}`, advice.fix);
    }
  },
  async init(ctx) {
    const missing = await withClient(ctx, (client) => missingDatabases(client, ctx.settings.databases));
    // Side by side, each on its own connection: a new server creates all four, and together they
    // take about half as long as one after another (each copies template1 and syncs it to disk).
    // CREATE DATABASE cannot take a bind parameter; the name is a validated identifier, quoted anyway.
    await Promise.all(missing.map((db) => withClient(ctx, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(db)}`))));
    return missing.map((db) => `created database ${db}`);
  },
  rotate: rotatePassword,
  async checks(ctx) {
    const c = ctx.settings;
    const auth = await check(
      "postgres.auth",
      `PostgreSQL on ${ctx.host}:${c.port} accepts user ${c.user} with the configured password`,
      passwordMismatchAdvice(c).fix,
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
  endpoints: (c, h) => [
    { label: "PostgreSQL", host: `postgresql://${c.user}@${h.host}:${c.port}`, cluster: `postgresql://${c.user}@${h.cluster}:${c.port}` },
  ],
  credentials: (c, live) => [
    { label: "user", value: live.user, secret: false },
    { label: "password", value: live.password, secret: true },
    { label: "databases", value: c.databases.join(", "), secret: false },
  ],
  values: (c, live, o) => ({
    ...(o.chart === "3.7"
      ? { externalPostgres: externalPostgres37(c, live, o.host) }
      : { externalDatabase: externalDatabase39(c, live, o.host) }),
    postgresql: { enabled: false },
  }),
  env: (c, live, host) => [
    {
      title: "PostgreSQL",
      entries: [
        ["DB_TYPE", "postgresql"],
        ["DB_USERNAME", live.user],
        ["DB_PASSWORD", live.password],
        ["DB_HOST", host],
        ["DB_PORT", String(c.port)],
        ["DB_DATABASE", "dify"],
        ["DB_PLUGIN_DATABASE", "plugin_daemon"],
      ],
    },
  ],
  doctor: async (ctx) => postgresFindings(ctx.settings, await doctorFacts(ctx)),
  snapshot: postgresSnapshot,
});
