/**
 * An external PostgreSQL through the built CLI (issue 12): a real server with TLS required,
 * started by the test outside dify-local; its password comes from the environment (`${NAME}` in
 * the file). `up` creates no container and the databases there, `status` shows it as external,
 * `values` renders its facts, a wrong password exits 1 naming host:port, and `down --purge --yes`
 * leaves it alone and says so. No output carries the password.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../support/cli.js";
import { asAdmin, makeCerts, removeContainer, startPostgres } from "../support/external-servers.js";
import { exists } from "../support/stack.js";

const BASE = 25500;
const PG_PORT = BASE + 10;
const SERVER = "dlt-ext-cli-srv-postgres";
const PW = { admin: "ext-cli-admin-pw", owner: "ext-cli-owner-pw-7c1d", limited: "ext-cli-limited-pw" };

const CONFIG = [
  "registry: { enabled: false }",
  "minio: { enabled: false }",
  "redis: { enabled: false }",
  "qdrant: { enabled: false }",
  "cluster: { enabled: false }",
  "postgres:",
  "  container: dlt-ext-cli-postgres",
  "  volume: dlt-ext-cli-postgres-data",
  "  external:",
  "    host: 127.0.0.1",
  `    port: ${PG_PORT}`,
  "    user: owner",
  "    password: ${DLT_EXT_CLI_PG_PASSWORD}",
  "    sslmode: require",
  "",
].join("\n");

describe.skipIf(!inject("engine"))("external PostgreSQL through the CLI", () => {
  let dir: string;
  let certs: Awaited<ReturnType<typeof makeCerts>>;
  const env = (): NodeJS.ProcessEnv => ({ DIFY_LOCAL_CONFIG_DIR: join(dir, "config"), DLT_EXT_CLI_PG_PASSWORD: PW.owner });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-ext-cli-"));
    await writeFile(join(dir, "dify-local.yaml"), CONFIG);
    certs = await makeCerts();
    await startPostgres(SERVER, PG_PORT, certs.dir, PW);
  }, 120_000);

  afterAll(async () => {
    await removeContainer(SERVER);
    await certs?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("up, status, values and down --purge treat it as external; a wrong password exits 1", async () => {
    const upRun = await runCli(["up"], dir, env());
    expect(upRun.code, upRun.stderr).toBe(0);
    expect(upRun.stderr).toMatch(new RegExp(`postgres external.*127\\.0\\.0\\.1:${PG_PORT} \\(TLS \\(sslmode require\\)\\) answered`));
    expect(await exists("container", "dlt-ext-cli-postgres")).toBe(false);
    const dbs = await asAdmin(PG_PORT, PW.admin, (c) => c.query<{ datname: string }>("SELECT datname FROM pg_database"));
    expect(dbs.rows.map((r) => r.datname)).toEqual(expect.arrayContaining(["dify", "plugin_daemon", "enterprise", "audit"]));

    const statusRun = await runCli(["status"], dir, env());
    expect(statusRun.code).toBe(0);
    expect(statusRun.stdout).toMatch(
      /postgres\s+external\s+external, TLS \(sslmode require\)\s+postgresql:\/\/owner@127\.0\.0\.1:25510\s+healthy/,
    );

    const valuesRun = await runCli(["values", "--chart", "3.9"], dir, env());
    expect(valuesRun.code).toBe(0);
    const rendered = parse(valuesRun.stdout) as { externalDatabase: Record<string, unknown> };
    expect(rendered.externalDatabase).toMatchObject({ host: "127.0.0.1", port: PG_PORT, user: "owner", password: PW.owner });

    const wrong = await runCli(["up"], dir, { ...env(), DLT_EXT_CLI_PG_PASSWORD: "wrong-cli-password" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${PG_PORT} \\(external, TLS \\(sslmode require\\)\\): authentication failed`),
    );

    await asAdmin(PG_PORT, PW.admin, (c) => c.query("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('cli')"), "dify");
    const downRun = await runCli(["down", "--purge", "--yes"], dir, env());
    expect(downRun.code).toBe(0);
    expect(downRun.stdout).toContain(`left postgres 127.0.0.1:${PG_PORT} alone: external, dify-local never changes it`);
    const kept = await asAdmin(PG_PORT, PW.admin, (c) => c.query<{ v: string }>("SELECT v FROM kept"), "dify");
    expect(kept.rows).toEqual([{ v: "cli" }]);

    for (const run of [upRun, statusRun, wrong, downRun]) expect(run.stdout + run.stderr).not.toContain(PW.owner);
  });
});
