import type { Readable } from "node:stream";
import { OperationError } from "../../errors.js";
import type { ServiceContext } from "../service.js";
import { execEnded, runningContainer, type SnapshotCapability } from "../snapshot.js";
import { withClient } from "./client.js";
import type { PostgresLive, PostgresSettings } from "./index.js";

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
  replaces: (c) => `databases ${c.databases.join(", ")} in ${c.container}`,
  async restore(ctx, input) {
    const c = ctx.settings;
    const container = runningContainer("PostgreSQL", c.container, ctx.container);
    const { args, env } = login(c);
    const done: string[] = [];
    for (const file of input.names) {
      if (!file.endsWith(DUMP)) throw new OperationError(`unexpected PostgreSQL artefact ${file}`);
      const db = file.slice(0, -DUMP.length);
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
