import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { OperationError } from "../../errors.js";
import type { HelperSpec } from "../../runtime/index.js";
import type { ServiceContext } from "../service.js";
import { execEnded, runningContainer, type SnapshotCapability, type SnapshotReader } from "../snapshot.js";
import { withClient } from "./client.js";
import { missingDatabases, type PostgresLive, type PostgresSettings } from "./index.js";

type Ctx = ServiceContext<PostgresSettings, PostgresLive>;

const DUMP = ".dump";

/**
 * The client tools log in over TCP inside the container with the configured password, so the
 * image's local authentication rules (trust, peer) do not matter.
 */
function login(c: PostgresSettings): { args: string[]; env: Record<string, string> } {
  return { args: ["-h", "127.0.0.1", "-p", "5432", "-U", c.user], env: { PGPASSWORD: c.password } };
}

/**
 * PostgreSQL's share of a snapshot: a logical dump of each configured database (`pg_dump -Fc`,
 * run inside the container, streamed out), restored with `pg_restore --clean --if-exists` into a
 * freshly created database of the same name. Logical, so it also restores into a managed server.
 */
export const postgresSnapshot: SnapshotCapability<Ctx, PostgresSettings> = {
  async save(ctx, out) {
    const c = ctx.settings;
    const container = runningContainer("PostgreSQL", c.container, ctx.container);
    const { args, env } = login(c);
    for (const db of c.databases) {
      const run = await ctx.runtime.execStream(container.id, ["pg_dump", ...args, "-Fc", "-d", db], { env });
      await out.write(`${db}${DUMP}`, run.stdout);
      await execEnded(`pg_dump of database ${db}`, run.done);
    }
  },
  replaces: (c) => (c.external ? externalReplaces(c, c.external) : `databases ${c.databases.join(", ")} in ${c.container}`),
  async restore(ctx, input) {
    if (ctx.external) return restoreExternal(ctx, input);
    const c = ctx.settings;
    const container = runningContainer("PostgreSQL", c.container, ctx.container);
    const { args, env } = login(c);
    const done: string[] = [];
    for (const { file, db } of dumpsOf(input)) {
      await withClient(ctx, async (cl) => {
        // WITH (FORCE) ends the sessions still connected (PostgreSQL 13+), so the drop cannot hang on them.
        await cl.query(`DROP DATABASE IF EXISTS ${cl.escapeIdentifier(db)} WITH (FORCE)`);
        await cl.query(`CREATE DATABASE ${cl.escapeIdentifier(db)}`);
      });
      const run = await ctx.runtime.execStream(
        container.id,
        ["pg_restore", ...args, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "-d", db],
        { env, stdin: input.open(file) },
      );
      run.stdout.resume();
      await execEnded(`pg_restore of database ${db}`, run.done);
      done.push(`restored database ${db}`);
    }
    return done;
  },
};

/** The snapshot's dumps, each with its database. */
function dumpsOf(input: SnapshotReader): Array<{ file: string; db: string }> {
  return input.names.map((file) => {
    if (!file.endsWith(DUMP)) throw new OperationError(`unexpected PostgreSQL artefact ${file}`);
    return { file, db: file.slice(0, -DUMP.length) };
  });
}

/** What a restore into an external server replaces, for the confirmation: objects, not databases. */
function externalReplaces(c: PostgresSettings, ext: NonNullable<PostgresSettings["external"]>): string {
  return (
    `in databases ${c.databases.join(", ")} at ${ext.host}:${ext.port} (external): every table, view, sequence and function the snapshot has ` +
    "(dropped if there and restored: pg_restore --clean --if-exists --no-owner); other objects in them, and every other database, are kept; no database is dropped"
  );
}

/** pg_restore's flags into an external server (see `restoreExternal`). */
export const EXTERNAL_RESTORE_FLAGS = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error"] as const;

/** Where the CA file is mounted in the helper container. */
const HELPER_CA = "/dify-local/ca.pem";

/** True for a host that means "this machine": loopback addresses and localhost. Pure. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * The helper container that runs `pg_restore` against an external server (pure): the configured
 * PostgreSQL image, libpq's own environment for the login (PGSSLMODE, PGSSLROOTCERT with the CA
 * file mounted read-only), reading the dump from stdin.
 */
