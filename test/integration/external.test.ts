/**
 * External services (issue 12) on a real engine: PostgreSQL and Redis are real servers this test
 * starts outside dify-local (own names, ports, passwords; TLS on with a self-signed certificate
 * made here, PostgreSQL's pg_hba requiring it), Qdrant is the fixtures' double. dify-local makes no
 * container, volume or port for them, checks them with real round trips, creates the databases,
 * renders values from their facts, and `down --purge` leaves them alone. MinIO stays a local
 * container beside them (mixed modes).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { doctor, down, info, status, up, values, verify, RecordingSink, type ConfigInput } from "../../src/index.js";
import { EnvironmentError, OperationError } from "../../src/errors.js";
import {
  asAdmin,
  makeCerts,
  removeContainer,
  startPostgres,
  startQdrant,
  startRedisCluster,
  startRedisTls,
} from "../support/external-servers.js";
import { cleanup, exists, testConfig } from "../support/stack.js";

const BASE = 25000;
const PG_PORT = BASE + 10;
const REDIS_PORT = BASE + 11;
const QDRANT_PORT = BASE + 12;
const SERVERS = ["dlt-ext-srv-postgres", "dlt-ext-srv-redis", "dlt-ext-srv-qdrant"];
const CLUSTER_REDIS = "dlt-ext-srv-redis-cluster";
const PW = {
  admin: "ext-admin-pw-1",
  owner: "ext-owner-pw-2",
  limited: "ext-limited-pw-3",
  redis: "ext-redis-pw-4",
  qdrant: "ext-qdrant-key-5",
};

/** The container keys of testConfig that describe a connection (refused beside `external`) are left out. */
function withExternal(base: ConfigInput, external: Record<string, unknown>): ConfigInput {
  const out: Record<string, unknown> = { ...base };
  for (const [name, ext] of Object.entries(external)) {
    const section = { ...(base[name] as Record<string, unknown>) };
    for (const key of ["port", "grpcPort", "user", "password", "apiKey"]) delete section[key];
    out[name] = { ...section, external: ext };
  }
  return out;
}

const pgExternal = (over: Record<string, unknown> = {}) => ({
  host: "127.0.0.1",
  port: PG_PORT,
  user: "owner",
  password: PW.owner,
  sslmode: "require",
  ...over,
});
const redisExternal = { host: "127.0.0.1", port: REDIS_PORT, password: PW.redis, tls: true };
const qdrantExternal = { url: `http://127.0.0.1:${QDRANT_PORT}`, apiKey: PW.qdrant };

const local = testConfig("ext", BASE, { registry: { enabled: false } });

/** Only an external PostgreSQL (and the local MinIO). */
function pgOnly(external: Record<string, unknown>, section: Record<string, unknown> = {}): ConfigInput {
  const config = withExternal(local, { postgres: external }) as Record<string, unknown>;
  return {
    ...config,
    postgres: { ...(config.postgres as object), ...section },
    redis: { ...(local.redis as object), enabled: false },
    qdrant: { ...(local.qdrant as object), enabled: false },
  };
}
let certs: Awaited<ReturnType<typeof makeCerts>>;
/** Local MinIO, external PostgreSQL, Redis (TLS, checked against the test's CA) and Qdrant. */
let mixed: ConfigInput;

async function databases(): Promise<string[]> {
  const rows = await asAdmin(PG_PORT, PW.admin, (c) => c.query<{ datname: string }>("SELECT datname FROM pg_database"));
  return rows.rows.map((r) => r.datname);
}

