/**
 * Moving a local install to a shared PostgreSQL through the built CLI: `snapshot create` on a
 * local stack, then `snapshot restore` with a config whose PostgreSQL is external (a real server
 * this test starts, TLS required, its password read from the environment). Only PostgreSQL runs
 * locally; the library-level cases are test/integration/snapshot-external.test.ts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli, resultLine } from "../support/cli.js";
import { asAdmin, makeCerts, removeContainer, startPostgres } from "../support/external-servers.js";
import { cleanup, docker, testConfig } from "../support/stack.js";

const BASE = 31400;
const PG_PORT = BASE + 10;
const SERVER = "dlt-xsnap-cli-srv-postgres";
const PW = { admin: "xsc-admin-1", owner: "xsc-owner-2", limited: "xsc-limited-3" };
const only = { registry: { enabled: false }, redis: { enabled: false }, minio: { enabled: false }, qdrant: { enabled: false } };
const local = testConfig("xsnap-cli", BASE, only);

describe.skipIf(!inject("engine"))("dify-local snapshot restore into an external PostgreSQL, through the CLI", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let certs: Awaited<ReturnType<typeof makeCerts>>;
  const cli = (args: string[]) => runCli(args, dir, env);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-e2e-xsnap-"));
    env = { DIFY_LOCAL_DATA_DIR: join(dir, "data"), DIFY_LOCAL_CONFIG_DIR: join(dir, "config"), XSNAP_PG_PASSWORD: PW.owner };
    await cleanup(local);
    certs = await makeCerts();
    await startPostgres(SERVER, PG_PORT, certs.dir, PW);
    const { port: _p, user: _u, password: _pw, ...section } = local.postgres as Record<string, unknown>;
    const moved = {
      ...local,
      postgres: {
        ...section,
        external: { host: "127.0.0.1", port: PG_PORT, user: "owner", password: "${XSNAP_PG_PASSWORD}", sslmode: "require" },
      },
    };
    await writeFile(join(dir, "dify-local.yaml"), stringify(local));
    await writeFile(join(dir, "moved.yaml"), stringify(moved));
    const run = await cli(["up"]);
    expect(run.code, run.stderr).toBe(0);
    const client = new pg.Client({ host: "127.0.0.1", port: BASE + 1, user: "postgres", password: "devpassword", database: "dify" });
    await client.connect();
    await client.query("CREATE TABLE moved (n int); INSERT INTO moved VALUES (7)");
    await client.end();
    const created = await cli(["snapshot", "create", "local"]);
    expect(created.code, created.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await cleanup(local);
    await removeContainer(SERVER);
    await certs?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("without --no-backup: exit 2 naming it, nothing changed; with it: the table is on the external server, no helper left", async () => {
    const refused = await cli(["snapshot", "restore", "local", "--yes", "--config", "moved.yaml"]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/pre-restore snapshot cannot cover/);
    expect(refused.stderr).toContain("--no-backup");
    expect(await asAdmin(PG_PORT, PW.admin, (c) => c.query("SELECT 1 FROM pg_database WHERE datname = 'dify'"))).toHaveProperty(
      "rowCount",
      0,
    );

    const restored = await cli(["snapshot", "restore", "local", "--yes", "--no-backup", "--config", "moved.yaml", "--json"]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const result = resultLine(restored.stdout);
    expect(result.restored).toEqual(
      expect.arrayContaining([
        "created database dify",
        `restored database dify at 127.0.0.1:${PG_PORT} (its objects replaced; nothing else dropped)`,
      ]),
    );
    expect(result.replaces).toEqual([
      expect.stringContaining(`in databases dify, plugin_daemon, enterprise, audit at 127.0.0.1:${PG_PORT} (external)`),
    ]);
    // The password came from the environment and is masked in every output.
    expect(restored.stdout + restored.stderr).not.toContain(PW.owner);
    const rows = await asAdmin(PG_PORT, PW.admin, (c) => c.query<{ n: number }>("SELECT n FROM moved"), "dify");
    expect(rows.rows).toEqual([{ n: 7 }]);
    const helpers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: ["dify-local.helper=pg-restore"] }) });
    expect(helpers).toEqual([]);
  }, 120_000);
});