export function restoreHelper(ctx: Pick<Ctx, "host" | "settings" | "live">, db: string): HelperSpec {
  const { settings: c, live } = ctx;
  return {
    name: `dify-local-pg-restore-${randomBytes(4).toString("hex")}`,
    image: c.image,
    cmd: ["pg_restore", ...EXTERNAL_RESTORE_FLAGS, "-d", db],
    env: {
      PGHOST: ctx.host,
      PGPORT: String(c.port),
      PGUSER: c.user,
      PGPASSWORD: c.password,
      PGSSLMODE: live.sslmode ?? "disable",
      ...(live.ca ? { PGSSLROOTCERT: HELPER_CA } : {}),
    },
    purpose: "pg-restore",
    // In a container, 127.0.0.1 is the container itself: a server this machine reaches on its
    // loopback is reached from the engine's own network stack. Any other host is reached from the
    // engine's default network, as from this machine (NAT), without sharing the host's stack.
    network: isLoopback(ctx.host) ? "host" : "bridge",
    readOnlyFiles: live.ca ? [{ source: live.ca, target: HELPER_CA }] : [],
  };
}

/**
 * A restore into an external server (a managed PostgreSQL): a shared server, so no database is
 * dropped. The databases that are missing are created (as `up` does); each dump goes in with
 * `pg_restore --clean --if-exists --no-owner --no-privileges`, which replaces the objects the
 * snapshot has and keeps the rest. The local roles do not exist there: objects belong to the
 * configured user, and the local grants are left out. pg_restore runs in a short-lived container
 * of the configured image (there is no local PostgreSQL container to run it in), the dump streamed in.
 */
async function restoreExternal(ctx: Ctx, input: SnapshotReader): Promise<string[]> {
  const dumps = dumpsOf(input);
  const created = await createMissing(
    ctx,
    dumps.map((d) => d.db),
  );
  const image = ctx.settings.image;
  if (!(await ctx.runtime.imageId(image))) await ctx.runtime.pull(image, () => undefined);
  const done = created.map((db) => `created database ${db}`);
  for (const { file, db } of dumps) {
    const run = await ctx.runtime.runOnce(restoreHelper(ctx, db), input.open(file));
    run.stdout.resume();
    await execEnded(`pg_restore of database ${db} into ${ctx.external?.address ?? ctx.host}`, run.done);
    done.push(`restored database ${db} at ${ctx.external?.address ?? ctx.host} (its objects replaced; nothing else dropped)`);
  }
  return done;
}

/** Creates the databases among `dbs` the server does not have; returns them. Never drops one. */
async function createMissing(ctx: Ctx, dbs: readonly string[]): Promise<string[]> {
  return withClient(ctx, async (cl) => {
    const missing = await missingDatabases(cl, dbs);
    for (const db of missing) await cl.query(`CREATE DATABASE ${cl.escapeIdentifier(db)}`);
    return missing;
  });
}

/** The most of a table's text `tableFromDump` keeps: it is for small tables (Dify's tenants). */
const MAX_TABLE_TEXT = 16 * 1024 * 1024;

/**
 * The rows of one table of a custom-format dump, without restoring it: `pg_restore --data-only
 * --table` run in the (running) container, reading the dump from stdin, its COPY text parsed.
 * Values are text as COPY writes them, null for NULL. For small tables only.
 */
export async function tableFromDump(
  ctx: Pick<Ctx, "settings" | "runtime" | "container">,
  dump: Readable,
  table: string,
): Promise<Array<Record<string, string | null>>> {
  const container = runningContainer("PostgreSQL", ctx.settings.container, ctx.container);
  const run = await ctx.runtime.execStream(container.id, ["pg_restore", "--data-only", "--table", table, "-f", "-"], { stdin: dump });
  let text = "";
  for await (const chunk of run.stdout) {
    if (text.length < MAX_TABLE_TEXT) text += (chunk as Buffer).toString("utf8");
  }
  await execEnded(`pg_restore of table ${table}`, run.done);
  return parseCopy(text, table);
}

/** The rows of the COPY block of `table` in pg_restore's SQL output (pure). */
export function parseCopy(sql: string, table: string): Array<Record<string, string | null>> {
  const lines = sql.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^COPY (\\S+\\.)?"?${table}"? \\((.*)\\) FROM stdin;$`).test(l));
  if (start < 0) return [];
  const columns = (/\((.*)\)/.exec(lines[start] ?? "")?.[1] ?? "").split(", ").map((c) => c.replace(/^"|"$/g, ""));
  const rows: Array<Record<string, string | null>> = [];
  for (const line of lines.slice(start + 1)) {
    if (line === "\\.") break;
    const values = line.split("\t");
    rows.push(Object.fromEntries(columns.map((c, i) => [c, unescapeCopy(values[i] ?? "\\N")])));
  }
  return rows;
}

/** One value of COPY's text format: \N is NULL; backslash escapes for newline, tab, backslash and the rest. */
function unescapeCopy(v: string): string | null {
  if (v === "\\N") return null;
  const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", "\\": "\\" };
  return v.replace(/\\(.)/g, (_m, c: string) => escapes[c] ?? c);
}
