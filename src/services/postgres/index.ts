import type pg from "pg";
import { z } from "zod";
import { FatalProbeError, checkUnlessProven, type Finding } from "../../engine/index.js";
import type { ValuesTree } from "../../helm/index.js";
import { ConflictError, EnvironmentError, messageOf } from "../../errors.js";
import type { Failure } from "../external.js";
import { credential, filePath, hostname, identifier, port, secret, serviceSchema, withExternal } from "../fields.js";
import { defineService, hostPort, type FactSource, type ServiceContext } from "../service.js";
import { SSL_MODES, withClient, type PgConnection } from "./client.js";
import { postgresSnapshot } from "./snapshot.js";

export { parseCopy, tableFromDump } from "./snapshot.js";

export { withClient as withPostgres, sslOption, SSL_MODES } from "./client.js";
export type { SslMode, PgConnection } from "./client.js";

/** The four databases Dify EE uses, by role; each database is named after its role. */
export const DATABASE_ROLES = ["dify", "plugin_daemon", "enterprise", "audit"] as const;

/**
 * `postgres.external`: a PostgreSQL dify-local does not run (RDS, Aurora, Cloud SQL, a server of
 * your own). `sslmode` defaults to `require`: managed servers ask for TLS, and a clear "TLS
 * required" beats a silent plaintext login where it is allowed.
 */
export const postgresExternalSchema = z
  .object({
    host: hostname,
    port: port.default(5432),
    user: credential,
    password: secret,
    sslmode: z.enum(SSL_MODES, { errorMap: () => ({ message: `must be one of ${SSL_MODES.join(", ")}` }) }).default("require"),
    /** A CA certificate (PEM file) for verify-ca / verify-full; default: the system's CAs. */
    ca: filePath.optional(),
    /** The database dify-local logs in to for administration (checking and creating the configured ones). */
    database: identifier.default("postgres"),
  })
  .strict()
  .refine((e) => e.ca === undefined || e.sslmode === "verify-ca" || e.sslmode === "verify-full", {
    message: "is only used with sslmode verify-ca or verify-full",
    path: ["ca"],
  });
export type PostgresExternal = z.infer<typeof postgresExternalSchema>;

