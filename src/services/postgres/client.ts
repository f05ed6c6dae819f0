import { readFile } from "node:fs/promises";
import type { ConnectionOptions } from "node:tls";
import type pg from "pg";
import { UserError } from "../../errors.js";
import { PROBE_TIMEOUT_MS } from "../service.js";

/** libpq's sslmode values dify-local takes (`prefer` and `allow` guess; an explicit choice is asked for). */
export const SSL_MODES = ["disable", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** How to reach the server beyond host and port: TLS and the maintenance database (an external server's). */
export interface PgConnection {
  sslmode?: SslMode;
  /** A CA certificate file (PEM) for verify-ca and verify-full. */
  ca?: string;
  /** The database to log in to for administration (default `postgres`). */
  database?: string;
}

/**
 * node-postgres's `ssl` option for a libpq sslmode: `require` encrypts without checking the
 * certificate (as libpq does without a root certificate), `verify-ca` checks the chain but not the
 * name, `verify-full` both. Pure but for reading `ca`.
 */
export async function sslOption(c: PgConnection): Promise<false | ConnectionOptions> {
  const mode = c.sslmode ?? "disable";
  if (mode === "disable") return false;
  if (mode === "require") return { rejectUnauthorized: false };
  const ca = c.ca === undefined ? undefined : await readCa(c.ca);
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    ...(mode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
  };
}

async function readCa(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new UserError(`postgres.external.ca: cannot read ${file}: ${(err as Error).message}`, { key: "postgres.external.ca" });
  }
}

/**
 * Runs `body` on a client logged in with the configured user and password, on the maintenance
 * database (`postgres`, or an external server's `database`) unless `database` names another.
 */
export async function withClient<T>(
  ctx: { host: string; settings: { port: number; user: string; password: string }; live?: PgConnection | undefined },
  body: (c: pg.Client) => Promise<T>,
  database?: string,
): Promise<T> {
  const { port: p, user, password } = ctx.settings;
  // Loaded on first use: commands that never talk to PostgreSQL do not pay for it.
  const {
    default: { Client },
  } = await import("pg");
  const client = new Client({
    host: ctx.host,
    port: p,
    user,
    password,
    database: database ?? ctx.live?.database ?? "postgres",
    ssl: await sslOption(ctx.live ?? {}),
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  // An error after connect (server restart) must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
