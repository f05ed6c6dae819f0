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