const postgresSection = serviceSchema(
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
export const postgresSchema = withExternal(postgresSection, postgresExternalSchema, ["port", "user", "password"]);
export type PostgresSettings = z.infer<typeof postgresSchema>;

/** The superuser as the container was started with it, or the external section's user and TLS settings. */
export interface PostgresLive extends PgConnection {
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
 * PostgreSQL's own part of a failure: a refused password or role (28P01, 28000), a pg_hba.conf
 * that only has `hostssl` rules for this client ("no encryption": TLS required), a server that
 * offers no TLS at all.
 */
export function postgresFailure(err: unknown): Failure | undefined {
  const code = String((err as { code?: unknown }).code);
  const answer = messageOf(err);
  if (code === "28000" && /no encryption/i.test(answer)) return { kind: "tls-required", answer };
  if (AUTH_FAILED.has(code)) return { kind: "auth", answer };
  if (/does not support SSL/i.test(answer)) return { kind: "tls", answer: `${answer}: set sslmode: disable, or turn TLS on in the server` };
  if (code === "3D000") return { kind: "server", answer: `${answer} (the database dify-local logs in to: postgres.external.database)` };
  return undefined;
}

/** `postgres.external` as the container code reads it: the same probe, init and checks run against it. */
function externalTarget(ext: PostgresExternal, s: PostgresSettings) {
  return {
    host: ext.host,
    port: ext.port,
    tls: ext.sslmode === "disable" ? "no TLS (sslmode disable)" : `TLS (sslmode ${ext.sslmode})`,
    settings: { ...s, port: ext.port, user: ext.user, password: ext.password },
    live: {
      user: ext.user,
      password: ext.password,
      source: "external" as const,
      sslmode: ext.sslmode,
      database: ext.database,
      ...(ext.ca ? { ca: ext.ca } : {}),
    },
  };
}

/** The SQL an administrator runs when the configured user may not create databases. */
export function createDatabaseSql(user: string, databases: readonly string[]): string {
  const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  return databases.map((db) => `CREATE DATABASE ${q(db)} OWNER ${q(user)};`).join("\n");
}

function cannotCreate(ctx: Ctx, missing: readonly string[], why: string): EnvironmentError {
  const where = ctx.external ? `at ${ctx.external.address}` : `on ${hostPort(ctx.host, ctx.settings.port)}`;
  return new EnvironmentError(
    `PostgreSQL ${where}: databases ${missing.join(", ")} are missing and ${ctx.settings.user} may not create them (${why})`,
    {
      hint: `ask an administrator of the server to run:\n${createDatabaseSql(ctx.settings.user, missing)}\nthen run dify-local up again (or give ${ctx.settings.user} CREATEDB). Nothing else was changed`,
    },
  );
}

/** What PostgreSQL's readiness probe saw, in its own session: the configured databases still missing. */
interface ProbeSeen {
  missing: string[];
}

function isProbeSeen(seen: unknown): seen is ProbeSeen {
  return typeof seen === "object" && seen !== null && Array.isArray((seen as Partial<ProbeSeen>).missing);
}

/**
 * Creates the configured databases that are missing, when the user may (superuser or CREATEDB);
 * otherwise stops with the SQL to run. Never drops or changes an existing database. When the
 * probe just before it found none missing (`seen`), it asks nothing: on a converged stack that
 * is one login less on PostgreSQL's path, the longest of a warm `up`.
 */
async function createDatabases(ctx: Ctx, seen?: unknown): Promise<string[]> {
  if (isProbeSeen(seen) && seen.missing.length === 0) return [];
  const { missing, may } = await withClient(ctx, async (client) => {
    const absent = await missingDatabases(client, ctx.settings.databases);
    if (absent.length === 0) return { missing: absent, may: true };
    const res = await client.query<{ may: boolean }>("SELECT rolsuper OR rolcreatedb AS may FROM pg_roles WHERE rolname = current_user");
    return { missing: absent, may: res.rows[0]?.may === true };
  });
  if (!may) throw cannotCreate(ctx, missing, "it is neither superuser nor has CREATEDB");
  // Side by side, each on its own connection: a new server creates all four, and together they
  // take about half as long as one after another (each copies template1 and syncs it to disk).
  // CREATE DATABASE cannot take a bind parameter; the name is a validated identifier, quoted anyway.
  try {
    await Promise.all(missing.map((db) => withClient(ctx, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(db)}`))));
  } catch (err) {
    // 42501: insufficient_privilege (a managed server's own rules beyond CREATEDB).
    if (String((err as { code?: unknown }).code) === "42501") throw cannotCreate(ctx, missing, messageOf(err));
    throw err;
  }
  return missing.map((db) => `created database ${db}`);
}

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

/** What the doctor learns from one login to an external server. */
export interface PostgresExternalFacts {
  address: string;
  sslmode: string;
  /** The classified failure, when the login failed. */
  failure?: Failure;
  /** The failure as `up` would report it. */
  error?: string;
  missingDatabases: string[];
}

/**
 * The doctor's rule for an external PostgreSQL: pure. `sslmode: disable` against a server whose
 * pg_hba.conf only accepts TLS is named as that, with the one-line fix.
 */
export function postgresExternalFindings(c: PostgresSettings, f: PostgresExternalFacts): Finding[] {
  if (f.failure?.kind === "tls-required" && f.sslmode === "disable")
    return [
      {
        id: "postgres.external",
        severity: "error",
        what: `PostgreSQL at ${f.address} requires TLS, but postgres.external.sslmode is disable`,
        why: `the server refuses unencrypted logins (${f.failure.answer}); Dify's pods would be refused the same way`,
        fix: "set postgres.external.sslmode: require (or verify-full with ca: for a checked certificate), then dify-local up and dify-local values",
      },
    ];
  if (f.error)
    return [
      { id: "postgres.external", severity: "error", what: f.error, fix: "check postgres.external (host, port, user, password, sslmode)" },
    ];
  return [
    { id: "postgres.external", severity: "ok", what: `PostgreSQL at ${f.address} (sslmode ${f.sslmode}) accepts ${c.user}` },
    f.missingDatabases.length > 0
      ? {
          id: "postgres.databases",
          severity: "error",
          what: `databases missing on ${f.address}: ${f.missingDatabases.join(", ")}`,
          why: "Dify's api, plugin daemon and enterprise services each need theirs; the chart does not create them",
          fix: `dify-local up (it creates them when ${c.user} may, else prints the SQL to run)`,
        }
      : { id: "postgres.databases", severity: "ok", what: `databases ${c.databases.join(", ")} exist` },
  ];
}

async function externalDoctorFacts(ctx: Ctx, address: string): Promise<PostgresExternalFacts> {
  const sslmode = ctx.live.sslmode ?? "disable";
  try {
    return { address, sslmode, missingDatabases: await withClient(ctx, (cl) => missingDatabases(cl, ctx.settings.databases)) };
  } catch (err) {
    const failure = postgresFailure(err);
    return {
      address,
      sslmode,
      ...(failure ? { failure } : {}),
      error: `PostgreSQL at ${address}: ${messageOf(err)}`,
      missingDatabases: [],
    };
  }
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
      sslmode: live.sslmode ?? "disable",
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
    dialectOptions: { postgres: { sslMode: live.sslmode ?? "disable", uriScheme: "postgresql", extras: "" } },
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
  async probe(ctx): Promise<ProbeSeen> {
    try {
      // The login is the readiness; the listing, in the same session, spares init a login of its own.
      return { missing: await withClient(ctx, (c) => missingDatabases(c, ctx.settings.databases)) };
    } catch (err) {
      // An external server's failure is classified by the caller (see `external.classify`).
      if (ctx.external || !isAuthFailure(err)) throw err;
      const advice = passwordMismatchAdvice(ctx.settings);
      throw new FatalProbeError(`PostgreSQL rejects the configured password for ${ctx.settings.user}: ${advice.why}`, advice.fix);
    }
  },
  init: createDatabases,
  rotate: rotatePassword,
  proves: { probe: ["postgres.auth"], init: ["postgres.databases"] },
  async checks(ctx) {
    const c = ctx.settings;
    const where = ctx.external ? `at ${ctx.external.address} (external, ${ctx.external.tls})` : `on ${ctx.host}:${c.port}`;
    const auth = (run: () => Promise<unknown>) =>
      checkUnlessProven(
        ctx.proven,
        "postgres.auth",
        `PostgreSQL ${where} accepts user ${c.user} with the configured password`,
        ctx.external ? "check postgres.external (host, port, user, password, sslmode)" : passwordMismatchAdvice(c).fix,
        async () => void (await run()),
      );
    const dbs = (run: () => Promise<string[]>) =>
      checkUnlessProven(
        ctx.proven,
        "postgres.databases",
        `databases ${c.databases.join(", ")} exist`,
        "run `dify-local up` to create the missing databases (it prints the SQL when the user may not)",
        async () => {
          const missing = await run();
          if (missing.length > 0) throw new Error(`missing: ${missing.join(", ")}`);
        },
      );
    // Both shown by `up`'s probe (the same login) and init (which listed them): no session at all.
    if (ctx.proven?.has("postgres.auth") && ctx.proven.has("postgres.databases")) {
      const shown = (): Promise<never[]> => Promise.resolve([]);
      return [await auth(shown), await dbs(shown)];
    }
    // Both on one session: a login (a new backend, SCRAM) costs more than the two queries.
    try {
      return await withClient(ctx, async (cl) => [
        await auth(() => cl.query("SELECT 1")),
        await dbs(() => missingDatabases(cl, c.databases)),
      ]);
    } catch (err) {
      // No session: both fail with why.
      const failed = (): Promise<never> => {
        throw err;
      };
      return [await auth(failed), await dbs(failed)];
    }
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
  doctor: async (ctx) =>
    ctx.external
      ? postgresExternalFindings(ctx.settings, await externalDoctorFacts(ctx, ctx.external.address))
      : postgresFindings(ctx.settings, await doctorFacts(ctx)),
  snapshot: postgresSnapshot,
  external: { connect: externalTarget, classify: postgresFailure },
});