describe.skipIf(!inject("engine"))("external PostgreSQL, Redis and Qdrant", () => {
  let dir: string;
  const savedConfigDir = process.env.DIFY_LOCAL_CONFIG_DIR;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "dlt-ext-"));
    process.env.DIFY_LOCAL_CONFIG_DIR = join(dir, "config");
    await cleanup(local);
    certs = await makeCerts();
    mixed = withExternal(local, {
      postgres: pgExternal(),
      redis: { ...redisExternal, ca: certs.ca },
      qdrant: qdrantExternal,
    });
    await Promise.all([
      startPostgres(SERVERS[0] ?? "", PG_PORT, certs.dir, PW),
      startRedisTls(SERVERS[1] ?? "", REDIS_PORT, certs.dir, PW.redis),
      startQdrant(SERVERS[2] ?? "", QDRANT_PORT, PW.qdrant),
    ]);
  }, 120_000);

  afterAll(async () => {
    await cleanup(local);
    await Promise.all([...SERVERS, CLUSTER_REDIS].map(removeContainer));
    await certs?.remove();
    await rm(dir, { recursive: true, force: true });
    if (savedConfigDir === undefined) delete process.env.DIFY_LOCAL_CONFIG_DIR;
    else process.env.DIFY_LOCAL_CONFIG_DIR = savedConfigDir;
  });

  it("up makes no container, volume or port for them, creates the databases there, and checks them (mixed with a local MinIO)", async () => {
    const dry = await up({ config: mixed, dryRun: true });
    expect(dry.plan.items.map((i) => i.component)).toEqual(["minio"]);
    expect(dry.external).toEqual([
      { service: "postgres", address: `127.0.0.1:${PG_PORT}`, tls: "TLS (sslmode require)" },
      { service: "redis", address: `127.0.0.1:${REDIS_PORT}`, tls: "TLS" },
      { service: "qdrant", address: `127.0.0.1:${QDRANT_PORT}`, tls: "no TLS (http)" },
    ]);
    const sink = new RecordingSink();
    const result = await up({ config: mixed, sink });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    for (const name of ["postgres", "redis", "qdrant"]) {
      expect(await exists("container", `dlt-ext-${name}`)).toBe(false);
      expect(await exists("volume", `dlt-ext-${name}-data`)).toBe(false);
    }
    expect(await exists("container", "dlt-ext-minio")).toBe(true);
    expect(result.plan.items.map((i) => i.component)).toEqual(["minio"]);
    expect(await databases()).toEqual(expect.arrayContaining(["dify", "plugin_daemon", "enterprise", "audit"]));
    expect(result.changes).toContain(`postgres at 127.0.0.1:${PG_PORT}: created database dify`);
    const ids = result.checks.map((c) => c.id);
    expect(ids).toEqual(expect.arrayContaining(["postgres.auth", "postgres.databases", "redis.auth", "redis.cluster-mode", "qdrant.auth"]));
    expect(ids).not.toContain("postgres.container");
    expect(
      sink.events.some((e) => e.step === "postgres external" && e.status === "ok" && /TLS \(sslmode require\)/.test(e.detail ?? "")),
    ).toBe(true);
    // A rerun finds everything there and changes nothing.
    const again = await up({ config: mixed });
    expect(again.changes).toEqual([]);
  });

  it("status, info and verify show them as external, with their checks", async () => {
    const rows = (await status({ config: mixed })).services;
    const pgRow = rows.find((r) => r.service === "postgres");
    expect(pgRow).toMatchObject({ owner: "external", container: "external", health: "healthy", state: "external, TLS (sslmode require)" });
    expect(pgRow?.endpoint).toBe(`postgresql://owner@127.0.0.1:${PG_PORT}`);
    expect(rows.find((r) => r.service === "redis")).toMatchObject({
      owner: "external",
      health: "healthy",
      endpoint: `rediss://127.0.0.1:${REDIS_PORT}`,
    });
    const shown = (await info({ config: mixed })).services.find((s) => s.service === "redis");
    expect(shown?.external).toEqual({ address: `127.0.0.1:${REDIS_PORT}`, tls: "TLS" });
    expect(shown?.credentials.find((c) => c.label === "password")?.value).not.toBe(PW.redis);
    const checks = await verify({ config: mixed });
    expect(checks.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("values for chart 3.7 and 3.9 and the .env carry the external facts", async () => {
    const v39 = parse((await values({ config: mixed, chart: "3.9" })).text ?? "") as Record<string, Record<string, unknown>>;
    expect(v39.externalDatabase).toMatchObject({ host: "127.0.0.1", port: PG_PORT, user: "owner", password: PW.owner });
    expect(v39.externalDatabase?.dialectOptions).toMatchObject({ postgres: { sslMode: "require" } });
    expect(v39.externalRedis).toMatchObject({ host: "127.0.0.1", port: REDIS_PORT, password: PW.redis, useSSL: true });
    expect(v39.vectorDB).toMatchObject({ externalQdrant: { endpoint: `http://127.0.0.1:${QDRANT_PORT}`, apiKey: PW.qdrant } });
    const v37 = parse((await values({ config: mixed, chart: "3.7" })).text ?? "") as Record<string, Record<string, unknown>>;
    expect(v37.externalPostgres).toMatchObject({ address: "127.0.0.1", port: PG_PORT });
    expect(v37.externalPostgres?.credentials).toMatchObject({ dify: { username: "owner", password: PW.owner, sslmode: "require" } });
    expect(v37.externalRedis).toMatchObject({ useSSL: true, port: REDIS_PORT });
    const env = await values({ config: mixed, format: "env" });
    expect(env.sources).toMatchObject({ postgres: "external", redis: "external", qdrant: "external", minio: "container" });
    expect(env.warnings).toEqual([]);
    expect(env.text).toContain(`DB_HOST=127.0.0.1\nDB_PORT=${PG_PORT}`);
    expect(env.text).toContain("REDIS_USE_SSL=true");
  });

  it("a wrong password stops up with the service, host:port and the server's answer (exit 1)", async () => {
    const config = pgOnly(pgExternal({ password: "not-the-password" }));
    const err = await up({ config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(
      new RegExp(
        `PostgreSQL at 127\\.0\\.0\\.1:${PG_PORT} \\(external, TLS \\(sslmode require\\)\\): authentication failed: .*password authentication failed for user "owner"`,
      ),
    );
    expect((err as Error).message).not.toContain("not-the-password");
  });

  it("sslmode disable against a server that requires TLS: up says so, doctor gives the fix", async () => {
    const config = pgOnly(pgExternal({ sslmode: "disable" }));
    const err = await up({ config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as Error).message).toMatch(/the server requires TLS: .*no encryption/);
    const diagnosis = await doctor({ config });
    const finding = diagnosis.findings.find((f) => f.id === "postgres.external");
    expect(finding).toMatchObject({ severity: "error" });
    expect(finding?.fix).toMatch(/sslmode: require/);
  });

  it("names the class of a failure: TLS required by Redis, DNS, unreachable", async () => {
    const only = (name: string, ext: Record<string, unknown>): ConfigInput => {
      const config = withExternal(local, { [name]: ext }) as Record<string, unknown>;
      for (const other of ["postgres", "redis", "qdrant"])
        if (other !== name) config[other] = { ...(local[other] as object), enabled: false };
      return config;
    };
    const failure = async (config: ConfigInput): Promise<string> => {
      const err = await up({ config }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperationError);
      return (err as Error).message;
    };
    expect(await failure(only("redis", { ...redisExternal, tls: false }))).toMatch(
      new RegExp(`^Redis at 127\\.0\\.0\\.1:${REDIS_PORT} \\(external, no TLS\\): TLS handshake failed: .*does it require TLS`),
    );
    expect(await failure(only("postgres", pgExternal({ host: "no-such-host.invalid" })))).toMatch(/the host name does not resolve \(DNS\)/);
    expect(await failure(only("qdrant", { url: `http://127.0.0.1:${BASE + 13}` }))).toMatch(
      new RegExp(`Qdrant at 127\\.0\\.0\\.1:${BASE + 13} \\(external, no TLS \\(http\\)\\): unreachable`),
    );
    expect(await failure(only("qdrant", { ...qdrantExternal, apiKey: "wrong-key" }))).toMatch(/authentication failed: HTTP 401/);
  });

  it("a Redis in cluster mode fails its check: Dify does not support Redis Cluster", async () => {
    await startRedisCluster(CLUSTER_REDIS, BASE + 14, PW.redis);
    const config = withExternal(local, { redis: { host: "127.0.0.1", port: BASE + 14, password: PW.redis } }) as Record<string, unknown>;
    for (const other of ["postgres", "qdrant", "minio"]) config[other] = { ...(local[other] as object), enabled: false };
    const result = await verify({ config: config });
    expect(result.ok).toBe(false);
    expect(result.checks.find((c) => c.id === "redis.cluster-mode")).toMatchObject({
      ok: false,
      detail: "INFO cluster says cluster_enabled:1",
    });
    expect(result.checks.find((c) => c.id === "redis.auth")?.ok).toBe(true);
    await removeContainer(CLUSTER_REDIS);
  });

  it("a user who may not create databases: up stops (exit 3) with the exact SQL, creating nothing", async () => {
    const config = pgOnly(pgExternal({ user: "limited", password: PW.limited }), { databases: ["ext_limited_a", "ext_limited_b"] });
    const err = await up({ config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(3);
    expect((err as EnvironmentError).hint).toContain(
      'CREATE DATABASE "ext_limited_a" OWNER "limited";\nCREATE DATABASE "ext_limited_b" OWNER "limited";',
    );
    expect(await databases()).not.toContain("ext_limited_a");
  });

  it("reads ${NAME} in external keys from the environment, with sslmode verify-full against the test's CA", async () => {
    const file = join(dir, "dify-local.yaml");
    await writeFile(
      file,
      [
        "registry: { enabled: false }",
        "minio: { enabled: false }",
        "redis: { enabled: false }",
        "qdrant: { enabled: false }",
        "cluster: { enabled: false }",
        "postgres:",
        "  container: dlt-ext-postgres",
        "  external:",
        "    host: 127.0.0.1",
        `    port: ${PG_PORT}`,
        "    user: ${DLT_EXT_PG_USER}",
        "    password: ${DLT_EXT_PG_PASSWORD}",
        "    sslmode: verify-full",
        `    ca: ${certs.ca}`,
        "",
      ].join("\n"),
    );
    const env = { ...process.env, DLT_EXT_PG_USER: "owner", DLT_EXT_PG_PASSWORD: PW.owner };
    const result = await up({ configFile: file, env });
    expect(result.ok).toBe(true);
    expect(result.checks.find((c) => c.id === "postgres.auth")?.what).toMatch(/TLS \(sslmode verify-full\)/);
    await expect(up({ configFile: file, env: { ...env, DLT_EXT_PG_PASSWORD: undefined } })).rejects.toThrow(
      /postgres\.external\.password.*DLT_EXT_PG_PASSWORD/,
    );
  });

  it("down --purge leaves the external services and their data alone, and says so", async () => {
    await asAdmin(
      PG_PORT,
      PW.admin,
      (c) => c.query("CREATE TABLE IF NOT EXISTS kept (v text); INSERT INTO kept VALUES ('before down')"),
      "dify",
    );
    const sink = new RecordingSink();
    const result = await down({ config: mixed, purge: true, sink });
    expect(result.externalLeftAlone).toEqual([
      `postgres 127.0.0.1:${PG_PORT}`,
      `redis 127.0.0.1:${REDIS_PORT}`,
      `qdrant 127.0.0.1:${QDRANT_PORT}`,
    ]);
    expect(result.removed).toEqual(["dlt-ext-minio"]);
    expect(result.volumesRemoved).toEqual(["dlt-ext-minio-data"]);
    expect(sink.events.filter((e) => / external$/.test(e.step) && e.status === "skip" && /left alone/.test(e.detail ?? ""))).toHaveLength(
      3,
    );
    const rows = await asAdmin(PG_PORT, PW.admin, (c) => c.query<{ v: string }>("SELECT v FROM kept"), "dify");
    expect(rows.rows).toEqual([{ v: "before down" }]);
    for (const name of SERVERS) expect(await exists("container", name)).toBe(true);
  });
});
