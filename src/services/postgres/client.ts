import type pg from "pg";
import { PROBE_TIMEOUT_MS } from "../service.js";

/**
 * Runs `body` on a client logged in with the configured user and password, on the `postgres`
 * maintenance database unless `database` names another.
 */
export async function withClient<T>(
  ctx: { host: string; settings: { port: number; user: string; password: string } },
  body: (c: pg.Client) => Promise<T>,
  database = "postgres",
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
    database,
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
